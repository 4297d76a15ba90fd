"""Retargeting the driver onto the source person's proportions and placement."""

from __future__ import annotations

import numpy as np

from engine.pose.align import align_sequence
from engine.pose.keypoints import Pose, PoseSequence
from tests.engine.pose.conftest import synthetic_pose


def _moving_sequence(base: Pose, frames: int = 6, seed: int = 0, width: int = 512, height: int = 512) -> PoseSequence:
    """``base`` with every point wandering a little from frame to frame (the motion)."""
    rng = np.random.default_rng(seed)
    poses = []
    for t in range(frames):
        pose = base.copy()
        if t:
            for part in (pose.body, pose.hands, pose.face):
                part[..., :2] += rng.normal(0, 0.01, part[..., :2].shape)
        poses.append(pose)
    return PoseSequence.from_poses(poses, fps=25.0, width=width, height=height)


def _transform(seq: PoseSequence, scale: float, offset) -> PoseSequence:
    out = PoseSequence(seq.body.copy(), seq.hands.copy(), seq.face.copy(), seq.fps, seq.width, seq.height)
    for part in (out.body, out.hands, out.face):
        part[..., :2] = part[..., :2] * scale + np.asarray(offset, np.float32)
    return out


def _assert_same(a: PoseSequence, b: PoseSequence, atol: float = 1e-5):
    for name in ("body", "hands", "face"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, err_msg=name)


def test_alignment_to_itself_is_identity():
    seq = _moving_sequence(synthetic_pose())
    _assert_same(align_sequence(seq, seq[0]), seq)
    _assert_same(align_sequence(seq, seq[3], reference_frame=3), seq)


def test_double_size_off_centre_driver_becomes_source_sized_and_placed():
    source_motion = _moving_sequence(synthetic_pose(centre=(0.3, 0.3), size=0.12))
    driver = _transform(source_motion, 2.0, (0.1, -0.2))  # twice the size, neck at (0.7, 0.4)
    aligned = align_sequence(driver, source_motion[0])
    _assert_same(aligned, source_motion)  # frame 0 lands on the source, later frames follow
    motion_driver = driver.body[:, :, :2] - driver.body[:1, :, :2]
    motion_aligned = aligned.body[:, :, :2] - aligned.body[:1, :, :2]
    np.testing.assert_allclose(motion_aligned, 0.5 * motion_driver, atol=1e-5)  # same motion, half size
    assert aligned.meta["alignment"]["scale"] == np.float32(0.5) or abs(aligned.meta["alignment"]["scale"] - 0.5) < 1e-5


def test_bones_take_the_source_lengths():
    source = synthetic_pose()
    forearm = source.body[4, :2] - source.body[3, :2]
    source.body[4, :2] = source.body[3, :2] + 1.5 * forearm  # the source has a long right forearm
    driver = _moving_sequence(synthetic_pose(), frames=8, seed=3)
    angles = np.linspace(0, 1.2, 8)  # the driver swings that forearm, its length unchanged
    length = np.linalg.norm(forearm)
    driver.body[:, 4, 0] = driver.body[:, 3, 0] + length * np.sin(angles)
    driver.body[:, 4, 1] = driver.body[:, 3, 1] + length * np.cos(angles)
    aligned = align_sequence(driver, source)
    lengths = np.linalg.norm(aligned.body[:, 4, :2] - aligned.body[:, 3, :2], axis=1)
    np.testing.assert_allclose(lengths, 1.5 * length, rtol=1e-4)
    others = [j for j in range(18) if j != 4]  # same pose as the source in frame 0 but for the forearm
    np.testing.assert_allclose(aligned.body[0, others, :2], source.body[others, :2], atol=1e-5)
    # the forearm's direction is the driver's
    direction = aligned.body[:, 4, :2] - aligned.body[:, 3, :2]
    np.testing.assert_allclose(np.arctan2(direction[:, 0], direction[:, 1]), angles, atol=1e-4)
    # the right hand moved with the longer forearm: wrist offset kept, shape kept
    hand_offset = aligned.hands[:, 1, :, :2] - aligned.body[:, 4, None, :2]
    driver_offset = driver.hands[:, 1, :, :2] - driver.body[:, 4, None, :2]
    np.testing.assert_allclose(hand_offset, driver_offset, atol=1e-5)


def test_missing_points_stay_missing():
    driver = _moving_sequence(synthetic_pose(size=0.3))
    driver.body[2, 3] = 0.0  # right elbow lost in frame 2
    driver.hands[4, 0] = 0.0  # left hand lost in frame 4
    aligned = align_sequence(driver, synthetic_pose(centre=(0.4, 0.3), size=0.15))
    assert np.array_equal(aligned.body[2, 3], np.zeros(3, np.float32))
    assert not aligned.hands[4, 0].any()
    assert np.array_equal(aligned.body[..., 2], driver.body[..., 2])
    # the right wrist, whose parent is missing in frame 2, still follows the global map
    assert aligned.body[2, 4, 2] > 0 and np.isfinite(aligned.body[2, 4, :2]).all()
    assert abs(aligned.body[2, 4, 0] - aligned.body[1, 4, 0]) < 0.05


def test_source_without_person_returns_input_with_warning():
    driver = _moving_sequence(synthetic_pose())
    aligned = align_sequence(driver, Pose.empty())
    _assert_same(aligned, driver, atol=0)
    assert "no person" in aligned.meta["alignment_warning"]


def test_driver_without_person_in_reference_frame_uses_next_frame():
    source = synthetic_pose(centre=(0.4, 0.3), size=0.15)
    driver = _moving_sequence(synthetic_pose(size=0.3))
    driver.body[0] = 0.0
    driver.hands[0] = 0.0
    driver.face[0] = 0.0
    aligned = align_sequence(driver, source)
    assert aligned.meta["alignment"]["reference_frame"] == 1
    np.testing.assert_allclose(aligned.body[1, 1, :2], source.body[1, :2], atol=1e-6)  # neck placed
    shoulders = lambda body: np.linalg.norm(body[2, :2] - body[5, :2])  # noqa: E731
    assert abs(shoulders(aligned.body[1]) - shoulders(source.body)) < 1e-5  # source proportions
    assert not aligned.body[0].any()


def test_landscape_driver_onto_square_source():
    """Lengths are compared in pixels, so a 16:9 driver keeps its shapes on a 1:1 source."""
    source = synthetic_pose(centre=(0.5, 0.3), size=0.2)
    square = _moving_sequence(source)
    driver = _transform(square, 1.0, (0, 0))  # the same motion seen in a 2:1 frame at the same pixel size
    driver.width, driver.height = 1024, 512
    for part in (driver.body, driver.hands, driver.face):
        part[..., 0] = 0.25 + part[..., 0] / 2
    aligned = align_sequence(driver, source, source_aspect=1.0)
    _assert_same(aligned, square)
    assert (aligned.width, aligned.height) == (512, 512)
