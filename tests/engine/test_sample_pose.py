"""engine.sample_pose: the bundled puppet's known pose, and only for the unedited sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.sample_pose import known_source_pose
from engine.video.reader import read_image

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
pytestmark = pytest.mark.skipif(not (SAMPLES / "source.png").is_file(),
                                reason="the bundled samples (resources/samples) are not installed")


def test_the_bundled_source_has_its_puppets_pose():
    image = read_image(SAMPLES / "source.png")
    pose = known_source_pose(SAMPLES / "source.png", image)
    assert pose is not None and pose.has_person
    assert (pose.face[:, 2] > 0).sum() > 10, "the face keypoints are known too"
    assert ((pose.body[:, :2] >= 0) & (pose.body[:, :2] <= 1)).all(), "normalised like detect_image"


def test_an_edited_renamed_or_moved_picture_is_not_the_sample(tmp_path):
    image = read_image(SAMPLES / "source.png")
    edited = image.copy()
    edited[:20, :20] = 255 - edited[:20, :20]
    assert known_source_pose(SAMPLES / "source.png", edited) is None
    folder = tmp_path / "samples"
    folder.mkdir()
    shutil.copy(SAMPLES / "source.png", folder / "portrait.png")
    assert known_source_pose(folder / "portrait.png", image) is None  # not the sample's name
    shutil.copy(SAMPLES / "source.png", folder / "source.png")
    assert known_source_pose(folder / "source.png", image) is None  # no samples.json beside it
    assert known_source_pose(SAMPLES / "source.png", np.zeros((64, 64, 3), np.uint8)) is None


# --- the sample driving video's shipped poses ------------------------------------------------------

def test_the_bundled_driving_video_gets_its_shipped_poses():
    from engine.pose.keypoints import PoseSequence
    from engine.sample_pose import known_driving_poses
    from engine.video.reader import video_fingerprint

    poses = known_driving_poses(SAMPLES / "driving.mp4")
    shipped = PoseSequence.load(SAMPLES / "driving_poses.npz")
    assert poses is not None and len(poses) == len(shipped) == 240
    assert np.array_equal(poses.body, shipped.body) and np.array_equal(poses.face, shipped.face)
    assert poses.fingerprint == video_fingerprint(SAMPLES / "driving.mp4") and poses.meta["pose_backend"] == "sample"


def test_any_other_video_beside_the_shipped_poses_gets_none(tmp_path):
    from engine.puppets.samples import write_samples
    from engine.sample_pose import known_driving_poses

    write_samples(tmp_path / "mine", seconds=0.5, fps=10, size=32)  # a real, playable video of its own
    assert known_driving_poses(tmp_path / "mine" / "driving.mp4") is not None, "the generator records the fingerprint"
    for name in ("driving_poses.npz", "samples.json"):
        shutil.copy(SAMPLES / name, tmp_path / "mine" / name)
    assert known_driving_poses(tmp_path / "mine" / "driving.mp4") is None
    moved = tmp_path / "copy"
    shutil.copytree(SAMPLES, moved)
    (moved / "driving.mp4").rename(moved / "renamed.mp4")
    assert known_driving_poses(moved / "renamed.mp4") is not None, "the content decides, not the name or place"
    with (moved / "renamed.mp4").open("ab") as handle:
        handle.write(b"\0")
    assert known_driving_poses(moved / "renamed.mp4") is None
    (moved / "samples.json").unlink()
    shutil.copy(SAMPLES / "driving.mp4", moved / "driving.mp4")
    assert known_driving_poses(moved / "driving.mp4") is None, "only inside a samples folder"


def test_the_preview_and_the_render_use_the_shipped_poses_without_a_detector(monkeypatch):
    import engine.pose.streamed_driving as streamed
    from engine.pose.driving import open_driving
    from engine.preview import driving_frame, open_preview, pose_backend_of, preview_overlay, preview_progress

    def no_detector(*args, **kwargs):
        raise AssertionError("the sample's poses were analysed by a detector")

    monkeypatch.setattr(streamed, "open_preview", no_detector)
    monkeypatch.setattr(streamed, "open_streamed", no_detector)
    handle = open_preview(SAMPLES / "driving.mp4")
    assert preview_progress(handle) == (240, 240, True) and pose_backend_of(handle) == "sample"
    frame = driving_frame(SAMPLES / "driving.mp4", 10)
    drawn = preview_overlay(frame, handle, 10)
    assert drawn.shape == frame.shape and 0.001 < np.any(drawn != frame, axis=2).mean() < 0.5
    driving = open_driving(SAMPLES / "driving.mp4", stream=True)  # as RenderJob.driving opens it
    assert driving.frames == 240 and driving.pose_image(10, 64, 64).any()


def test_other_videos_still_stream_their_analysis(tmp_path, monkeypatch):
    import engine.pose.streamed_driving as streamed
    from engine.preview import open_preview
    from engine.puppets.samples import write_samples

    write_samples(tmp_path, seconds=0.5, fps=10, size=32)
    (tmp_path / "driving_poses.npz").unlink()
    opened = []
    monkeypatch.setattr(streamed, "open_preview", lambda video, cache_dir, **kwargs: opened.append(video) or "stream")
    assert open_preview(tmp_path / "driving.mp4", tmp_path / "cache") == "stream" and opened == [tmp_path / "driving.mp4"]
