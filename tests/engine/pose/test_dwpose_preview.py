"""The pose preview names the backend that made the poses (a label in the bottom-left corner)."""

from __future__ import annotations

import av
import numpy as np

from engine.pose.keypoints import Pose, PoseSequence
from engine.pose.preview import backend_label, write_pose_preview


def _first_frame(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def _empty_sequence(meta: dict) -> PoseSequence:
    return PoseSequence.from_poses([Pose.empty(), Pose.empty()], fps=10.0, meta=meta)


def test_label_drawn_from_meta_and_absent_without_it(tmp_path):
    labelled = _first_frame(write_pose_preview(_empty_sequence({"pose_backend": "dwpose"}), tmp_path / "a.mp4", 320, 240))
    plain = _first_frame(write_pose_preview(_empty_sequence({}), tmp_path / "b.mp4", 320, 240))
    ys, xs = np.nonzero(labelled.max(axis=2) > 16)
    assert ys.min() > 200 and xs.min() == 0 and xs.max() < 120  # only the bottom-left corner is drawn on
    assert labelled[ys, xs].max() > 200  # white text on the grey box
    assert plain.max() < 16


def test_backend_label_survives_the_pose_file(tmp_path):
    seq = _empty_sequence({"pose_backend": "mediapipe", "pose_provider": "CPU (MediaPipe)"})
    seq.save(tmp_path / "p.npz")
    loaded = PoseSequence.load(tmp_path / "p.npz")
    assert loaded.meta["pose_provider"] == "CPU (MediaPipe)" and backend_label(loaded) == "poses: mediapipe"
