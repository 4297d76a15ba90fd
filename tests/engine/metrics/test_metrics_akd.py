"""AKD per part on synthetic pose sequences with known pixel offsets."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.metrics.akd import TORSO_POINTS, average_keypoint_distance
from engine.pose.keypoints import PoseSequence

WIDTH, HEIGHT = 200, 100


def _sequence(frames: int = 6, seed: int = 0, width: int = WIDTH, height: int = HEIGHT) -> PoseSequence:
    rng = np.random.default_rng(seed)

    def points(*shape):
        xy = rng.uniform(0.2, 0.8, shape + (2,))
        return np.concatenate([xy, np.ones(shape + (1,))], axis=-1)

    return PoseSequence(points(frames, 18), points(frames, 2, 21), points(frames, 68), 25.0, width, height)


def _copy(seq: PoseSequence) -> PoseSequence:
    return PoseSequence(seq.body.copy(), seq.hands.copy(), seq.face.copy(), seq.fps, seq.width, seq.height)


def test_identical_poses_give_zero_for_every_part():
    seq = _sequence()
    result = average_keypoint_distance(seq, _copy(seq))
    assert {k: v["value"] for k, v in result.items()} == {
        "akd_face": 0.0, "akd_hands": 0.0, "akd_torso": 0.0, "akd_lips": 0.0}
    assert result["akd_face"]["points"] == 6 * 68 and result["akd_lips"]["points"] == 6 * 20
    assert result["akd_hands"]["points"] == 6 * 42 and result["akd_torso"]["points"] == 6 * len(TORSO_POINTS)


def test_face_shift_is_measured_in_pixels_of_the_real_frame():
    real = _sequence()
    generated = _copy(real)
    generated.face[:, :, 0] += 3.0 / WIDTH  # 3 px right
    generated.face[:, :, 1] += 4.0 / HEIGHT  # 4 px down -> 5 px away
    result = average_keypoint_distance(real, generated)
    assert result["akd_face"]["value"] == pytest.approx(5.0, abs=1e-4)
    assert result["akd_lips"]["value"] == pytest.approx(5.0, abs=1e-4)
    assert result["akd_hands"]["value"] == 0.0 and result["akd_torso"]["value"] == 0.0


def test_torso_counts_only_its_documented_points():
    real = _sequence()
    generated = _copy(real)
    generated.body[:, 0, 0] += 0.2  # nose: a head point, not torso
    generated.body[:, 2, 0] += 9.0 / WIDTH  # right shoulder: 9 px
    result = average_keypoint_distance(real, generated)
    assert result["akd_torso"]["value"] == pytest.approx(9.0 / len(TORSO_POINTS), abs=1e-4)


def test_points_unconfident_in_either_video_are_left_out():
    real = _sequence()
    generated = _copy(real)
    generated.hands[:, :, :, 0] += 0.1  # every hand point 20 px off ...
    generated.hands[:, 0, :, 2] = 0.0  # ... but the left hand is not found in the generated video
    real.hands[:, 1, :10, 2] = 0.1  # and 10 right-hand points are unsure in the real one
    result = average_keypoint_distance(real, generated)
    assert result["akd_hands"]["points"] == 6 * 11
    assert result["akd_hands"]["value"] == pytest.approx(20.0, abs=1e-3)
    generated.hands[..., 2] = 0.0
    assert average_keypoint_distance(real, generated)["akd_hands"] == pytest.approx(
        {"value": None, "points": 0, "frames": 6, "method": result["akd_hands"]["method"]})


def test_different_lengths_compare_the_shorter_and_unknown_size_needs_frame_size():
    real, generated = _sequence(6), _sequence(4, seed=1)
    assert average_keypoint_distance(real, generated)["akd_face"]["frames"] == 4
    unsized = _sequence(width=0, height=0)
    with pytest.raises(InputError, match="frame_size"):
        average_keypoint_distance(unsized, _copy(unsized))
    shifted = _copy(unsized)
    shifted.face[:, :, 0] += 0.01
    result = average_keypoint_distance(unsized, shifted, frame_size=(500, 300))
    assert result["akd_face"]["value"] == pytest.approx(5.0, abs=1e-3)
