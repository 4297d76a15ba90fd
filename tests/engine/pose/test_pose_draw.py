"""DWPose-style drawing: exact colours on hand-made keypoints, and the look of the official renderer."""

from __future__ import annotations

import numpy as np
import pytest

from engine.pose.draw import BODY_COLORS, HAND_EDGE_COLORS, draw_overlay, draw_pose
from engine.pose.keypoints import Pose
from tests.engine.pose.conftest import require_shared

W, H = 200, 160


def _px(image, x, y):
    return tuple(int(v) for v in image[y, x])


def _dimmed(colour):
    return tuple(int(c * 0.6) for c in colour)


def test_limb_is_dimmed_ellipse_and_joints_full_colour():
    pose = Pose.empty()
    pose.body[1] = (100 / W, 80 / H, 1.0)  # neck at pixel (100, 80)
    pose.body[2] = (40 / W, 80 / H, 0.9)  # right shoulder at pixel (40, 80)
    image = draw_pose(pose, W, H)
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
    assert _px(image, 100, 80) == BODY_COLORS[1]  # joint i has colour i, undimmed
    assert _px(image, 40, 80) == BODY_COLORS[2]
    assert _px(image, 70, 80) == _dimmed(BODY_COLORS[0]) == (153, 0, 0)  # limb 2-3 is limb 0
    assert _px(image, 70, 77) == (153, 0, 0)  # half-width 4: still inside 3 px off the axis
    assert _px(image, 70, 86) == (0, 0, 0)  # and black 6 px off it
    assert _px(image, 5, 5) == (0, 0, 0)
    drawn = image.any(axis=2)
    assert drawn[:, :30].sum() == 0 and drawn[:, 110:].sum() == 0  # nothing past the joint discs


def test_every_limb_uses_its_own_colour():
    from engine.pose.draw import BODY_LIMBS

    for limb_index, (a, b) in enumerate(BODY_LIMBS):
        pose = Pose.empty()
        pose.body[a] = (0.2, 0.5, 1.0)
        pose.body[b] = (0.8, 0.5, 1.0)
        image = draw_pose(pose, W, H)
        assert _px(image, 100, 80) == _dimmed(BODY_COLORS[limb_index]), limb_index
        assert _px(image, int(0.2 * W), 80) == BODY_COLORS[a]
        assert _px(image, int(0.8 * W), 80) == BODY_COLORS[b]


def test_hand_edges_points_and_face_dots():
    pose = Pose.empty()
    hand = pose.hands[1]
    hand[0] = (20 / W, 100 / H, 1.0)
    hand[1] = (80 / W, 100 / H, 1.0)  # edge 0 (wrist -> thumb 1): red
    hand[5] = (20 / W, 40 / H, 1.0)  # edge 4 (wrist -> index 5)
    pose.face[0] = (150 / W, 30 / H, 1.0)
    pose.face[1] = (170 / W, 30 / H, 1.0)
    image = draw_pose(pose, W, H)
    assert _px(image, 20, 100) == (0, 0, 255)  # hand points are blue (RGB)
    assert _px(image, 80, 100) == (0, 0, 255)
    assert _px(image, 50, 100) == (255, 0, 0)  # hsv(0) = red
    assert _px(image, 20, 70) == (204, 255, 0)  # hsv(4/20): hue 72 degrees = (0.8, 1, 0) * 255
    assert HAND_EDGE_COLORS[10] == (0.0, 255.0, 255.0)  # hsv(0.5) = cyan
    assert _px(image, 150, 30) == (255, 255, 255) and _px(image, 170, 30) == (255, 255, 255)
    assert _px(image, 150, 34) == (0, 0, 0)  # face dots have radius 3
    assert _px(image, 160, 30) == (0, 0, 0)


def test_nothing_below_confidence_threshold():
    pose = Pose.empty()
    pose.body[:, :2] = np.linspace(0.1, 0.9, 18)[:, None]
    pose.body[:, 2] = 0.29
    pose.hands[:, :, :2] = 0.5
    pose.hands[:, :, 2] = 0.29
    pose.face[:, :2] = 0.3
    pose.face[:, 2] = 0.0
    assert not draw_pose(pose, W, H).any()
    pose.body[1, 2] = 0.3  # exactly at the threshold: drawn
    image = draw_pose(pose, W, H)
    x, y = int(pose.body[1, 0] * W), int(pose.body[1, 1] * H)
    assert _px(image, x, y) == BODY_COLORS[1]
    assert image.any(axis=2).sum() < 60  # one disc, and no limb (its other end is under 0.3)


@pytest.mark.parametrize("size", [(64, 256), (333, 97), (1, 1)])
def test_any_size_and_wild_points(size):
    width, height = size
    pose = Pose.empty()
    pose.body[1] = (0.5, 0.5, 1.0)
    pose.body[2] = (1e9, -1e9, 1.0)  # absurd coordinates are skipped, not an overflow
    pose.face[3] = (np.nan, 0.5, 1.0)
    pose.hands[0, 2] = (np.nan, np.inf, 1.0)
    pose.hands[0, 5] = (np.nan, 0.5, 0.0)
    image = draw_pose(pose, width, height)
    assert image.shape == (height, width, 3)
    assert _px(image, width // 2, height // 2) == BODY_COLORS[1]


def test_overlay_changes_only_drawn_pixels():
    frame = np.full((H, W, 3), 100, np.uint8)
    pose = Pose.empty()
    pose.face[0] = (0.5, 0.5, 1.0)
    out = draw_overlay(frame, pose, alpha=0.5)
    assert _px(out, 100, 80) == (178, 178, 178)  # 100 * 0.5 + 255 * 0.5 = 177.5, rounded to even
    assert _px(out, 10, 10) == (100, 100, 100)
    assert (out != frame).any(axis=2).sum() == draw_pose(pose, W, H).any(axis=2).sum()


def test_drawing_of_talk_frame_looks_like_official_dwpose_frame():
    """Our pose image of a talk2.mp4 frame and the official rendering share the colour vocabulary
    (neck, shoulders, elbows, their dimmed limbs, blue hand points, white face dots). A BGR/RGB
    mix-up would turn the red shoulder limb blue and fail this."""
    from engine.pose.extract import detect_image
    from engine.pose.posevideo import frame_pose_statistics

    from engine.video.reader import read_frame

    frame = read_frame(require_shared("talk2.mp4"), 100)
    official = read_frame(require_shared("talk2_dwpose.mp4"), 100)
    ours = draw_pose(detect_image(frame), 512, 512)

    def colours_present(image):
        flat = image.reshape(-1, 3).astype(int)
        vocabulary = list(BODY_COLORS) + [_dimmed(c) for c in BODY_COLORS] + [(0, 0, 255), (255, 255, 255)]
        return {c for c in vocabulary if (np.abs(flat - c).max(axis=1) <= 12).sum() >= 6}

    upper_body = {BODY_COLORS[j] for j in (1, 2, 3, 5, 6)} | {_dimmed(BODY_COLORS[i]) for i in (0, 1, 2, 4, 12)}
    upper_body |= {(0, 0, 255), (255, 255, 255)}
    assert upper_body <= colours_present(official), "the reference video changed?"
    assert upper_body <= colours_present(ours)
    # the drawn area is alike too (same limb widths and dot sizes): within 30 % of each other
    ours_black, _ = frame_pose_statistics(ours)
    official_black, _ = frame_pose_statistics(official)
    assert abs((1 - ours_black) / (1 - official_black) - 1) < 0.3
