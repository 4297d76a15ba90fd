"""Streamed analysis: renders that analyse the driving video alongside equal renders from a full pose cache.

MediaPipe is replaced by a fake that tracks like the real one (its answer depends on how many
frames it has seen since it was made), so a resume that restarted the tracker anywhere but at a
chunk boundary would give different keypoints, and these tests would see different pixels.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.config import RenderSettings
from engine.errors import Cancelled, InputError
from engine.events import Analysis, Done, FrameReady, Message
from engine.jobs import TINY_MODEL, RenderJob
from engine.pose import extract
from engine.pose.keypoints import PoseSequence
from engine.pose.smooth import PoseSmoother, smooth_sequence
from engine.video import FrameStore

REPO = Path(__file__).resolve().parents[2]
SETTINGS = RenderSettings(steps=1, width=32, height=32, device="cpu", dtype="fp32", seed=5)
FRAMES = 20
CHUNK = 4
NOBODY_AT = {0, 1, 9}  # frames of the driving video where the fake finds nobody
STREAM_THREADS = ("pose-stream", "frame-writer")


class TrackingHolistic:
    """A stand-in for MediaPipe Holistic: a person whose pose follows the frame's brightness and
    drifts with the number of frames this detector has seen (MediaPipe's tracking state)."""

    delay_s = 0.0

    def __init__(self, static_image_mode: bool = False):
        self.seen = 0

    def process(self, image):
        time.sleep(TrackingHolistic.delay_s)
        self.seen += 1
        level = float(image.mean()) / 255.0
        if level < 0.05:  # the black frames of the driving video: nobody there
            return SimpleNamespace(pose_landmarks=None, left_hand_landmarks=None, right_hand_landmarks=None,
                                   face_landmarks=None)
        shift = 0.01 * (self.seen % 5) + 0.2 * level

        def points(count, x0, y0, step):
            return SimpleNamespace(landmark=[SimpleNamespace(x=x0 + shift + step * (i % 7), y=y0 + step * (i // 7),
                                                             visibility=0.9) for i in range(count)])

        return SimpleNamespace(pose_landmarks=points(33, 0.2, 0.2, 0.03), left_hand_landmarks=points(21, 0.5, 0.6, 0.01),
                               right_hand_landmarks=None, face_landmarks=points(468, 0.4, 0.1, 0.0005))

    def close(self):
        pass


def install_fake_mediapipe(delay_s: float = 0.0, chunk: int = CHUNK) -> None:
    """Used by this module and by its child processes (which cannot share pytest's monkeypatch)."""
    from engine.pose import stream

    TrackingHolistic.delay_s = delay_s
    extract._make_holistic = TrackingHolistic
    stream.CHUNK_FRAMES = chunk


@pytest.fixture
def fake_mediapipe(monkeypatch):
    from engine.pose import stream

    monkeypatch.setattr(extract, "_make_holistic", TrackingHolistic)
    monkeypatch.setattr(stream, "CHUNK_FRAMES", CHUNK)
    monkeypatch.setattr(TrackingHolistic, "delay_s", 0.0)


def _write_video(path: Path, frames: int = FRAMES) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "qp": "0"}
        for index in range(frames):
            level = 0 if index in NOBODY_AT else 60 + 7 * index
            image = np.full((32, 32, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def inputs(tmp_path) -> tuple[Path, Path]:
    source = tmp_path / "source.png"
    cv2.imwrite(str(source), np.random.default_rng(1).integers(40, 256, (64, 64, 3), dtype=np.uint8))
    return source, _write_video(tmp_path / "talk.mp4")


def _job(work_dir: Path, inputs, smooth: float = 1.0) -> RenderJob:
    return RenderJob.create(work_dir, *inputs, SETTINGS, model=TINY_MODEL, align=True, smooth=smooth)


def _render(job: RenderJob, cancel_after: int | None = None) -> list:
    cancel = CancelToken()
    events = []
    try:
        for event in job.run(cancel):
            events.append(event)
            if cancel_after is not None and sum(isinstance(e, FrameReady) for e in events) == cancel_after:
                cancel.cancel()
    finally:
        job.release()  # another job object (or process) may open the work dir next
    return events


def _consolidated(poses: Path) -> list[Path]:
    return [p for p in poses.glob("*.mediapipe-*.npz") if ".part-" not in p.name]


def _frames(work_dir: Path) -> list[np.ndarray]:
    return list(FrameStore(work_dir).iter_frames())


def _stream_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in STREAM_THREADS]


def test_streamed_smoothing_is_the_batch_smoothing():
    seq = PoseSequence.load(REPO / "resources" / "samples" / "driving_poses.npz")
    batch = smooth_sequence(seq, 1.5)
    smoother = PoseSmoother(1.5, seq.fps)
    for index in range(len(seq)):
        pose = smoother.step(seq[index])
        assert np.array_equal(pose.body, batch.body[index]) and np.array_equal(pose.face, batch.face[index])
        assert np.array_equal(pose.hands, batch.hands[index])


def test_streamed_render_equals_a_render_from_the_full_pose_cache(tmp_path, inputs, fake_mediapipe):
    from engine.pose.driving import open_driving

    streamed = _job(tmp_path / "streamed", inputs)
    events = _render(streamed)
    assert [e.index for e in events if isinstance(e, FrameReady)] == list(range(FRAMES))
    analysis = [e for e in events if isinstance(e, Analysis)]
    assert analysis and analysis[-1] == Analysis(FRAMES, FRAMES)
    warnings = [e.text for e in events if isinstance(e, Message) and e.level == "warning"]
    assert warnings == [f"no person found in {len(NOBODY_AT)} of {FRAMES} driving frames; they are left blank"]
    assert isinstance(events[-1], Done) and events[-1].frames == FRAMES
    poses = sorted(p.name for p in (tmp_path / "streamed" / "poses").iterdir())
    assert len(poses) == 2 and "alignment-reference.npz" in poses  # chunks became one consolidated cache
    assert not _stream_threads()

    cached = _job(tmp_path / "cached", inputs)
    (tmp_path / "cached" / "poses").mkdir()
    shutil.copy(next(p for p in (tmp_path / "streamed" / "poses").iterdir() if "mediapipe" in p.name),
                tmp_path / "cached" / "poses")
    TrackingHolistic.delay_s = 10.0  # a detector call now would stall the test: all poses must come from the cache
    _render(cached)
    for a, b in zip(_frames(tmp_path / "streamed"), _frames(tmp_path / "cached"), strict=True):
        assert np.array_equal(a, b)

    # the batch path (whole sequence smoothed, then aligned) draws the very same pose images
    source = cached.source_image()
    batch = open_driving(inputs[1], cache_dir=tmp_path / "cached" / "poses", align_to=extract.detect_image(source),
                         smooth=1.0, source_aspect=1.0)
    stream = cached.driving()
    for index in range(FRAMES):
        assert np.array_equal(stream.pose_image(index, 32, 32), batch.pose_image(index, 32, 32)), index
    stream.close()


def test_cancel_stops_the_analysis_and_the_writer_and_keeps_the_frames(tmp_path, inputs, fake_mediapipe):
    TrackingHolistic.delay_s = 0.05  # analysis slower than the render: it is mid-video when cancelled
    before = set(threading.enumerate())
    job = _job(tmp_path / "job", inputs)
    with pytest.raises(Cancelled):
        _render(job, cancel_after=3)
    assert set(threading.enumerate()) - before == set() and not _stream_threads()
    kept = FrameStore(tmp_path / "job").complete_count()
    assert kept >= 3 and not _consolidated(tmp_path / "job" / "poses")  # cancelled mid-video

    TrackingHolistic.delay_s = 0.0
    _render(RenderJob.open(tmp_path / "job"))
    reference = _job(tmp_path / "reference", inputs)
    _render(reference)
    for a, b in zip(_frames(tmp_path / "job"), _frames(tmp_path / "reference"), strict=True):
        assert np.array_equal(a, b)


def test_a_video_shorter_than_its_header_says_renders_the_frames_it_has(tmp_path, inputs, fake_mediapipe, monkeypatch):
    import dataclasses

    from engine.pose import stream

    real_probe = stream.reader.probe
    monkeypatch.setattr(stream.reader, "probe", lambda path: dataclasses.replace(real_probe(path), frame_count=FRAMES + 7))
    job = _job(tmp_path / "job", inputs, smooth=0.0)
    events = _render(job)
    assert [e.index for e in events if isinstance(e, FrameReady)] == list(range(FRAMES))
    assert events[-1].frames == FRAMES and job.frames_on_disk == FRAMES


def test_a_video_without_anybody_fails_before_any_frame_as_before(tmp_path, fake_mediapipe):
    from engine.jobs import analyse_driving
    from engine.inputs import inspect_driving

    source = tmp_path / "source.png"
    cv2.imwrite(str(source), np.full((64, 64, 3), 200, np.uint8))
    dark = tmp_path / "dark.mp4"
    global NOBODY_AT
    saved, NOBODY_AT = NOBODY_AT, set(range(6))
    try:
        _write_video(dark, frames=6)
    finally:
        NOBODY_AT = saved
    message = "no person found in dark.mp4: none of its 6 frames shows a body or a face"
    with pytest.raises(InputError, match=message):
        analyse_driving(inspect_driving(dark), tmp_path / "first")
    job = RenderJob.create(tmp_path / "job", source, dark, SETTINGS, model=TINY_MODEL)
    with pytest.raises(InputError, match=message):
        _render(job)
    assert FrameStore(tmp_path / "job").indices() == [] and not _stream_threads()


# A child render with the fake analysis: slow enough that a kill lands mid-video.
CHILD = """
import sys, time
from tests.engine.test_streaming import install_fake_mediapipe
from engine.events import FrameReady
from engine.jobs import RenderJob
install_fake_mediapipe(delay_s=float(sys.argv[2]))
for event in RenderJob.open(sys.argv[1]).run():
    pass
"""


def _child(work_dir: Path, delay_s: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(work_dir), str(delay_s)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_a_kill_during_the_stream_then_resume_is_bit_identical(tmp_path, inputs, fake_mediapipe):
    reference = _job(tmp_path / "reference", inputs)
    _render(reference)
    job = _job(tmp_path / "killed", inputs)
    job.release()
    store = FrameStore(tmp_path / "killed")
    child = _child(tmp_path / "killed", delay_s=0.25)
    deadline = time.monotonic() + 120
    while store.complete_count() < 6 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    poses = tmp_path / "killed" / "poses"
    assert child.returncode == -signal.SIGKILL and 6 <= store.complete_count() < FRAMES
    assert not _consolidated(poses), "the analysis had finished before the kill"
    assert list(poses.glob("*.part-*.npz")), "no finished chunk was cached"

    resumed = _child(job.work_dir, delay_s=0.0)
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()[-3000:]
    for a, b in zip(_frames(tmp_path / "killed"), _frames(tmp_path / "reference"), strict=True):
        assert np.array_equal(a, b)


def test_a_front_end_scrubs_during_the_analysis_without_waiting(tmp_path, inputs, fake_mediapipe):
    from engine.pose.streamed_driving import open_preview

    TrackingHolistic.delay_s = 0.05
    preview = open_preview(inputs[1], tmp_path / "gui-poses", smooth=1.0)
    try:
        assert preview.ready_pose_image(FRAMES - 1, 32, 32) is None  # answered at once, not analysed yet
        assert preview.analysis_progress()[0] < FRAMES
        deadline = time.monotonic() + 60
        while preview.analysis_progress() != (FRAMES, FRAMES) and time.monotonic() < deadline:
            time.sleep(0.02)
        images = [preview.ready_pose_image(i, 32, 32) for i in range(FRAMES)]
    finally:
        preview.close()
    assert not _stream_threads()
    # a render seeded from the front end's cache analyses nothing and draws the same poses (no alignment here)
    job = RenderJob.create(tmp_path / "job", *inputs, SETTINGS, model=TINY_MODEL, align=False, smooth=1.0)
    assert job.seed_pose_cache(tmp_path / "gui-poses") >= 1
    TrackingHolistic.delay_s = 10.0
    driving = job.driving()
    for index, image in enumerate(images):
        assert np.array_equal(image, driving.pose_image(index, 32, 32))
    driving.close()
    job.release()
