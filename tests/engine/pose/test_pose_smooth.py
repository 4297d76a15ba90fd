"""One-Euro smoothing of keypoint sequences."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import SettingsError
from engine.pose.keypoints import PoseSequence
from engine.pose.smooth import smooth_sequence


def _sequence(xy_of_time: np.ndarray, fps: float = 30.0) -> PoseSequence:
    """Every point of every part follows the given (T, 2) track, confident."""
    t = len(xy_of_time)
    body = np.zeros((t, 18, 3), np.float32)
    hands = np.zeros((t, 2, 21, 3), np.float32)
    face = np.zeros((t, 68, 3), np.float32)
    for part in (body, hands, face):
        part[..., :2] = xy_of_time.reshape((t,) + (1,) * (part.ndim - 2) + (2,))
        part[..., 2] = 0.9
    return PoseSequence(body, hands, face, fps, 640, 480, "abc")


def test_strength_zero_is_an_exact_copy():
    rng = np.random.default_rng(0)
    seq = _sequence(rng.uniform(0, 1, (20, 2)))
    out = smooth_sequence(seq, 0.0)
    for name in ("body", "hands", "face"):
        assert np.array_equal(getattr(out, name), getattr(seq, name))
        assert getattr(out, name) is not getattr(seq, name)
    assert (out.fps, out.width, out.height, out.fingerprint) == (30.0, 640, 480, "abc")


def test_jitter_on_a_still_point_is_reduced_more_with_higher_strength():
    rng = np.random.default_rng(1)
    track = 0.5 + rng.normal(0, 0.01, (120, 2))
    seq = _sequence(track)
    raw_std = seq.body[30:, 0, 0].std()
    mild = smooth_sequence(seq, 0.5).body[30:, 0, 0].std()
    strong = smooth_sequence(seq, 2.0).body[30:, 0, 0].std()
    assert strong < mild < raw_std
    assert strong < 0.35 * raw_std
    assert np.array_equal(smooth_sequence(seq, 2.0).body[..., 2], seq.body[..., 2])  # confidences kept


def test_fast_motion_keeps_up():
    t = np.arange(60) / 30.0
    track = np.stack([0.1 + 0.6 * t, np.full_like(t, 0.5)], axis=1)  # 0.6 frame widths per second
    out = smooth_sequence(_sequence(track), 1.0)
    lag = np.abs(out.body[30:, 0, 0] - track[30:, 0]).max()
    assert lag < 0.02  # under 2 % of the frame behind after settling
    assert np.allclose(out.body[:, 0, 1], 0.5)


def test_missing_points_stay_missing_and_do_not_pull_the_filter():
    track = np.full((40, 2), 0.5)
    seq = _sequence(track)
    seq.body[10:13, 4] = 0.0  # a short drop-out of the right wrist
    seq.body[20:40, 7] = 0.0  # the left wrist leaves for good
    out = smooth_sequence(seq, 1.0)
    assert np.array_equal(out.body[10:13, 4], np.zeros((3, 3)))
    assert np.array_equal(out.body[20:, 7], np.zeros((20, 3)))
    present = out.body[..., 2] > 0
    assert np.allclose(out.body[present][:, :2], 0.5)  # the zeros never pulled a value down


def test_a_point_returning_after_a_long_gap_starts_where_it_is():
    track = np.full((60, 2), 0.2)
    track[30:] = 0.8
    seq = _sequence(track)
    seq.body[20:30, 0] = 0.0  # gone for a third of a second, then back elsewhere
    out = smooth_sequence(seq, 1.0)
    assert np.allclose(out.body[30, 0, :2], 0.8)


@pytest.mark.parametrize("strength", [-1.0, float("nan")])
def test_bad_strength(strength):
    with pytest.raises(SettingsError, match="smooth"):
        smooth_sequence(_sequence(np.zeros((3, 2))), strength)
