"""DRIVING inputs: pose videos, pose files and videos through one entry point; the pose preview."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.errors import InputError, OutputError
from engine.pose import extract
from engine.pose.draw import BODY_COLORS, draw_pose
from engine.pose.driving import open_driving
from engine.pose.keypoints import Pose, PoseSequence
from engine.pose.posevideo import fit_image, iter_pose_video, looks_like_pose_video
from engine.pose.preview import write_pose_preview
from engine.video import reader
from tests.engine.pose.conftest import require_shared, synthetic_pose, write_video


def _sequence(frames: int = 5, width: int = 64, height: int = 48) -> PoseSequence:
    poses = []
    for t in range(frames):
        pose = synthetic_pose(centre=(0.5, 0.3), size=0.15)
        pose.body[..., 0] += 0.01 * t
        poses.append(pose)
    return PoseSequence.from_poses(poses, fps=20.0, width=width, height=height)


def _decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_real_pose_video_is_recognised_and_real_video_is_not():
    assert looks_like_pose_video(require_shared("talk2_dwpose.mp4"))
    assert not looks_like_pose_video(require_shared("talk2.mp4"))


def test_synthetic_pose_and_plain_videos(tmp_path):
    seq = _sequence(frames=4, width=128, height=96)
    drawn = write_video(tmp_path / "drawn.mp4", [draw_pose(seq[i], 128, 96) for i in range(4)])
    grey = write_video(tmp_path / "grey.mp4", [np.full((96, 128, 3), 90, np.uint8)] * 4)
    black = write_video(tmp_path / "black.mp4", [np.zeros((96, 128, 3), np.uint8)] * 4)
    assert looks_like_pose_video(drawn)
    assert not looks_like_pose_video(grey)
    assert not looks_like_pose_video(black)  # nothing drawn in any frame: not a pose video


def test_open_official_pose_video_used_as_is():
    path = require_shared("talk2_dwpose.mp4")
    driving = open_driving(path, align_to=synthetic_pose(), smooth=1.0)
    assert driving.kind == "pose_video" and driving.poses is None
    assert driving.fps == pytest.approx(29.0) and driving.frames == 699
    assert any("used as is" in w for w in driving.warnings)
    image = driving.pose_image(100, 256, 256)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, fit_image(reader.read_frame(path, 100), 256, 256))
    frames = list(driving.iter_pose_images(320, 256, start=10, end=13))
    assert len(frames) == 3 and frames[0].shape == (256, 320, 3)
    assert not frames[0][:, :32].any() and not frames[0][:, -32:].any()  # square video centred: black side bands
    np.testing.assert_array_equal(frames[0], next(iter_pose_video(path, 320, 256, start=10, end=11)))


def test_open_pose_file(tmp_path):
    seq = _sequence()
    path = tmp_path / "motion.npz"
    seq.save(path)
    driving = open_driving(path)
    assert driving.kind == "poses" and driving.frames == 5 and driving.fps == 20.0
    np.testing.assert_array_equal(driving.pose_image(2, 64, 48), draw_pose(seq[2], 64, 48))
    images = list(driving.iter_pose_images(64, 48))
    assert len(images) == 5 and all(np.array_equal(images[i], draw_pose(seq[i], 64, 48)) for i in range(5))
    with pytest.raises(InputError, match="frame 5"):
        driving.pose_image(5, 64, 48)


def test_pose_file_drawn_at_another_aspect_is_letterboxed(tmp_path):
    pose = Pose.empty()
    pose.body[1] = (0.5, 0.5, 1.0)
    pose.body[4] = (0.0, 0.5, 1.0)
    seq = PoseSequence.from_poses([pose], fps=25.0, width=200, height=100)  # a 2:1 driver
    path = tmp_path / "wide.npz"
    seq.save(path)
    image = open_driving(path).pose_image(0, 100, 100)
    assert tuple(image[50, 50]) == BODY_COLORS[1]  # the centre stays the centre
    assert tuple(image[50, 2]) == BODY_COLORS[4]  # the left edge stays the left edge, not squeezed
    assert not image[:20].any() and not image[-20:].any()  # black bands above and below


def test_open_video_extracts_smooths_and_aligns(tmp_path, monkeypatch):
    from tests.engine.pose.test_pose_extract import FakeHolistic, _person

    FakeHolistic.made = FakeHolistic.processed = 0
    monkeypatch.setattr(extract, "_make_holistic", lambda static_image_mode: FakeHolistic(lambda i: _person()))
    video = write_video(tmp_path / "talk.mp4", [np.full((48, 64, 3), 80, np.uint8)] * 5)
    progress = []
    source = synthetic_pose(centre=(0.3, 0.3), size=0.1)
    driving = open_driving(video, cache_dir=tmp_path / "cache", align_to=source, on_progress=lambda d, t: progress.append(d))
    assert driving.kind == "video" and driving.frames == 5 and driving.fps == pytest.approx(25.0)
    assert progress == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(driving.poses.body[0, 1, :2], source.body[1, :2], atol=1e-6)  # aligned neck
    assert driving.pose_image(0, 64, 48).shape == (48, 64, 3)
    again = open_driving(video, cache_dir=tmp_path / "cache")
    assert FakeHolistic.made == 1 and again.poses.meta["from_cache"]


@pytest.mark.parametrize("name, content", [("face.png", None), ("notes.txt", b"hello"), ("clip.mp4", b"\x00" * 100)])
def test_bad_driving_inputs(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        import cv2

        cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(InputError) as error:
        open_driving(path)
    message = str(error.value)
    assert name in message and "\n" not in message
    if name != "clip.mp4":  # a damaged .mp4 gets the reader's own explanation instead
        assert "the driving input must be a video" in message
    with pytest.raises(InputError, match="not found"):
        open_driving(tmp_path / "absent.mp4")


def test_preview_writes_pose_video(tmp_path):
    seq = _sequence(frames=6, width=64, height=48)
    out = write_pose_preview(seq, tmp_path / "preview" / "poses.mp4", 64, 48)
    frames = _decode(out)
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == 20
    expected = draw_pose(seq[3], 64, 48).astype(int)
    assert np.abs(frames[3].astype(int) - expected).mean() < 6  # the drawing, up to H.264 loss
    assert not list(tmp_path.glob("preview/*.partial*"))


def test_preview_over_video_and_odd_size(tmp_path):
    seq = _sequence(frames=4, width=64, height=48)
    background = write_video(tmp_path / "bg.mp4", [np.full((48, 64, 3), 200, np.uint8)] * 3)  # shorter than seq
    frames = _decode(write_pose_preview(seq, tmp_path / "over.mp4", 65, 49, over_video=background))
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3)  # odd sizes rounded down to even
    assert abs(int(frames[0][2, 2, 0]) - 200) < 8  # the driving frame shows where nothing is drawn
    assert frames[3][2, 2].max() < 8  # past the video's end: black


def test_preview_to_unwritable_place_is_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="pose preview"):
        write_pose_preview(_sequence(), blocker / "sub" / "p.mp4", 64, 48)
