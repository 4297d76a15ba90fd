"""The dataset builder on the real talk video, and the datasets the trainer reads."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from engine.errors import InputError
from engine.pose.keypoints import PoseSequence
from engine.train.dataset import FolderDataset, PuppetDataset, open_dataset
from engine.train.dataset_builder import FRAME_PATTERN, build_dataset, missing_fractions, resample_indices, upper_body_crop

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
TALK = SHARED / "data" / "ted" / "talk2.mp4"
SIZE = 128
FIRST, COUNT = 100, 30  # a short span of the talk keeps MediaPipe at a few seconds


def _write_video(path: Path, frames: list[np.ndarray], fps: int = 29) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """talk.mp4 (30 frames of talk2), hands_cut.mp4 (the same cropped so the hands are out), broken.mp4 (not a video)."""
    if not TALK.is_file():
        pytest.skip(f"shared test media not found at {TALK} (only present in the project's workspace)")
    from engine.video import reader

    videos = tmp_path_factory.mktemp("videos")
    frames = list(reader.iter_frames(TALK, FIRST, FIRST + COUNT))
    _write_video(videos / "talk.mp4", frames)
    _write_video(videos / "hands_cut.mp4", [f[0:224, 96:416] for f in frames[:15]])  # head and shoulders only
    (videos / "broken.mp4").write_bytes(b"this is not a video")
    (videos / "notes.txt").write_text("not a video either; ignored")
    out = tmp_path_factory.mktemp("dataset")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("engine.train.dataset")
    logger.addHandler(handler)
    events = []
    try:
        report = build_dataset(videos, out, size=SIZE, fps=20, on_event=events.append)
    finally:
        logger.removeHandler(handler)
    return dict(videos=videos, out=out, report=report, events=events, records=records, frames=frames)


def test_talk_becomes_a_square_20fps_upper_body_clip_with_its_poses(built):
    index = json.loads((built["out"] / "index.json").read_text())
    assert index["size"] == SIZE and index["fps"] == 20
    (clip,) = [c for c in index["clips"] if c["status"] == "kept"]
    assert clip["video"] == "talk.mp4"
    expected_frames = len(resample_indices(COUNT, 29, 20))
    assert clip["frames"] == expected_frames == 21  # 30 frames at 29 fps last ~1.03 s
    folder = built["out"] / clip["folder"]
    images = sorted(folder.glob("*.jpg"))
    assert len(images) == expected_frames and cv2.imread(str(images[0])).shape == (SIZE, SIZE, 3)
    poses = PoseSequence.load(folder / "poses.npz")
    assert len(poses) == expected_frames and poses.fps == 20 and (poses.width, poses.height) == (SIZE, SIZE)
    face, hands = missing_fractions(poses)
    assert face == 0 and hands <= 0.5
    # upper body: the face sits in the top half of the crop, the shoulders below it, all inside the frame
    face_y = np.median(poses.face[:, :, 1][poses.face[:, :, 2] > 0])
    shoulder_y = np.median(poses.body[:, [2, 5], 1])
    assert 0.1 < face_y < 0.4 and face_y + 0.1 < shoulder_y < 0.7
    # frame 10 at 20 fps is the talk's frame 15 (0.5 s), cropped to the stored box
    x0, y0, side = (round(v) for v in clip["crop"])
    assert side > SIZE and side == min(side, 512)
    expected = cv2.resize(built["frames"][15][y0:y0 + side, x0:x0 + side], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    stored = cv2.imread(str(folder / FRAME_PATTERN.format(10)))[:, :, ::-1].astype(np.float32)
    assert np.abs(stored - expected).mean() < 4
    assert np.abs(stored - expected).mean() < np.abs(stored - cv2.resize(built["frames"][0][y0:y0 + side, x0:x0 + side], (SIZE, SIZE))).mean()


def test_clip_without_hands_is_dropped_with_the_reason_logged(built):
    result = next(r for r in built["report"].results if r.video == "hands_cut.mp4")
    assert result.status == "dropped" and "hands are missing in 100%" in result.reason
    assert any(r.levelno == logging.WARNING and "hands_cut.mp4" in r.getMessage() and "hands" in r.getMessage() for r in built["records"])


def test_bad_file_is_reported_and_skipped(built):
    result = next(r for r in built["report"].results if r.video == "broken.mp4")
    assert result.status == "failed" and "broken.mp4 is not a readable video" in result.reason
    assert [r.video for r in built["report"].results] == ["broken.mp4", "hands_cut.mp4", "talk.mp4"]  # notes.txt ignored
    assert [e.kind for e in built["events"] if e.video == "broken.mp4"] == ["clip-started", "clip"]


def test_a_second_run_skips_finished_videos(built, monkeypatch):
    import engine.pose.extract

    def must_not_run(*args, **kwargs):
        raise AssertionError("extract_poses ran again for a finished video")

    (built["videos"] / "broken.mp4").unlink()
    monkeypatch.setattr(engine.pose.extract, "extract_poses", must_not_run)
    report = build_dataset(built["videos"], built["out"], size=SIZE, fps=20)
    assert [(r.video, r.status) for r in report.results] == [("hands_cut.mp4", "done before"), ("talk.mp4", "done before")]
    with pytest.raises(InputError, match="built at 128x128"):
        build_dataset(built["videos"], built["out"], size=256, fps=20)


def test_folder_dataset_pairs_two_frames_of_one_clip_deterministically(built):
    dataset = FolderDataset(built["out"], size=64, seed=3)
    first, again = dataset.item(5), dataset.item(5)
    assert all(np.array_equal(getattr(first, k), getattr(again, k)) for k in ("source", "target", "pose"))
    assert first.source.shape == first.target.shape == first.pose.shape == (64, 64, 3)
    assert not np.array_equal(first.source, first.target)  # two different frames
    assert first.pose.any() and (first.pose.reshape(-1, 3).max(axis=1) == 0).mean() > 0.5  # a skeleton on black
    pairs = {tuple(np.asarray(dataset.item(i).target[::8, ::8]).ravel()[:64]) for i in range(6)}
    assert len(pairs) > 1
    assert len(dataset) == 21


def test_resampling_picks_the_nearest_frame_in_time():
    assert resample_indices(30, 29, 20) == [int(np.floor(j * 29 / 20 + 0.5)) for j in range(21)]
    slower = resample_indices(10, 10, 20)  # 10 fps to 20 fps: frames repeat, none skipped
    assert slower[:5] == [0, 1, 1, 2, 2] and sorted(set(slower)) == list(range(10))
    assert resample_indices(0, 29, 20) == []


def test_crop_is_a_square_inside_the_frame_around_face_and_shoulders():
    body, face = np.zeros((3, 18, 3), np.float32), np.zeros((3, 68, 3), np.float32)
    body[:, 1] = (0.7, 0.5, 1)  # neck
    body[:, 2], body[:, 5] = (0.6, 0.5, 1), (0.8, 0.5, 1)  # shoulders 0.2 * 1000 px apart
    face[:, :, 0] = np.linspace(0.66, 0.74, 68)
    face[:, :, 1] = np.linspace(0.3, 0.4, 68)
    face[:, :, 2] = 1
    poses = PoseSequence(body, np.zeros((3, 2, 21, 3)), face, 25.0)
    box = upper_body_crop(poses, 1000, 800)
    assert box.side == pytest.approx(2.6 * 200) and box.x0 + box.side <= 1000 and box.y0 >= 0
    assert box.y0 < 0.3 * 800 and box.y0 + box.side > 0.5 * 800  # brows and shoulders inside
    nobody = PoseSequence(np.zeros((3, 18, 3)), np.zeros((3, 2, 21, 3)), np.zeros((3, 68, 3)), 25.0)
    assert upper_body_crop(nobody, 1000, 800) is None


def test_puppet_dataset_is_deterministic_and_drawn_at_size():
    dataset = open_dataset("puppets", 64, seed=1)
    assert isinstance(dataset, PuppetDataset)
    item, again, other = dataset.item(0), dataset.item(0), dataset.item(1)
    assert item.source.shape == item.target.shape == item.pose.shape == (64, 64, 3)
    assert np.array_equal(item.target, again.target) and np.array_equal(item.pose, again.pose)
    assert not np.array_equal(item.source, other.source)
    assert not np.array_equal(item.source, item.target) and item.pose.any()


def test_missing_or_empty_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="studio-cli dataset"):
        FolderDataset(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"size": 64, "fps": 20, "clips": [{"status": "dropped"}]}))
    with pytest.raises(InputError, match="no usable clips"):
        FolderDataset(tmp_path)
