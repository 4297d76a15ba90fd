"""Temporal Jittering Error TJE(Δ) (TalkingPose paper, section 4.4), computed while streaming.

Paper variant (``variant="paper"``, the default), for frames I_t of the real and generated
videos as signed values in 0-255 units:

    D_t = I_{t+Δ} - I_t            (for real and for generated, signed)
    error_t = mean |D_t(real) - D_t(gen)|      (over all pixels and colour channels)
    TJE(Δ) = mean of error_t over every pair that exists.

With N frames (indexed 0..N-1) there are N - Δ pairs, t = 0..N-Δ-1; the paper's
"t = 0, ..., N - Δ" counts frames from 1. Fewer than Δ + 1 frames give no pair (``None``).

Official-code variant (``variant="official"``, tools/tje_error.py of the TalkingPose
repository): absolute frame differences first, error_t = mean | |D_t(real)| - |D_t(gen)| |.
It cannot see a sign flip (real brightening where generated darkens gives 0) so it is never
larger than the paper's value. Every result says which variant it used.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.errors import InputError

TJE_VARIANTS = ("paper", "official")


@dataclass(frozen=True)
class TjeResult:
    """TJE(Δ) of one real/generated pair; ``value`` is None when there is no frame pair."""

    value: float | None
    delta: int
    variant: str
    pairs: int


def check_delta(delta: int) -> int:
    """Δ as an int >= 1, or an InputError naming the problem."""
    if isinstance(delta, bool) or not isinstance(delta, (int, np.integer)) or delta < 1:
        raise InputError(f"TJE delta must be a whole number of frames >= 1, got {delta!r}")
    return int(delta)


def check_variant(variant: str) -> str:
    if variant not in TJE_VARIANTS:
        raise InputError(f"unknown TJE variant '{variant}'; use 'paper' (section 4.4) or 'official' (the authors' script)")
    return variant


class TjeAccumulator:
    """Feed frame pairs in order; holds only the last Δ + 1 frames of each video."""

    def __init__(self, delta: int = 5, variant: str = "paper") -> None:
        self.delta = check_delta(delta)
        self.variant = check_variant(variant)
        self._real: deque[np.ndarray] = deque(maxlen=self.delta + 1)
        self._gen: deque[np.ndarray] = deque(maxlen=self.delta + 1)
        self._total = 0.0
        self._pairs = 0

    def add(self, real: np.ndarray, generated: np.ndarray) -> float | None:
        """Add frame t of both videos; returns error_{t-Δ} once frame t-Δ exists, else None."""
        if real.shape != generated.shape:
            raise InputError(f"frames differ in size ({real.shape} vs {generated.shape}); compare frames of one size")
        # int16 holds every signed difference of uint8 values exactly (-510..510).
        self._real.append(np.asarray(real, dtype=np.int16))
        self._gen.append(np.asarray(generated, dtype=np.int16))
        if len(self._real) <= self.delta:
            return None
        d_real = self._real[-1] - self._real[0]
        d_gen = self._gen[-1] - self._gen[0]
        if self.variant == "official":
            d_real, d_gen = np.abs(d_real), np.abs(d_gen)
        error = float(np.mean(np.abs(d_real - d_gen), dtype=np.float64))
        self._total += error
        self._pairs += 1
        return error

    def result(self) -> TjeResult:
        value = self._total / self._pairs if self._pairs else None
        return TjeResult(value, self.delta, self.variant, self._pairs)


def temporal_jitter_error(
    real_frames: Iterable[np.ndarray],
    generated_frames: Iterable[np.ndarray],
    delta: int = 5,
    variant: str = "paper",
) -> TjeResult:
    """TJE(Δ) of two frame sequences of equal length (a longer one is an InputError)."""
    accumulator = TjeAccumulator(delta, variant)
    real_iter, gen_iter = iter(real_frames), iter(generated_frames)
    for real in real_iter:
        generated = next(gen_iter, None)
        if generated is None:
            raise InputError("the real sequence has more frames than the generated one; trim them to one length")
        accumulator.add(real, generated)
    if next(gen_iter, None) is not None:
        raise InputError("the generated sequence has more frames than the real one; trim them to one length")
    return accumulator.result()
