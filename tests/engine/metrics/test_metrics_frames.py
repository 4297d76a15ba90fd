"""SSIM and PSNR per frame, against independent computations (scikit-image, closed forms)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from engine.errors import InputError
from engine.metrics.psnr import PSNR_CAP_DB, psnr_float, psnr_int
from engine.metrics.ssim import ssim


def _pair(seed: int = 0, shape=(40, 56, 3), noise: int = 30):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    a[5:20, 10:40] = 200  # some structure, not only noise
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("seed", [0, 1])
def test_ssim_matches_scikit_image_for_each_variant(seed):
    a, b = _pair(seed)
    gray_a, gray_b = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b))
    gaussian = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    assert ssim(a, b) == pytest.approx(structural_similarity(gray_a, gray_b, **gaussian), abs=1e-9)
    # The Disco toolkit: scikit-image defaults (7x7 uniform, sample covariance) on OpenCV gray.
    assert ssim(a, b, window="disco") == pytest.approx(structural_similarity(gray_a, gray_b, data_range=255), abs=1e-9)
    expected_rgb = structural_similarity(a, b, channel_axis=2, **gaussian)
    assert ssim(a, b, channels="rgb") == pytest.approx(expected_rgb, abs=1e-9)


def test_ssim_is_one_for_identical_frames_and_lower_for_noisy_ones():
    a, b = _pair()
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, window="disco") == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, b) < 0.95


def test_ssim_rejects_bad_input():
    a, _ = _pair()
    with pytest.raises(InputError, match="window"):
        ssim(a, a, window="box")
    with pytest.raises(InputError, match="size"):
        ssim(a, a[:-1])
    tiny = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InputError, match="smaller than the 11-pixel"):
        ssim(tiny, tiny)


def test_psnr_of_identical_frames_is_the_cap_or_infinity():
    a, _ = _pair()
    assert psnr_float(a, a) == PSNR_CAP_DB == 100.0
    assert psnr_int(a, a) == PSNR_CAP_DB
    assert psnr_float(a, a, cap_db=None) == math.inf


@pytest.mark.parametrize("offset", [1, 10, 40])
def test_constant_brightness_offset_gives_the_closed_form_psnr(offset):
    real = np.random.default_rng(3).integers(0, 200, (32, 32, 3)).astype(np.uint8)
    brighter = (real + offset).astype(np.uint8)  # no clipping: values stay <= 240
    assert psnr_float(real, brighter) == pytest.approx(20 * math.log10(255 / offset), abs=1e-12)


def test_psnr_int_equals_psnr_float_exactly_when_no_uint8_square_overflows():
    real = np.full((16, 16, 3), 120, np.uint8)
    for difference in range(-40, 41):
        generated = (real.astype(int) - difference).astype(np.uint8)  # real - generated == difference
        as_float, as_int = psnr_float(real, generated), psnr_int(real, generated)
        if abs(difference) <= 15:
            assert as_int == as_float, difference
        else:
            assert as_int > as_float, difference
        wrapped_mse = (difference * difference) % 256  # what uint8 arithmetic leaves of d**2
        expected = PSNR_CAP_DB if wrapped_mse == 0 else min(PSNR_CAP_DB, 20 * math.log10(255 / math.sqrt(wrapped_mse)))
        assert as_int == pytest.approx(expected, abs=1e-12)


def test_psnr_variants_differ_from_a_single_overflowing_pixel():
    rng = np.random.default_rng(5)
    real = rng.integers(20, 230, (24, 24, 3)).astype(np.uint8)
    generated = (real.astype(int) + rng.integers(-15, 16, real.shape)).astype(np.uint8)
    assert psnr_int(real, generated) == psnr_float(real, generated)
    generated[7, 9, 1] = real[7, 9, 1] - 16  # one difference of 16: 256 wraps to 0
    assert psnr_int(real, generated) > psnr_float(real, generated)


def test_psnr_requires_uint8_frames_of_one_size():
    a, _ = _pair()
    with pytest.raises(InputError, match="8-bit"):
        psnr_float(a.astype(np.float32), a.astype(np.float32))
    with pytest.raises(InputError, match="size"):
        psnr_int(a, a[1:])
