"""TJE(Δ) (paper 4.4) and the official script's variant, on hand-computable sequences."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.errors import InputError
from engine.metrics.tje import TjeAccumulator, temporal_jitter_error


def _static(count: int, value: int = 100, shape=(8, 8, 3)) -> list[np.ndarray]:
    return [np.full(shape, value, np.uint8) for _ in range(count)]


@pytest.mark.parametrize("variant", ["paper", "official"])
def test_identical_sequences_give_zero_over_n_minus_delta_pairs(variant, make_frames):
    frames = make_frames(10)
    result = temporal_jitter_error(frames, [f.copy() for f in frames], delta=3, variant=variant)
    assert (result.value, result.pairs, result.delta, result.variant) == (0.0, 7, 3, variant)


@pytest.mark.parametrize("variant", ["paper", "official"])
def test_constant_brightness_offset_gives_zero(variant, make_frames):
    real = make_frames(9)
    brighter = [(f + 37).astype(np.uint8) for f in real]  # frames stay <= 237: no clipping
    assert temporal_jitter_error(real, brighter, delta=2, variant=variant).value == 0.0


def test_one_frame_jump_gives_the_hand_computed_value():
    real = _static(10)
    generated = _static(10)
    generated[5][:4, :4] = 110  # a 4x4 patch (all channels) jumps by 10 in frame 5 only
    per_pair = 10 * (4 * 4) / (8 * 8)  # mean |D_real - D_gen| of a pair that touches frame 5 = 2.5
    # Δ=2: pairs (3, 5) and (5, 7) touch frame 5, out of 10 - 2 = 8 pairs.
    assert temporal_jitter_error(real, generated, delta=2).value == pytest.approx(2 * per_pair / 8, abs=1e-12)
    # Δ=1: pairs (4, 5) and (5, 6), out of 9.
    assert temporal_jitter_error(real, generated, delta=1).value == pytest.approx(2 * per_pair / 9, abs=1e-12)


def test_variants_differ_on_a_sign_flip():
    real = [np.full((8, 8, 3), v, np.uint8) for v in (100, 110, 110)]  # real brightens by 10
    generated = [np.full((8, 8, 3), v, np.uint8) for v in (100, 90, 90)]  # generated darkens by 10
    # Pair (0, 1): |10 - (-10)| = 20 signed, ||10| - |-10|| = 0 official; pair (1, 2): 0.
    assert temporal_jitter_error(real, generated, 1, "paper").value == 10.0
    assert temporal_jitter_error(real, generated, 1, "official").value == 0.0


def test_random_videos_match_independent_formulas():
    rng = np.random.default_rng(7)
    real = rng.integers(0, 256, (9, 12, 16, 3)).astype(np.uint8)
    generated = rng.integers(0, 256, (9, 12, 16, 3)).astype(np.uint8)
    delta = 3
    # Paper: vectorised over the whole stack, in float64.
    r, g = real.astype(np.float64), generated.astype(np.float64)
    paper = np.abs((r[delta:] - r[:-delta]) - (g[delta:] - g[:-delta])).mean()
    # Official: the authors' tje_error.py arithmetic (cv2.absdiff, channel means averaged).
    terms = []
    for t in range(len(real) - delta):
        d = cv2.absdiff(cv2.absdiff(real[t + delta], real[t]), cv2.absdiff(generated[t + delta], generated[t]))
        m = cv2.mean(d)
        terms.append((m[0] + m[1] + m[2]) / 3.0)
    assert temporal_jitter_error(list(real), list(generated), delta).value == pytest.approx(paper, rel=1e-12)
    official = temporal_jitter_error(list(real), list(generated), delta, "official").value
    assert official == pytest.approx(np.mean(terms), rel=1e-12)
    assert official <= paper


def test_accumulator_reports_each_error_once_frame_t_plus_delta_arrives():
    accumulator = TjeAccumulator(delta=2)
    outputs = [accumulator.add(f, f) for f in _static(5)]
    assert outputs[:2] == [None, None] and outputs[2:] == [0.0, 0.0, 0.0]
    assert accumulator.result().pairs == 3


def test_too_short_sequences_have_no_value():
    result = temporal_jitter_error(_static(3), _static(3), delta=3)
    assert (result.value, result.pairs) == (None, 0)


@pytest.mark.parametrize("delta", [0, -1, 1.5, True])
def test_delta_below_one_or_not_an_integer_is_an_input_error(delta):
    with pytest.raises(InputError, match="delta"):
        temporal_jitter_error(_static(4), _static(4), delta=delta)


def test_unknown_variant_and_unequal_lengths_are_input_errors():
    with pytest.raises(InputError, match="variant"):
        TjeAccumulator(2, "signed")
    with pytest.raises(InputError, match="more frames"):
        temporal_jitter_error(_static(5), _static(4), delta=1)
    with pytest.raises(InputError, match="more frames"):
        temporal_jitter_error(_static(4), _static(5), delta=1)
