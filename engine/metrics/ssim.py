"""SSIM (Wang et al. 2004) between two frames, in two documented variants.

``window="gaussian"`` (default): the original definition — an 11x11 Gaussian window with
sigma 1.5, K1 = 0.01, K2 = 0.03, population (co)variances, averaged over the pixels whose
window lies inside the image. ``window="disco"``: what the Disco evaluation toolkit (the one
the TalkingPose paper says it used) computes via scikit-image's defaults — a 7x7 uniform
window with sample (co)variances. Both run on the BT.601 luma of the RGB frame rounded to
uint8 (OpenCV's ``RGB2GRAY``, as that toolkit does); ``channels="rgb"`` averages the SSIM of
the three colour channels instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.errors import InputError

SSIM_WINDOWS = ("gaussian", "disco")
SSIM_CHANNELS = ("gray", "rgb")
_K1, _K2 = 0.01, 0.03
_GAUSSIAN_TAPS, _GAUSSIAN_SIGMA = 11, 1.5
_UNIFORM_TAPS = 7


def ssim(
    real: np.ndarray,
    generated: np.ndarray,
    *,
    window: str = "gaussian",
    channels: str = "gray",
    data_range: float = 255.0,
) -> float:
    """Mean SSIM of two HxWx3 uint8 RGB frames (or HxW grayscale); 1.0 for identical frames."""
    if window not in SSIM_WINDOWS:
        raise InputError(f"unknown SSIM window '{window}'; use one of {', '.join(SSIM_WINDOWS)}")
    if channels not in SSIM_CHANNELS:
        raise InputError(f"unknown SSIM channels '{channels}'; use one of {', '.join(SSIM_CHANNELS)}")
    if real.shape != generated.shape:
        raise InputError(f"frames differ in size ({real.shape} vs {generated.shape}); compare frames of one size")
    if channels == "gray" or real.ndim == 2:
        planes = [(_luma(real), _luma(generated))]
    else:
        planes = [(real[..., c], generated[..., c]) for c in range(real.shape[2])]
    return float(np.mean([_ssim_plane(a, b, window, data_range) for a, b in planes]))


def ssim_label(window: str, channels: str) -> str:
    """A short description of the variant for reports (e.g. 'gaussian 11x11 sigma 1.5, gray')."""
    shape = f"gaussian {_GAUSSIAN_TAPS}x{_GAUSSIAN_TAPS} sigma {_GAUSSIAN_SIGMA}" if window == "gaussian" else (
        f"disco: uniform {_UNIFORM_TAPS}x{_UNIFORM_TAPS}, sample covariance"
    )
    return f"{shape}, {'BT.601 luma' if channels == 'gray' else 'mean of R, G, B'}"


def _luma(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def _window_kernel(window: str) -> np.ndarray:
    if window == "gaussian":
        offsets = np.arange(_GAUSSIAN_TAPS, dtype=np.float64) - _GAUSSIAN_TAPS // 2
        kernel = np.exp(-(offsets**2) / (2.0 * _GAUSSIAN_SIGMA**2))
    else:
        kernel = np.ones(_UNIFORM_TAPS, np.float64)
    return kernel / kernel.sum()


def _local_mean(plane: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Window average at every pixel whose whole window lies inside the plane ('valid' region)."""
    filtered = cv2.sepFilter2D(plane, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    r = kernel.size // 2
    return filtered[r:-r, r:-r]


def _ssim_plane(a: np.ndarray, b: np.ndarray, window: str, data_range: float) -> float:
    kernel = _window_kernel(window)
    if min(a.shape[:2]) < kernel.size:
        raise InputError(f"frames of {a.shape[1]}x{a.shape[0]} are smaller than the {kernel.size}-pixel SSIM window; use larger frames")
    x, y = a.astype(np.float64), b.astype(np.float64)
    mu_x, mu_y = _local_mean(x, kernel), _local_mean(y, kernel)
    var_x = _local_mean(x * x, kernel) - mu_x * mu_x
    var_y = _local_mean(y * y, kernel) - mu_y * mu_y
    cov_xy = _local_mean(x * y, kernel) - mu_x * mu_y
    if window == "disco":  # unbiased (sample) estimates over the window's N pixels
        n = float(kernel.size**2)
        var_x, var_y, cov_xy = (v * (n / (n - 1.0)) for v in (var_x, var_y, cov_xy))
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov_xy + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return float(np.mean(numerator / denominator))
