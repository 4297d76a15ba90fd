"""Temporal smoothing of keypoints with the One-Euro filter (Casiez et al., CHI 2012).

The One-Euro filter is a low-pass filter whose cut-off rises with the point's speed: still
points are held steady (no jitter) while fast gestures keep up (little lag). ``strength`` scales
both knobs: 0 is the raw signal, higher is steadier.
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import SettingsError
from engine.pose.keypoints import Pose, PoseSequence

# At strength 1: a still point is filtered at 1.5 Hz and the cut-off grows by 4 Hz per
# (frame width or height) per second of speed. Coordinates are normalised to [0, 1].
BASE_MIN_CUTOFF_HZ = 1.5
BASE_SPEED_COEFFICIENT = 4.0
DERIVATIVE_CUTOFF_HZ = 1.0
# A point missing for longer than this restarts its filter when it comes back, so it does not
# glide in from where it was last seen.
MAX_GAP_SECONDS = 0.25


def _smoothing_factor(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """The One-Euro filter over N points of D values, one frame at a time (causal: no look-ahead).

    ``one_euro`` and ``smooth_sequence`` run this same step, so filtering a stream frame by frame
    gives bit-identical results to filtering the whole sequence at once.
    """

    def __init__(self, fps: float, min_cutoff_hz: float, speed_coefficient: float,
                 derivative_cutoff_hz: float = DERIVATIVE_CUTOFF_HZ):
        self.dt = 1.0 / fps
        self.max_gap = max(1, int(round(MAX_GAP_SECONDS * fps)))
        self.min_cutoff_hz, self.speed_coefficient = min_cutoff_hz, speed_coefficient
        self.derivative_cutoff_hz = derivative_cutoff_hz
        self.t = 0
        self.filtered: np.ndarray | None = None  # x̂ per point
        self.derivative: np.ndarray | None = None  # dx̂ per point
        self.last_seen: np.ndarray | None = None

    def step(self, values: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Filter one frame: ``values`` (N, D), ``present`` (N,); absent points pass through untouched."""
        values = np.asarray(values, np.float64)
        if self.filtered is None:
            self.filtered = values.copy()
            self.derivative = np.zeros_like(values)
            self.last_seen = np.full(values.shape[0], -10**9)
        t, filtered, derivative = self.t, self.filtered, self.derivative
        here = present
        gap = t - self.last_seen
        restart = here & (gap > self.max_gap)
        resume = here & ~restart
        filtered[restart] = values[restart]
        derivative[restart] = 0.0
        if resume.any():
            elapsed = (gap[resume] * self.dt)[:, None]
            x = values[resume]
            raw_derivative = (x - filtered[resume]) / elapsed
            a_d = _smoothing_factor(self.derivative_cutoff_hz, elapsed)
            derivative[resume] = a_d * raw_derivative + (1 - a_d) * derivative[resume]
            speed = np.linalg.norm(derivative[resume], axis=1, keepdims=True)
            a = _smoothing_factor(self.min_cutoff_hz + self.speed_coefficient * speed, elapsed)
            filtered[resume] = a * x + (1 - a) * filtered[resume]
        out = values.copy()
        out[here] = filtered[here]
        self.last_seen[here] = t
        self.t += 1
        return out


def one_euro(
    values: np.ndarray,
    present: np.ndarray,
    fps: float,
    min_cutoff_hz: float,
    speed_coefficient: float,
    derivative_cutoff_hz: float = DERIVATIVE_CUTOFF_HZ,
) -> np.ndarray:
    """Filter ``values`` (T, N, D) along time; entries where ``present`` (T, N) is False pass
    through untouched and do not update the filter."""
    values = np.asarray(values, np.float64)
    out = values.copy()
    if len(values) == 0:
        return out
    one = OneEuroFilter(fps, min_cutoff_hz, speed_coefficient, derivative_cutoff_hz)
    for t in range(len(values)):
        out[t] = one.step(values[t], present[t])
    return out


class PoseSmoother:
    """``smooth_sequence`` one pose at a time, in order: what a streamed analysis uses."""

    def __init__(self, strength: float, fps: float):
        _check_strength(strength)
        fps = fps if fps > 0 else 25.0
        self.filter = (
            OneEuroFilter(fps, BASE_MIN_CUTOFF_HZ / strength, BASE_SPEED_COEFFICIENT / strength) if strength > 0 else None
        )

    def step(self, pose: Pose) -> Pose:
        """The smoothed copy of the next frame's ``pose`` (the input itself when strength is 0)."""
        if self.filter is None:
            return pose
        points = np.concatenate([pose.body, pose.hands.reshape(-1, 3), pose.face], axis=0)
        present = points[:, 2] > 0
        xy = self.filter.step(points[:, :2], present)
        points[:, :2] = np.where(present[:, None], xy, points[:, :2]).astype(np.float32)
        nb, nh = pose.body.shape[0], pose.hands.shape[0] * pose.hands.shape[1]
        return Pose(points[:nb], points[nb:nb + nh].reshape(pose.hands.shape), points[nb + nh:])


def _check_strength(strength: float) -> None:
    if not math.isfinite(strength) or strength < 0:
        raise SettingsError("smooth", f"must be a number from 0 (off) upwards, got {strength}")


def smooth_sequence(seq: PoseSequence, strength: float) -> PoseSequence:
    """Return a smoothed copy of ``seq``; ``strength`` 0 gives an exact copy, higher is steadier.

    Confidences are kept as they are; missing points (confidence 0) stay missing.
    """
    _check_strength(strength)
    body, hands, face = seq.body.copy(), seq.hands.copy(), seq.face.copy()
    if strength > 0 and len(seq) > 1:
        t = len(seq)
        points = np.concatenate([body, hands.reshape(t, -1, 3), face], axis=1)
        present = points[:, :, 2] > 0
        fps = seq.fps if seq.fps > 0 else 25.0
        xy = one_euro(points[:, :, :2], present, fps, BASE_MIN_CUTOFF_HZ / strength, BASE_SPEED_COEFFICIENT / strength)
        points[:, :, :2] = np.where(present[:, :, None], xy, points[:, :, :2]).astype(np.float32)
        nb, nh = body.shape[1], hands.shape[1] * hands.shape[2]
        body = points[:, :nb]
        hands = points[:, nb:nb + nh].reshape(hands.shape)
        face = points[:, nb + nh:]
    meta = dict(seq.meta)
    meta["smoothing"] = float(strength)
    return PoseSequence(body, hands, face, seq.fps, seq.width, seq.height, seq.fingerprint, meta)
