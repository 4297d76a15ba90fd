"""The frame store: lossless frames, atomic writes, the CLC state, and where a resume starts."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pytest
import torch

from engine.errors import InputError, OutputError
from engine.events import ClcState
from engine.video import FrameStore


def _image(index: int, size=(24, 16)) -> np.ndarray:
    rng = np.random.default_rng(index)
    return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def _state(k: int) -> ClcState:
    generator = torch.Generator().manual_seed(1234)
    z_T = torch.randn(1, 4, 2, 3, generator=generator)
    return ClcState(k=k, z_T=z_T, z0_hat=torch.randn(1, 4, 2, 3, generator=generator) + k)


def _render(store: FrameStore, count: int, first: int = 0) -> None:
    for k in range(first, count):
        store.write(k, _image(k), _state(k))


def test_frames_round_trip_exactly(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    _render(store, 3)
    for k in range(3):
        assert np.array_equal(store.read(k), _image(k))
    assert store.frame_size() == (24, 16)
    assert [f.shape for f in store.iter_frames(1)] == [(16, 24, 3), (16, 24, 3)]
    assert sorted(p.name for p in store.frames_dir.iterdir()) == ["000000.webp", "000001.webp", "000002.webp"]


def test_state_round_trips_bit_for_bit_and_old_states_are_pruned(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    _render(store, 4)
    saved = store.load_state(3)
    assert saved.k == 3
    assert torch.equal(saved.z_T, _state(3).z_T) and torch.equal(saved.z0_hat, _state(3).z0_hat)
    assert saved.z0_hat.dtype == torch.float32
    # Only the newest state is needed to resume, so disk use stays flat however long the video.
    assert [p.name for p in store.states_dir.iterdir()] == ["000003.npz"]
    assert store.load_state(2) is None


def test_resume_point_follows_the_last_frame_with_its_state(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    assert store.resume_point().next_index == 0 and store.resume_point().state is None
    _render(store, 5)
    point = FrameStore(tmp_path / "job").resume_point()  # a fresh process sees the same
    assert point.next_index == 5 and point.state.k == 4
    assert torch.equal(point.state.z0_hat, _state(4).z0_hat)


def test_crash_between_state_and_frame_resumes_at_the_unfinished_frame(tmp_path, monkeypatch):
    store = FrameStore(tmp_path / "job", durable=False)
    _render(store, 3)
    # Crash while committing frame 3: its state is on disk, the frame itself is not.
    real_replace = os.replace

    def crash_on_frames(src, dst):
        if "frames" in str(dst):
            raise KeyboardInterrupt("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_frames)
    with pytest.raises(KeyboardInterrupt):
        store.write(3, _image(3), _state(3))
    monkeypatch.setattr(os, "replace", real_replace)

    reopened = FrameStore(tmp_path / "job")
    assert reopened.complete_count() == 3
    point = reopened.resume_point()
    assert point.next_index == 3 and point.state.k == 2  # state 2 was not pruned: frame 3 never landed


def test_no_torn_frame_when_the_disk_fills(tmp_path, monkeypatch):
    store = FrameStore(tmp_path / "job", durable=False)
    _render(store, 2)
    real_replace = os.replace

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OutputError, match="disk .* is full") as caught:
        store.write(2, _image(2), _state(2))
    monkeypatch.setattr(os, "replace", real_replace)
    assert "\n" not in str(caught.value)
    assert store.indices() == [0, 1] and np.array_equal(store.read(1), _image(1))
    assert not any(name.endswith(".tmp") for name in os.listdir(store.frames_dir) + os.listdir(store.states_dir))
    assert store.resume_point().next_index == 2


def test_leftover_temporaries_are_ignored_and_discarded(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    _render(store, 2)
    (store.frames_dir / "000002.webp.tmp").write_bytes(b"half a frame")
    (store.frames_dir / "000003.png.tmp").write_bytes(b"half a frame")
    assert store.indices() == [0, 1]
    store.discard_temporaries()
    assert sorted(os.listdir(store.frames_dir)) == ["000000.webp", "000001.webp"]


def test_gaps_stop_the_complete_run_and_truncate_removes_the_tail(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    for k in (0, 1, 2, 4):
        store.write(k, _image(k))
    assert store.indices() == [0, 1, 2, 4] and store.complete_count() == 3
    assert store.resume_point(require_state=False).next_index == 3
    store.truncate(2)
    assert store.indices() == [0, 1]


def test_resume_without_state_goes_back_to_the_newest_saved_state(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    _render(store, 3)
    store.write(3, _image(3))  # a frame written without its state (e.g. an older job layout)
    point = store.resume_point()
    assert point.next_index == 3 and point.state.k == 2
    loose = store.resume_point(require_state=False)
    assert loose.next_index == 4 and loose.state is None


def test_bad_files_and_missing_frames_are_user_errors(tmp_path):
    store = FrameStore(tmp_path / "job", durable=False)
    with pytest.raises(InputError, match="frame 0 has not been rendered yet"):
        store.read(0)
    store.frame_path(0).write_bytes(b"garbage")
    with pytest.raises(InputError, match="damaged"):
        store.read(0)
    store.state_path(0).write_bytes(b"garbage")
    with pytest.raises(InputError, match="damaged"):
        store.load_state(0)
    with pytest.raises(ValueError):
        store.write(1, np.zeros((4, 4), np.uint8))


def test_unwritable_folder_is_an_output_error(tmp_path, monkeypatch):
    from pathlib import Path

    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(OutputError, match="cannot write to .*Permission denied.*choose a writable work folder"):
        FrameStore(tmp_path / "job")


def _photo_like(index: int, size: int = 64) -> np.ndarray:
    """Smooth shapes with mild grain: compresses like a rendered frame, unlike uniform noise."""
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack([(x * 3 + index) % 256, (y * 2) % 256, ((x + y) * 2 + 5 * index) % 256], axis=-1)
    grain = np.random.default_rng(index).integers(0, 4, (size, size, 3))
    return (base + grain).clip(0, 255).astype(np.uint8)


def test_webp_frames_are_pixel_exact_and_smaller_than_the_old_png(tmp_path):
    webp = FrameStore(tmp_path / "new", durable=False)
    png = FrameStore(tmp_path / "old", durable=False, frame_format="png")
    for k in range(3):
        webp.write(k, _photo_like(k), _state(k))
        png.write(k, _photo_like(k), _state(k))
        assert np.array_equal(webp.read(k), _photo_like(k)) and np.array_equal(png.read(k), _photo_like(k))
    assert webp.frame_path(0).suffix == ".webp" and png.frame_path(0).suffix == ".png"
    assert webp.frame_size() == png.frame_size() == (64, 64)
    webp_bytes = sum(webp.frame_path(k).stat().st_size for k in range(3))
    png_bytes = sum(png.frame_path(k).stat().st_size for k in range(3))
    assert webp_bytes < png_bytes


def test_an_old_png_work_dir_resumes_in_webp_and_reads_both(tmp_path):
    old = FrameStore(tmp_path / "job", durable=False, frame_format="png")
    _render(old, 3)
    store = FrameStore(tmp_path / "job", durable=False)  # what a newer studio opens
    point = store.resume_point()
    assert point.next_index == 3 and point.state.k == 2
    _render(store, 5, first=3)
    assert sorted(os.listdir(store.frames_dir)) == [
        "000000.png", "000001.png", "000002.png", "000003.webp", "000004.webp"
    ]
    assert store.complete_count() == 5 and store.frame_size() == (24, 16)
    assert all(np.array_equal(frame, _image(k)) for k, frame in enumerate(store.iter_frames()))
    store.write(1, _image(11))  # a re-rendered frame replaces its old PNG rather than sitting beside it
    assert store.frame_path(1).name == "000001.webp" and not (store.frames_dir / "000001.png").exists()
    assert np.array_equal(store.read(1), _image(11))
    store.truncate(1)
    assert os.listdir(store.frames_dir) == ["000000.png"]


def test_copy_as_png_is_pixel_exact_for_both_formats(tmp_path):
    import cv2

    store = FrameStore(tmp_path / "job", durable=False, frame_format="png")
    store.write(0, _image(0))
    store = FrameStore(tmp_path / "job", durable=False)
    store.write(1, _image(1))
    for k in (0, 1):
        store.copy_as_png(k, tmp_path / f"{k}.png")
        assert np.array_equal(cv2.imread(str(tmp_path / f"{k}.png"))[:, :, ::-1], _image(k))
    assert (tmp_path / "0.png").read_bytes() == (store.frames_dir / "000000.png").read_bytes()


# ---------------------------------------------------------------- the writer thread


def _events(count: int, then: BaseException | None = None):
    from engine.events import Done, FrameReady, Progress

    for k in range(count):
        yield Progress(frame=k, step=1, total_steps=1)
        yield FrameReady(k, _image(k), _state(k))
    if then is not None:
        raise then
    yield Done(count)


def test_frame_events_come_out_only_once_their_frame_and_state_are_on_disk(tmp_path):
    from engine.events import FrameReady
    from engine.video.frame_writer import write_frame_events

    store = FrameStore(tmp_path / "job", durable=False)
    seen = []
    for event in write_frame_events(_events(6), store, max_pending=2):
        if isinstance(event, FrameReady):
            assert store.has_frame(event.index) and np.array_equal(store.read(event.index), _image(event.index))
            assert store.resume_point().next_index >= event.index + 1
        seen.append(type(event).__name__ if not isinstance(event, FrameReady) else event.index)
    assert [s for s in seen if isinstance(s, int)] == list(range(6)) and seen[-1] == "Done"
    assert store.resume_point().state.k == 5 and not [t for t in threading.enumerate() if t.name == "frame-writer"]


def test_the_writer_queue_is_bounded(tmp_path, monkeypatch):
    from engine.video.frame_writer import FrameWriter

    store = FrameStore(tmp_path / "job", durable=False)
    release = threading.Event()
    real_write = FrameStore.write

    def slow_disk(self, *args, **kwargs):
        release.wait()
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(FrameStore, "write", slow_disk)
    writer = FrameWriter(store, max_pending=2)
    returned = []

    def produce():
        for k in range(5):
            writer.submit(k, _image(k), _state(k))
            returned.append(k)

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(timeout=1.0)
    # frame 0 is held by the stuck disk, frames 1 and 2 fill the queue: submitting frame 3 waits
    assert producer.is_alive() and returned == [0, 1, 2]
    release.set()
    producer.join()
    writer.flush()
    assert writer.completed() == [0, 1, 2, 3, 4] and store.complete_count() == 5
    writer.close()


def test_a_full_disk_in_the_writer_reaches_the_render_loop_and_keeps_earlier_frames(tmp_path, monkeypatch):
    from engine.video.frame_writer import write_frame_events

    store = FrameStore(tmp_path / "job", durable=False)
    real_replace = os.replace

    def disk_fills_at_frame_3(src, dst):
        if os.path.basename(str(dst)).startswith("000003"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_fills_at_frame_3)
    with pytest.raises(OutputError, match="disk .* is full; free some space and resume"):
        for _ in write_frame_events(_events(8), store, max_pending=1):
            pass
    monkeypatch.setattr(os, "replace", real_replace)
    assert store.indices() == [0, 1, 2]  # nothing after the failed frame landed (no gap)
    point = store.resume_point()
    assert point.next_index == 3 and point.state.k == 2
    assert not [t for t in threading.enumerate() if t.name == "frame-writer"]


def test_cancel_writes_every_frame_generated_before_it(tmp_path):
    from engine.errors import Cancelled
    from engine.video.frame_writer import write_frame_events

    store = FrameStore(tmp_path / "job", durable=False)
    yielded = []
    with pytest.raises(Cancelled):
        for event in write_frame_events(_events(5, then=Cancelled()), store, max_pending=4):
            yielded.append(event)
    assert store.complete_count() == 5 and store.resume_point().state.k == 4
    assert all(np.array_equal(store.read(k), _image(k)) for k in range(5))
    assert not [t for t in threading.enumerate() if t.name == "frame-writer"]
