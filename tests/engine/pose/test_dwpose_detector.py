"""DWPose detector cases: no person, two people (which one, and the same one over time), a person cut by the border."""

from __future__ import annotations

import numpy as np
import pytest

from engine.pose.dwpose import DWPoseBackend
from engine.pose.dwpose.detector import decode_persons
from engine.pose.dwpose.wholebody import choose_person
from tests.engine.pose.dwpose_fakes import (
    detection_frame_size, detector_model, expected_keypoints, pose_model, raw_detections, simcc_peaks, write_models,
)

WIDTH, HEIGHT = 1280, 720
DET_W, DET_H = detection_frame_size(WIDTH, HEIGHT)  # 896 x 512
RATIO = min(640 / DET_H, 640 / DET_W)  # input px per detection px
TO_FRAME = WIDTH / DET_W / RATIO  # frame px per input px
X_BINS, Y_BINS = np.full(133, 288), np.full(133, 384)  # every keypoint at the crop centre = the box centre


def _nose_px(pose) -> np.ndarray:
    return pose.body[0, :2] * (WIDTH, HEIGHT)


def _expected_nose(box) -> np.ndarray:
    return expected_keypoints((WIDTH, HEIGHT), box, X_BINS, Y_BINS)[0]


def _paint(frame: np.ndarray, box, blue: int) -> None:
    """Fill a box (input px) with a blue level: the fake pose model scores a person by the blue at its crop centre."""
    x0, y0, x1, y1 = (np.asarray(box) * TO_FRAME).astype(int)
    frame[y0:y1, x0:x1, 2] = blue


def test_no_person_uses_the_whole_frame_like_the_official_code(tmp_path):
    weak = (100.0, 100.0, 300.0, 400.0)  # person score 0.25: below the 0.3 person threshold
    folder = write_models(tmp_path, detector_model(raw_detections([weak], [0.25])), pose_model(*simcc_peaks(X_BINS, Y_BINS, np.full(133, 0.9))))
    backend = DWPoseBackend(folder, device="cpu")
    pose = backend.detect([np.zeros((HEIGHT, WIDTH, 3), np.uint8)])[0]
    whole_frame = (0.0, 0.0, DET_W * RATIO, DET_H * RATIO)
    assert np.abs(_nose_px(pose) - _expected_nose(whole_frame)).max() <= 0.5
    assert np.abs(_nose_px(pose) - (WIDTH / 2, HEIGHT / 2)).max() <= 0.5
    assert backend.frames_without_detection == 1


def test_nothing_visible_gives_an_empty_pose(tmp_path):
    folder = write_models(tmp_path, detector_model(raw_detections([], [])), pose_model(*simcc_peaks(X_BINS, Y_BINS, np.full(133, 0.1))))
    pose = DWPoseBackend(folder, device="cpu").detect([np.zeros((HEIGHT, WIDTH, 3), np.uint8)])[0]
    assert not pose.has_person and not pose.hands.any()


def _two_people(tmp_path, pose_batch="N"):
    left, right = (100.0, 60.0, 250.0, 340.0), (380.0, 60.0, 530.0, 340.0)
    raw = raw_detections([left, right], [0.9, 0.8])
    drive = np.zeros_like(raw)
    drive[np.flatnonzero(raw[:, 5] == 0.9)[0], 0] = 0.5  # top-left pixel blue 255: the left person moves 16 input px right
    # base peak 0.5 +- 0.1 per normalised blue unit: blue 220 -> 0.665, blue 30 -> 0.340
    peaks = simcc_peaks(X_BINS, Y_BINS, np.full(133, 0.5))
    folder = write_models(tmp_path, detector_model(raw, drive), pose_model(*peaks, offset=0.1, batch=pose_batch))
    moved_left = (left[0] + 16, left[1], left[2] + 16, left[3])
    first = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    _paint(first, left, 220)
    _paint(first, right, 30)
    second = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    second[:32, :32, 2] = 255
    _paint(second, moved_left, 30)  # the followed person now scores lower than the other one
    _paint(second, right, 220)
    return folder, (left, right, moved_left), first, second


@pytest.mark.parametrize("pose_batch", ["N", 1])  # the released file fixes the batch to 1: one crop per call
def test_two_people_pick_the_best_body_score_then_follow_that_person(tmp_path, pose_batch):
    folder, (left, right, moved_left), first, second = _two_people(tmp_path, pose_batch)
    together = DWPoseBackend(folder, device="cpu").detect([first, second])  # one batch
    backend = DWPoseBackend(folder, device="cpu")
    apart = backend.detect([first]) + backend.detect([second])  # two calls: the choice carries over
    for poses in (together, apart):
        assert np.abs(_nose_px(poses[0]) - _expected_nose(left)).max() <= 0.5
        assert np.abs(_nose_px(poses[1]) - _expected_nose(moved_left)).max() <= 0.5
        assert poses[1].body[0, 2] == pytest.approx(0.5 + 0.1 * (30 - 123.675) / 58.395, abs=1e-4)
    alone = DWPoseBackend(folder, device="cpu").detect([second])[0]  # no history: the best score, as the official code
    assert np.abs(_nose_px(alone) - _expected_nose(right)).max() <= 0.5
    backend.reset()
    assert np.abs(_nose_px(backend.detect([second])[0]) - _expected_nose(right)).max() <= 0.5


def test_person_cut_by_the_frame_border(tmp_path):
    box = (520.0, 100.0, 700.0, 420.0)  # reaches past the right edge (input x 640 = frame x 1280)
    k = np.arange(133)
    x_bins, y_bins = 40 + (k * 4) % 520, 100 + (k * 3) % 560
    folder = write_models(tmp_path, detector_model(raw_detections([box], [0.9])), pose_model(*simcc_peaks(x_bins, y_bins, np.full(133, 0.9))))
    pose = DWPoseBackend(folder, device="cpu").detect([np.zeros((HEIGHT, WIDTH, 3), np.uint8)])[0]
    want = expected_keypoints((WIDTH, HEIGHT), box, x_bins, y_bins)[23:91]  # the face points
    inside, outside = want[:, 0] < WIDTH - 1, want[:, 0] > WIDTH + 1
    assert inside.sum() >= 10 and outside.sum() >= 10
    assert np.abs(pose.face[inside, :2] * (WIDTH, HEIGHT) - want[inside]).max() <= 0.5
    assert not pose.face[outside].any()  # past the border: stored as not found


def test_overlapping_boxes_of_one_person_are_merged_by_nms():
    ratio = 1.0
    raw = raw_detections([(100, 100, 300, 400), (110, 105, 305, 410), (400, 100, 500, 300)], [0.8, 0.9, 0.5])
    boxes, scores = decode_persons(raw, ratio)
    assert np.allclose(scores, [0.9, 0.5]) and np.allclose(boxes[0], (110, 105, 305, 410))


def test_choose_person_follows_by_overlap_and_restarts_on_the_best_score():
    boxes = np.array([[0, 0, 100, 200], [300, 0, 400, 200]], float)
    assert choose_person(boxes, np.array([0.2, 0.9]), previous=None) == 1
    assert choose_person(boxes, np.array([0.2, 0.9]), previous=np.array([5, 0, 105, 200.0])) == 0
    assert choose_person(boxes, np.array([0.2, 0.9]), previous=np.array([600, 0, 700, 200.0])) == 1  # followed one gone


def test_overflowing_raw_outputs_are_dropped_not_crashed_on():
    raw = raw_detections([(100, 100, 300, 400)], [0.9])
    raw[:50, 2:4] = 1e4  # exp() overflows to inf
    raw[:50, 4:6] = 1.0
    boxes, scores = decode_persons(raw, 1.0)
    assert np.isfinite(boxes).all() and np.allclose(boxes, [(100, 100, 300, 400)]) and np.allclose(scores, [0.9])
