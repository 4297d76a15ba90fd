"""PSNR in the two variants the TalkingPose paper reports (section 4.3).

``psnr_float``: MSE in float64, PSNR = 20 log10(255 / sqrt(MSE)) — the correct value, the
one the paper mainly reports (PSNR_float).

``psnr_int``: the "integer" PSNR of the older papers, reproduced from the Disco evaluation
toolkit's ``psnr_eval`` applied to uint8 frames: ``(real - generated) ** 2`` is evaluated in
uint8. The difference wraps modulo 256 (3 - 5 = 254) and so does the square, so each pixel
contributes d**2 mod 256 for its true difference d instead of d**2. The two variants are
therefore equal exactly when every |d| <= 15 (d**2 < 256) and psnr_int is higher wherever
some |d| >= 16 (e.g. d = 16 contributes 0).

Identical frames (MSE 0) give ``cap_db`` (100 dB, the Disco convention) instead of infinity,
so per-video means stay finite; any larger value is clipped to the cap too. Pass
``cap_db=None`` to get ``math.inf``. A video's PSNR is the mean of its per-frame PSNRs.
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import InputError

PSNR_CAP_DB = 100.0
_PEAK = 255.0


def psnr_float(real: np.ndarray, generated: np.ndarray, cap_db: float | None = PSNR_CAP_DB) -> float:
    """PSNR of two uint8 frames with the error computed in float64."""
    _check_pair(real, generated)
    diff = real.astype(np.float64) - generated.astype(np.float64)
    return _from_mse(float(np.mean(diff * diff)), cap_db)


def psnr_int(real: np.ndarray, generated: np.ndarray, cap_db: float | None = PSNR_CAP_DB) -> float:
    """PSNR of two uint8 frames with difference and square computed in uint8 (they wrap)."""
    _check_pair(real, generated)
    wrapped = np.subtract(real, generated, dtype=np.uint8)
    squared = np.multiply(wrapped, wrapped, dtype=np.uint8)
    return _from_mse(float(np.mean(squared, dtype=np.float64)), cap_db)


def _from_mse(mse: float, cap_db: float | None) -> float:
    value = math.inf if mse == 0.0 else 20.0 * math.log10(_PEAK / math.sqrt(mse))
    return value if cap_db is None else min(value, cap_db)


def _check_pair(real: np.ndarray, generated: np.ndarray) -> None:
    if real.dtype != np.uint8 or generated.dtype != np.uint8:
        raise InputError("PSNR compares 8-bit frames; convert both to uint8 (0-255) first")
    if real.shape != generated.shape:
        raise InputError(f"frames differ in size ({real.shape} vs {generated.shape}); compare frames of one size")
