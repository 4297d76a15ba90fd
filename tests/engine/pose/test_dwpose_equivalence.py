"""DWPose backend vs the official pre/post-processing, worked out here from first principles.

Small ONNX models with the real signatures return a constructed detector box and constructed SimCC
peaks; each keypoint must then land, in the ORIGINAL frame, where the official steps put it: the
detection resize (short side 512, multiples of 64), the letterbox ratio, the 1.25-padded box fixed
to 288:384, the affine crop and the split-ratio-2 SimCC decoding. Tolerance 0.5 px.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.pose.dwpose import DWPoseBackend
from engine.video import reader
from tests.engine.pose.conftest import TED
from tests.engine.pose.dwpose_fakes import (
    detection_frame_size, detector_model, expected_keypoints, marker_pose_model, pose_model, raw_detections, simcc_peaks, write_models,
)

# OpenPose-18 joint -> COCO-WholeBody body point, written out by name (mmpose -> OpenPose order)
OPENPOSE_FROM_COCO = {
    "nose": 0, "r_shoulder": 6, "r_elbow": 8, "r_wrist": 10, "l_shoulder": 5, "l_elbow": 7, "l_wrist": 9,
    "r_hip": 12, "r_knee": 14, "r_ankle": 16, "l_hip": 11, "l_knee": 13, "l_ankle": 15,
    "r_eye": 2, "l_eye": 1, "r_ear": 4, "l_ear": 3,
}
OPENPOSE_ORDER = ["nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
                  "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear"]
TOLERANCE_PX = 0.5


def _frames(name: str) -> list[np.ndarray]:
    if name == "talk2":
        video = TED / "talk2.mp4"
        if not video.is_file():
            pytest.skip(f"shared test media {video} is absent (it lives beside the repo in ../shared)")
        return [reader.read_frame(video, index) for index in (0, 40, 80)]
    rng = np.random.default_rng(0)
    # 1280x720 shrinks (area) to 896x512; 200x300 grows (Lanczos) to 512x768
    return [rng.integers(0, 256, (720, 1280, 3), np.uint8), rng.integers(0, 256, (300, 200, 3), np.uint8)]


def _bins():
    k = np.arange(133)
    return 60 + (k * 7) % 450, 90 + (k * 5) % 580  # every keypoint somewhere else inside the crop


@pytest.mark.parametrize("source", ["talk2", "synthetic"])
def test_keypoints_land_where_the_official_steps_put_them(tmp_path, source):
    box = (180.0, 90.0, 420.0, 560.0)
    x_bins, y_bins = _bins()
    peaks = np.full(133, 0.9, np.float32)
    folder = write_models(tmp_path, detector_model(raw_detections([box], [0.9])), pose_model(*simcc_peaks(x_bins, y_bins, peaks)))
    backend = DWPoseBackend(folder, device="cpu", batch_size=2)
    for frame in _frames(source):
        height, width = frame.shape[:2]
        pose = backend.detect([frame])[0]
        want = expected_keypoints((width, height), box, x_bins, y_bins)
        inside = (want[:, 0] > 1) & (want[:, 0] < width - 1) & (want[:, 1] > 1) & (want[:, 1] < height - 1)
        got = _as_133(pose, width, height)
        assert inside[23:].sum() > 50  # the check below covers many points
        for k in np.flatnonzero(inside[23:]) + 23:
            assert np.abs(got[k] - want[k]).max() <= TOLERANCE_PX, (k, got[k], want[k])
        body_px = pose.body[:, :2] * (width, height)
        for joint, name in enumerate(OPENPOSE_ORDER):
            expected = (want[5] + want[6]) / 2 if name == "neck" else want[OPENPOSE_FROM_COCO[name]]
            assert np.abs(body_px[joint] - expected).max() <= TOLERANCE_PX, name
        confidence = np.concatenate([pose.face[:, 2], pose.hands[0, :, 2], pose.hands[1, :, 2]])
        assert np.allclose(confidence[inside[23:]], 0.9)
        outside = (want[23:, 0] < -1) | (want[23:, 0] > width + 1) | (want[23:, 1] < -1) | (want[23:, 1] > height + 1)
        assert (confidence[outside] == 0).all()  # past the frame: not found, as in the MediaPipe files


def _as_133(pose, width, height) -> np.ndarray:
    """Face and hands back at their COCO-WholeBody indices (23..90 face, 91..111 left, 112..132 right), in pixels."""
    points = np.full((133, 2), np.nan)  # 0..22: body and feet, checked through the OpenPose names
    points[23:91] = pose.face[:, :2] * (width, height)
    points[91:112] = pose.hands[0, :, :2] * (width, height)
    points[112:133] = pose.hands[1, :, :2] * (width, height)
    return points


def test_scores_at_or_under_the_visibility_threshold_are_not_stored(tmp_path):
    x_bins, y_bins = _bins()
    peaks = np.full(133, 0.9, np.float32)
    peaks[[0, 6, 30, 95, 120]] = 0.29  # nose, right shoulder (so no neck), a face point, one point of each hand
    folder = write_models(tmp_path, detector_model(raw_detections([(250, 200, 350, 350)], [0.9])), pose_model(*simcc_peaks(x_bins, y_bins, peaks)))
    pose = DWPoseBackend(folder, device="cpu").detect([np.zeros((480, 640, 3), np.uint8)])[0]
    assert not pose.body[0].any() and not pose.body[2].any() and not pose.body[1].any()  # nose, r_shoulder, neck
    assert pose.body[5, 2] == pytest.approx(0.9)  # l_shoulder stays
    assert not pose.face[30 - 23].any() and not pose.hands[0, 95 - 91].any() and not pose.hands[1, 120 - 112].any()
    assert (pose.face[:, 2] > 0).sum() == 67 and (pose.hands[:, :, 2] > 0).sum() == 40


def test_the_crop_is_the_padded_box_a_marker_is_found_where_it_was_drawn(tmp_path):
    """A pose model that puts every keypoint on the crop's brightest column/row finds a white dot."""
    frame = np.zeros((720, 1280, 3), np.uint8)
    dot = (701, 377)  # x, y in the frame
    frame[dot[1] - 1:dot[1] + 2, dot[0] - 1:dot[0] + 2] = 255
    det_w, det_h = detection_frame_size(1280, 720)
    ratio = min(640 / det_h, 640 / det_w)
    box = np.array([560, 180, 860, 640]) * det_w / 1280 * ratio  # around the dot, in input pixels
    folder = write_models(tmp_path, detector_model(raw_detections([tuple(box)], [0.9])), marker_pose_model())
    pose = DWPoseBackend(folder, device="cpu").detect([frame])[0]
    # one SimCC bin (half a crop pixel) plus the blur of resizing a 3-pixel dot, in frame pixels
    crop_px = 1.25 * (box[3] - box[1]) / ratio / 384 * 1280 / det_w
    found = pose.body[0, :2] * (1280, 720)
    assert np.abs(found - dot).max() <= 1.5 * crop_px, (found, dot, crop_px)
