"""A job's rendered frames on disk, one PNG per frame, plus the CLC state that lets it resume.

Layout inside the store's folder::

    frames/000000.png ...   frame k, lossless RGB
    state/000041.npz        ClcState after the newest frame (k, z_T, z0_hat); older ones pruned

Every file is written under a temporary name and then renamed, so a crash or a full disk
never leaves a torn frame. The state of frame k is committed *before* the frame itself: a
frame on disk therefore always has its state, and resume can continue exactly after it.
Readers (the exporter, the GUI preview) may read while a render is writing.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError, OutputError
from engine.events import ClcState

_FRAME_NAME = re.compile(r"^(\d{6,})\.png$")
_STATE_NAME = re.compile(r"^(\d{6,})\.npz$")
_TMP_SUFFIX = ".tmp"
_PNG_COMPRESSION = 1  # fast; level 9 saves ~10 % and costs ~10x the time


@dataclass(frozen=True)
class ResumePoint:
    """Where a render continues: ``next_index`` and the state saved after the frame before it."""

    next_index: int
    state: ClcState | None


class FrameStore:
    """Frames of one render job in ``root`` (created if missing)."""

    def __init__(self, root: str | Path, *, durable: bool = True):
        # durable: fsync each file before its rename, so a power cut cannot leave an empty frame.
        self.root = Path(root)
        self.frames_dir = self.root / "frames"
        self.states_dir = self.root / "state"
        self.durable = durable
        try:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
            self.states_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _output_error(self.root, exc) from None

    # ------------------------------------------------------------------ writing

    def write(self, index: int, image: np.ndarray, state: ClcState | None = None) -> Path:
        """Store frame ``index`` (HxWx3 uint8 RGB) and the CLC state that produced it."""
        import cv2

        if index < 0:
            raise ValueError(f"frame index must be 0 or more, got {index}")
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"a frame must be an HxWx3 uint8 array, got {image.dtype} {image.shape}")
        ok, png = cv2.imencode(".png", image[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION])
        if not ok:
            raise OutputError(f"could not encode frame {index} as PNG; check the rendered image")
        if state is not None:
            self._write_atomic(self.state_path(index), _state_bytes(state))
        path = self.frame_path(index)
        self._write_atomic(path, png.tobytes())
        if state is not None:
            self._prune_states_before(index)
        return path

    def truncate(self, count: int) -> None:
        """Delete frames ``count`` and later with their states (to re-render from ``count``)."""
        for index in self.indices():
            if index >= count:
                _unlink(self.frame_path(index))
        for index, path in self._state_files():
            if index >= count:
                _unlink(path)

    def discard_temporaries(self) -> None:
        """Delete half-written files a crash left behind. Call only when no render is writing."""
        for folder in (self.frames_dir, self.states_dir):
            for name in _names(folder):
                if name.endswith(_TMP_SUFFIX):
                    _unlink(folder / name)

    # ------------------------------------------------------------------ reading

    def frame_path(self, index: int) -> Path:
        return self.frames_dir / f"{index:06d}.png"

    def state_path(self, index: int) -> Path:
        return self.states_dir / f"{index:06d}.npz"

    def has_frame(self, index: int) -> bool:
        return self.frame_path(index).is_file()

    def indices(self) -> list[int]:
        """Sorted indices of the frames on disk (gaps possible after a partial re-render)."""
        return sorted(int(m.group(1)) for m in map(_FRAME_NAME.match, _names(self.frames_dir)) if m)

    def complete_count(self) -> int:
        """How many frames 0, 1, 2, ... are on disk without a gap: what an export can use."""
        count = 0
        for index in self.indices():
            if index != count:
                break
            count += 1
        return count

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as HxWx3 uint8 RGB."""
        import cv2

        path = self.frame_path(index)
        try:
            data = np.fromfile(str(path), dtype=np.uint8)
        except FileNotFoundError:
            raise InputError(f"frame {index} has not been rendered yet; render or resume the job first") from None
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if bgr is None:
            raise InputError(f"frame file {path} is damaged; delete it and resume the job to render it again")
        return np.ascontiguousarray(bgr[:, :, ::-1])

    def iter_frames(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames ``start``..``end-1`` one at a time; ``end`` defaults to ``complete_count()``."""
        end = self.complete_count() if end is None else end
        for index in range(start, end):
            yield self.read(index)

    def frame_size(self) -> tuple[int, int] | None:
        """(width, height) of the stored frames, read from the first PNG's header; None if empty."""
        indices = self.indices()
        if not indices:
            return None
        with self.frame_path(indices[0]).open("rb") as handle:
            header = handle.read(24)
        if header[:8] != b"\x89PNG\r\n\x1a\n":
            raise InputError(f"{self.frame_path(indices[0])} is not a PNG; delete it and resume the job")
        return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")

    def load_state(self, index: int) -> ClcState | None:
        """The CLC state saved with frame ``index``, or None if none was kept."""
        path = self.state_path(index)
        if not path.is_file():
            return None
        import torch

        try:
            with np.load(path, allow_pickle=False) as data:
                k, z_T, z0_hat = int(data["k"]), data["z_T"], data["z0_hat"]
        except Exception as exc:  # zip and npz errors come in many types
            raise InputError(f"{path} is damaged ({type(exc).__name__}); delete it and resume the job") from None
        return ClcState(k=k, z_T=torch.from_numpy(z_T), z0_hat=torch.from_numpy(z0_hat))

    def resume_point(self, *, require_state: bool = True) -> ResumePoint:
        """Where to continue: after the last frame of the gap-free run from frame 0.

        With ``require_state`` (closed-loop renders) the run is cut back to the newest frame
        whose state is on disk, so the next frame starts from exactly the saved state.
        """
        count = self.complete_count()
        if count == 0:
            return ResumePoint(0, None)
        state = self.load_state(count - 1)
        if state is not None or not require_state:
            return ResumePoint(count, state)
        for index, _ in sorted(self._state_files(), reverse=True):
            if index < count:
                return ResumePoint(index + 1, self.load_state(index))
        return ResumePoint(0, None)

    # ------------------------------------------------------------------ internals

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + _TMP_SUFFIX)
        try:
            with tmp.open("wb") as handle:
                handle.write(data)
                if self.durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            _unlink(tmp)
            raise _output_error(self.root, exc) from None

    def _prune_states_before(self, index: int) -> None:
        # Once frame `index` is committed no resume needs an older state; keep disk use flat.
        for state_index, path in self._state_files():
            if state_index < index:
                _unlink(path)

    def _state_files(self) -> list[tuple[int, Path]]:
        matches = (_STATE_NAME.match(name) for name in _names(self.states_dir))
        return [(int(m.group(1)), self.states_dir / m.group(0)) for m in matches if m]


def _state_bytes(state: ClcState) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, k=np.int64(state.k), z_T=_as_float32(state.z_T), z0_hat=_as_float32(state.z0_hat))
    return buffer.getvalue()


def _as_float32(tensor) -> np.ndarray:
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().to("cpu").float().numpy()
    return np.ascontiguousarray(tensor, dtype=np.float32)


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _output_error(root: Path, exc: OSError) -> OutputError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return OutputError(f"the disk holding {root} is full; free some space and resume the job (rendered frames are kept)")
    return OutputError(f"cannot write to {root} ({exc.strerror or exc}); choose a writable work folder")
