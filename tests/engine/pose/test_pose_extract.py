"""MediaPipe Holistic extraction: real media, the keypoint file, caching and bad inputs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, InputError
from engine.pose import extract
from engine.pose.extract import detect_image, extract_poses
from engine.pose.keypoints import PoseSequence
from engine.video import reader
from tests.engine.pose.conftest import CLIP_FRAMES, write_video


# ----------------------------------------------------------------------------- real video


def test_talk_clip_finds_body_face_and_hands(talk_poses):
    seq = talk_poses.seq
    assert len(seq) == CLIP_FRAMES
    assert (seq.width, seq.height) == (512, 512)
    assert seq.fps == pytest.approx(29.0)
    body_found = (seq.body[:, 1, 2] > 0.5).mean()
    face_found = (seq.face[:, :, 2] > 0).all(axis=1).mean()
    assert body_found >= 0.95 and face_found >= 0.95
    for side in range(2):  # both hands are in view throughout these frames
        assert (seq.hands[:, side, :, 2] > 0).any(axis=1).mean() >= 0.8
    assert seq.meta["frames_without_person"] == 0
    assert talk_poses.progress[-1] == (CLIP_FRAMES, CLIP_FRAMES)
    assert [done for done, _ in talk_poses.progress] == list(range(1, CLIP_FRAMES + 1))


def test_hands_are_ordered_left_right_like_the_body(talk_poses):
    """hands[0] is the person's left hand: its wrist sits at the body's left wrist (joint 7)."""
    seq = talk_poses.seq
    for side, body_wrist in ((0, 7), (1, 4)):
        both = (seq.hands[:, side, 0, 2] > 0) & (seq.body[:, body_wrist, 2] > 0.5)
        gap = np.linalg.norm(seq.hands[both, side, 0, :2] - seq.body[both, body_wrist, :2], axis=1)
        assert both.sum() > 10 and np.median(gap) < 0.04
    # the person faces the camera: their left hand is on the right of the picture
    assert np.median(seq.hands[:, 0, 0, 0][seq.hands[:, 0, 0, 2] > 0]) > 0.5


def test_pose_file_keys_shapes_and_ranges(talk_poses, tmp_path):
    seq = talk_poses.seq
    path = tmp_path / "poses.npz"
    seq.save(path)
    with np.load(path) as data:
        assert {"body", "hands", "face", "fps"} <= set(data.files)
        assert data["body"].shape == (CLIP_FRAMES, 18, 3)
        assert data["hands"].shape == (CLIP_FRAMES, 2, 21, 3)
        assert data["face"].shape == (CLIP_FRAMES, 68, 3)
        assert float(data["fps"]) == pytest.approx(29.0)
        for name in ("body", "hands", "face"):
            array = data[name]
            assert array.dtype == np.float32
            assert array.min() >= 0.0 and array.max() <= 1.0
            missing = array[..., 2] == 0
            assert not array[missing][:, :2].any()  # not found: all zeros
    assert np.array_equal(PoseSequence.load(path).face, seq.face)


def test_cached_second_call_does_not_run_mediapipe(talk_poses, talk_clip, monkeypatch):
    def forbidden(static_image_mode):
        raise AssertionError("MediaPipe was called although the cache holds this video")

    monkeypatch.setattr(extract, "_make_holistic", forbidden)
    assert len(list(talk_poses.cache.glob(f"{reader.video_fingerprint(talk_clip)}.mediapipe-*.npz"))) == 1
    again = extract_poses(talk_clip, cache_dir=talk_poses.cache)
    assert again.meta["from_cache"] is True
    assert np.array_equal(again.body, talk_poses.seq.body) and np.array_equal(again.hands, talk_poses.seq.hands)
    assert again.fps == talk_poses.seq.fps and again.fingerprint == talk_poses.seq.fingerprint
    smoothed = extract_poses(talk_clip, cache_dir=talk_poses.cache, smooth=1.0)
    assert not np.array_equal(smoothed.body, again.body) and smoothed.meta["smoothing"] == 1.0


def test_astronaut_photo():
    from skimage import data

    image = data.astronaut()
    pose = detect_image(image)
    body = pose.body
    assert body[0, 2] > 0.5 and body[1, 2] > 0.5 and body[2, 2] > 0.5 and body[5, 2] > 0.5
    assert body[0, 1] < body[1, 1]  # nose above the neck
    assert body[2, 0] < body[1, 0] < body[5, 0]  # right shoulder left of the neck, left shoulder right
    # an independent face box (OpenCV's Haar detector), grown by a quarter for the jaw line
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    (x, y, w, h), = cascade.detectMultiScale(gray, 1.1, 5)
    x0, y0, x1, y1 = (x - w / 4) / 512, (y - h / 4) / 512, (x + 1.25 * w) / 512, (y + 1.25 * h) / 512
    face = pose.face
    assert (face[:, 2] > 0).all()
    assert ((face[:, 0] > x0) & (face[:, 0] < x1) & (face[:, 1] > y0) & (face[:, 1] < y1)).all()
    assert face[8, 1] > face[30, 1] > face[27, 1]  # chin below nose tip below nose bridge
    assert face[36, 0] < face[45, 0]  # the person's right eye corner is on the image left


def test_detect_image_on_empty_picture_finds_nobody():
    pose = detect_image(np.full((120, 160, 3), 128, np.uint8))
    assert not pose.has_person and not pose.hands.any()


# ----------------------------------------------------------------------------- with a fake MediaPipe


def _landmarks(points):
    return SimpleNamespace(landmark=[SimpleNamespace(x=x, y=y, z=0.0, visibility=v) for x, y, v in points])


def _person(shift: float = 0.0):
    body = [(0.4 + 0.2 * i / 33 + shift, 0.2 + 0.6 * i / 33, 0.9) for i in range(33)]
    body[28] = (0.5, 1.3, 0.9)  # the right ankle, guessed below the picture
    hand = [(0.6 + 0.005 * i, 0.6, 1.0) for i in range(21)]
    face = [(0.45 + 0.1 * (i % 20) / 20, 0.1 + 0.1 * (i // 20) / 24, 1.0) for i in range(468)]
    return SimpleNamespace(
        pose_landmarks=_landmarks(body), left_hand_landmarks=_landmarks(hand),
        right_hand_landmarks=None, face_landmarks=_landmarks(face),
    )


NOBODY = SimpleNamespace(pose_landmarks=None, left_hand_landmarks=None, right_hand_landmarks=None, face_landmarks=None)


class FakeHolistic:
    """Answers per call from a script; counts detectors made and frames processed."""

    made = 0
    processed = 0

    def __init__(self, script):
        self.script = script
        FakeHolistic.made += 1

    def process(self, image):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.flags.c_contiguous
        FakeHolistic.processed += 1
        return self.script(FakeHolistic.processed - 1)

    def close(self):
        pass


@pytest.fixture
def fake_mediapipe(monkeypatch):
    FakeHolistic.made = FakeHolistic.processed = 0
    state = SimpleNamespace(script=lambda i: _person())
    monkeypatch.setattr(extract, "_make_holistic", lambda static_image_mode: FakeHolistic(state.script))
    return state


def _small_video(path: Path, frames: int = 6, level: int = 60) -> Path:
    return write_video(path, [np.full((48, 64, 3), level + 10 * i, np.uint8) for i in range(frames)])


def test_mapping_from_mediapipe_indices(fake_mediapipe, tmp_path):
    seq = extract_poses(_small_video(tmp_path / "v.mp4", frames=2))
    first = _person()
    body = first.pose_landmarks.landmark
    np.testing.assert_allclose(seq.body[0, 0, :2], (body[0].x, body[0].y), atol=1e-6)  # nose
    np.testing.assert_allclose(seq.body[0, 1, :2], ((body[11].x + body[12].x) / 2, (body[11].y + body[12].y) / 2), atol=1e-6)
    np.testing.assert_allclose(seq.body[0, 2, :2], (body[12].x, body[12].y), atol=1e-6)  # right shoulder = MP 12
    np.testing.assert_allclose(seq.body[0, 17, :2], (body[7].x, body[7].y), atol=1e-6)  # left ear = MP 7
    assert seq.body[0, 10, 2] == 0  # MP 28 lies below the frame (y > 1): not found
    face = first.face_landmarks.landmark
    np.testing.assert_allclose(seq.face[0, 8, :2], (face[152].x, face[152].y), atol=1e-6)  # chin
    np.testing.assert_allclose(seq.face[0, 27, 0], (face[168].x + face[6].x) / 2, atol=1e-6)
    assert (seq.hands[0, 0, :, 2] == 1).all() and not seq.hands[0, 1].any()  # left found, right not


def test_cache_invalidated_by_a_changed_video(fake_mediapipe, tmp_path):
    cache = tmp_path / "cache"
    video = _small_video(tmp_path / "v.mp4")
    first = extract_poses(video, cache_dir=cache)
    assert FakeHolistic.made == 1 and FakeHolistic.processed == 6
    extract_poses(video, cache_dir=cache)
    assert FakeHolistic.made == 1  # served from the cache
    fake_mediapipe.script = lambda i: _person(shift=0.05)
    _small_video(video, frames=7, level=90)  # same name, new content
    second = extract_poses(video, cache_dir=cache)
    assert FakeHolistic.made == 2 and len(second) == 7
    assert second.fingerprint != first.fingerprint
    assert len(list(cache.glob("*.npz"))) == 2
    next(cache.glob(f"{second.fingerprint}.*.npz")).write_bytes(b"garbage")  # a damaged cache is recomputed
    assert len(extract_poses(video, cache_dir=cache)) == 7 and FakeHolistic.made == 3


def test_frames_without_person_are_kept_and_counted(fake_mediapipe, tmp_path):
    fake_mediapipe.script = lambda i: NOBODY if i in (1, 2, 4) else _person()
    seq = extract_poses(_small_video(tmp_path / "v.mp4"))
    assert len(seq) == 6 and seq.meta["frames_without_person"] == 3
    assert not seq.body[[1, 2, 4]].any() and seq.body[[0, 3, 5], 1, 2].min() > 0


def test_no_person_at_all_is_a_clear_error(tmp_path):
    video = _small_video(tmp_path / "empty_stage.mp4", frames=4)  # real MediaPipe on grey frames
    with pytest.raises(InputError, match=r"no person found in empty_stage\.mp4"):
        extract_poses(video)


def test_cancel_stops_extraction(fake_mediapipe, tmp_path):
    token = CancelToken()
    fake_mediapipe.script = lambda i: (token.cancel(), _person())[1] if i == 2 else _person()
    with pytest.raises(Cancelled):
        extract_poses(_small_video(tmp_path / "v.mp4"), cancel=token)
    assert FakeHolistic.processed == 3


def test_bad_files_are_input_errors(fake_mediapipe, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(InputError, match="notes.mp4"):
        extract_poses(text)
    good = _small_video(tmp_path / "good.mp4", frames=20)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated.mp4"):
        extract_poses(truncated)
    with pytest.raises(InputError, match="not found"):
        extract_poses(tmp_path / "missing.mp4")
    assert FakeHolistic.processed == 0


def test_zero_frame_video_is_an_input_error(fake_mediapipe, tmp_path):
    import av

    empty = tmp_path / "zero.mp4"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    with pytest.raises(InputError, match="zero.mp4"):
        extract_poses(empty)
