"""The synthetic puppets: deterministic identities and motion, pose-driven rendering, bundled samples."""

from __future__ import annotations

import math
import time

import av
import cv2
import numpy as np
import pytest

from engine.errors import OutputError
from engine.pose.keypoints import PoseSequence
from engine.puppets import draw as puppet_draw
from engine.puppets.motion import (
    CHANNELS, HELDOUT_MOTION_SEEDS, REST_CONTROLS, TRAIN_MOTION_SEEDS, face_rig, head_rotation,
    pose_from_controls, sample_controls, sample_motion,
)
from engine.puppets.generator import (
    HELDOUT_IDENTITY_SEEDS, TRAIN_IDENTITY_SEEDS, render_puppet, sample_identity, sample_pair,
    sample_pair_spec,
)
from engine.puppets.samples import write_samples


def _controls(**changes) -> dict[str, float]:
    return {**REST_CONTROLS, **changes}


def test_identity_is_a_function_of_its_seed():
    assert sample_identity(7) == sample_identity(7)
    looks = {sample_identity(seed).look for seed in range(20)}
    assert len(looks) == 20
    assert len({sample_identity(seed).look.hair_style for seed in range(60)}) >= 5


def test_render_is_bit_identical_for_a_seed_and_differs_between_seeds():
    motion = sample_controls(3, 30)
    pose = pose_from_controls(sample_identity(11).build, motion.at(29))
    first = render_puppet(sample_identity(11), pose, 128, 128)
    again = render_puppet(sample_identity(11), pose, 128, 128)
    other = render_puppet(sample_identity(12), pose, 128, 128)
    assert first.shape == (128, 128, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 20


def test_appearance_stays_the_same_across_poses():
    identity = sample_identity(21)
    motion = sample_controls(5, 200)
    frames = [render_puppet(identity, pose_from_controls(identity.build, motion.at(k)), 128, 128) for k in (0, 80, 160)]
    for frame in frames:  # the top corners are background; the clothes colour covers a large area
        assert np.array_equal(frame[:6, :6], frames[0][:6, :6])
        assert np.array_equal(frame[:6, -6:], frames[0][:6, -6:])
        assert np.all(frame == identity.look.clothes_colour, axis=2).mean() > 0.05
    assert not np.array_equal(frames[0], frames[1])


def test_moving_a_wrist_moves_the_arm_and_nothing_far_away():
    identity = sample_identity(4)
    pose = identity.rest_pose()
    moved = pose.copy()
    shift = np.array([-0.12, -0.12], np.float32)  # the right wrist (image left) out and up
    moved.body[4, :2] += shift
    moved.hands[1, :, :2] += shift
    size = 128
    before, after = render_puppet(identity, pose, size, size), render_puppet(identity, moved, size, size)
    diff = np.abs(before.astype(int) - after.astype(int)).sum(2)
    x, y = (moved.body[4, :2] * size).astype(int)
    assert diff[y - 3:y + 4, x - 3:x + 4].mean() > 30  # arm pixels arrived at the new wrist
    left_x = int(pose.body[5, 0] * size) + 4  # the left arm and the top of the image are untouched
    assert diff[:, left_x:].sum() == 0
    assert diff[: int(pose.face[:, 1].min() * size) - 12].sum() == 0


def test_head_pose_is_recovered_from_the_face_points():
    build = sample_identity(9).build
    yaw, pitch, roll = 0.8, -0.6, 0.5
    expression = _controls(head_yaw=yaw, head_pitch=pitch, head_roll=roll, mouth_open=0.7, smile=0.5)
    pose = pose_from_controls(build, expression)
    face_px = pose.face[:, :2].astype(np.float64) * 256
    head = puppet_draw.fit_head(face_rig(build).neutral, face_px, pose.face[:, 2] > 0.3)
    expected = head_rotation(math.radians(30) * yaw, math.radians(15) * pitch, math.radians(12) * roll)
    assert np.allclose(head.rows, expected, atol=1e-3)
    assert head.scale == pytest.approx(build.head_radius * 256, rel=1e-3)


def test_head_turn_moves_the_nose_sideways_past_the_jaw_middle():
    build = sample_identity(2).build
    left, right = (pose_from_controls(build, _controls(head_yaw=v)) for v in (-1.0, 1.0))
    front = pose_from_controls(build, REST_CONTROLS)
    assert left.face[30, 0] < front.face[30, 0] < right.face[30, 0]
    jaw_middle = (front.face[0, 0] + front.face[16, 0]) / 2
    assert abs(front.face[30, 0] - jaw_middle) < 1e-4


def test_keypoints_follow_the_canonical_convention():
    pose = sample_identity(0).rest_pose()
    body, hands, face = pose.body, pose.hands, pose.face
    assert body[2, 0] < body[1, 0] < body[5, 0]  # right shoulder on the image left
    assert body[14, 0] < body[0, 0] < body[15, 0] and body[16, 0] < body[17, 0]
    assert face[0, 0] < face[8, 0] < face[16, 0] and face[8, 1] > face[30, 1] > face[27, 1]
    assert np.allclose(hands[1, 0, :2], body[4, :2]) and np.allclose(hands[0, 0, :2], body[7, :2])
    assert np.all(body[[9, 10, 12, 13], 2] == 0) and np.all(body[[0, 1, 2, 5, 8, 11], 2] == 1)
    assert np.all(face[:, 2] == 1) and np.all(hands[..., 2] == 1)


def test_motion_stays_in_frame_and_moves_smoothly():
    for seed in (0, 1, HELDOUT_MOTION_SEEDS.start):
        sequence = sample_motion(seed, 200, 20.0, identity=sample_identity(seed))
        assert len(sequence) == 200 and sequence.fps == 20.0
        for points in (sequence.body, sequence.hands, sequence.face):
            assert points[..., :2].min() >= 0.0 and points[..., :2].max() <= 1.0
        step = np.abs(np.diff(sequence.body[:, [0, 1, 2, 3, 4, 5, 6, 7], :2], axis=0)).max()
        hand_step = np.abs(np.diff(sequence.hands[..., :2], axis=0)).max()
        assert step < 0.04 and hand_step < 0.08
        wrist_travel = np.abs(sequence.body[:, 4, :2] - sequence.body[0, 4, :2]).max()
        assert wrist_travel > 0.03  # it does gesture


def test_motion_is_deterministic_and_independent_of_clip_length():
    short, long = sample_controls(42, 50), sample_controls(42, 120)
    assert set(short.channels) == set(CHANNELS)
    for name in CHANNELS:
        assert np.array_equal(short.channels[name], long.channels[name][:50])
    other = sample_controls(43, 50)
    assert not np.array_equal(short.channels["head_yaw"], other.channels["head_yaw"])
    mouth = long.channels["mouth_open"]
    assert mouth.max() > 0.5 and long.channels["eyes_closed"].max() > 0.8  # talks and blinks


def test_held_out_seeds_are_never_drawn_for_training():
    assert TRAIN_IDENTITY_SEEDS.stop <= HELDOUT_IDENTITY_SEEDS.start
    assert TRAIN_MOTION_SEEDS.stop <= HELDOUT_MOTION_SEEDS.start
    rng = np.random.default_rng(0)
    train = [sample_pair_spec(rng) for _ in range(300)]
    held = [sample_pair_spec(rng, held_out=True) for _ in range(300)]
    assert all(s.identity_seed in TRAIN_IDENTITY_SEEDS and s.motion_seed in TRAIN_MOTION_SEEDS for s in train)
    assert all(s.identity_seed in HELDOUT_IDENTITY_SEEDS and s.motion_seed in HELDOUT_MOTION_SEEDS for s in held)


def test_sample_pair_is_one_puppet_in_two_poses():
    source, target, pose = sample_pair(5, 96)
    again = sample_pair(np.random.default_rng(5), 96)
    assert source.shape == target.shape == (96, 96, 3)
    assert np.array_equal(source, again[0]) and np.array_equal(target, again[1])
    assert np.array_equal(source[:4, :4], target[:4, :4])  # same background
    assert not np.array_equal(source, target)
    assert np.array_equal(pose.body, again[2].body)


def test_renders_at_any_size_and_without_face_points():
    identity = sample_identity(33)
    pose = identity.rest_pose()
    for width, height in ((64, 64), (160, 96), (512, 512)):
        image = render_puppet(identity, pose, width, height)
        packed = image.astype(np.int32) @ np.array([1, 256, 65536])
        assert image.shape == (height, width, 3) and len(np.unique(packed)) > 20
    faceless = pose.copy()
    faceless.face[:, 2] = 0.0
    background = render_puppet(identity, faceless.__class__.empty(), 128, 128)
    drawn = render_puppet(identity, faceless, 128, 128)
    x, y = (pose.body[0, :2] * 128).astype(int)
    assert np.abs(drawn[y, x].astype(int) - background[y, x].astype(int)).sum() > 30  # a head is drawn
    with pytest.raises(ValueError):
        render_puppet(identity, pose, 4, 4)


def test_render_speed_is_reported():
    identity = sample_identity(1)
    motion = sample_controls(1, 40)
    poses = [pose_from_controls(identity.build, motion.at(k)) for k in range(40)]
    start = time.process_time()
    for pose in poses:
        render_puppet(identity, pose, 128, 128)
    print(f"render_puppet 128x128: {(time.process_time() - start) / len(poses) * 1000:.2f} ms CPU per frame")


def test_write_samples_makes_a_playable_clip_with_matching_poses(tmp_path):
    about = write_samples(tmp_path, seconds=1.0, fps=10, size=64)
    assert about["frames"] == 10
    assert cv2.imread(str(tmp_path / "source.png")).shape == (64, 64, 3)
    poses = PoseSequence.load(tmp_path / "driving_poses.npz")
    assert len(poses) == 10 and (poses.width, poses.height, poses.fps) == (64, 64, 10.0)
    with av.open(str(tmp_path / "driving.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (64, 64, 3)
    expected = render_puppet(sample_identity(about["driving_identity_seed"]), poses[3], 64, 64)
    mse = np.mean((frames[3].astype(float) - expected.astype(float)) ** 2)
    assert 10 * math.log10(255**2 / max(mse, 1e-9)) > 25  # the video shows the pose file's frames
    assert not list(tmp_path.glob("*.partial*")) and not list(tmp_path.glob("*.tmp*"))


def test_write_samples_into_a_file_path_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="samples folder"):
        write_samples(blocker / "samples", seconds=0.5, fps=4, size=32)
