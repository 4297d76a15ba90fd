"""The frame store: lossless frames, atomic writes, the CLC state, and where a resume starts."""

from __future__ import annotations

import errno
import os

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
    assert sorted(p.name for p in store.frames_dir.iterdir()) == ["000000.png", "000001.png", "000002.png"]


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
        if str(dst).endswith(".png"):
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
    (store.frames_dir / "000002.png.tmp").write_bytes(b"half a frame")
    assert store.indices() == [0, 1]
    store.discard_temporaries()
    assert not (store.frames_dir / "000002.png.tmp").exists()


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
