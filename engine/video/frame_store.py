"""A job's rendered frames on disk, one lossless image per frame, plus the CLC state that lets it resume.

Layout inside the store's folder::

    frames/000000.webp ...  frame k, lossless RGB (WebP; work dirs from before it hold .png)
    state/000041.npz        ClcState after the newest frame (k, z_T, z0_hat); older ones pruned

Frames are lossless WebP at libwebp's fastest effort (method 0): on real 512x512 talk frames it
takes ~1.7x fewer bytes than the PNG (zlib level 1) that earlier versions wrote, at a similar
encode time, and decodes pixel-exact (bench/frame_store_bench.py). The store reads both formats,
so older work dirs still resume and export; ``frame_format="png"`` writes PNG as before.

Every file is written under a temporary name and then renamed, so a crash or a full disk
never leaves a torn frame. The state of frame k is committed *before* the frame itself: a
frame on disk therefore always has its state, and resume can continue exactly after it.
Readers (the exporter, the GUI preview) may read while a render is writing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError, OutputError
from engine.events import ClcState
from engine.fsutil import atomic_write_bytes, output_error

_FRAME_NAME = re.compile(r"^(\d{6,})\.(webp|png)$")
_STATE_NAME = re.compile(r"^(\d{6,})\.npz$")
_TMP_SUFFIX = ".tmp"
_PNG_COMPRESSION = 1  # fast; level 9 saves ~10 % and costs ~10x the time
FRAME_FORMATS = ("webp", "png")
# libwebp's fastest lossless effort: methods 1..6 save ~20 % more bytes at 5x..200x the time.
_WEBP_METHOD = 0


@dataclass(frozen=True)
class ResumePoint:
    """Where a render continues: ``next_index`` and the state saved after the frame before it."""

    next_index: int
    state: ClcState | None


class FrameStore:
    """Frames of one render job in ``root`` (created if missing)."""

    def __init__(self, root: str | Path, *, durable: bool = True, frame_format: str = "webp"):
        # durable: fsync each file before its rename, so a power cut cannot leave an empty frame.
        if frame_format not in FRAME_FORMATS:
            raise ValueError(f"frame_format must be one of {FRAME_FORMATS}, got {frame_format!r}")
        self.frame_format = frame_format
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
        if index < 0:
            raise ValueError(f"frame index must be 0 or more, got {index}")
        data = self.encode_frame(image, self.frame_format)
        if state is not None:
            self._write_atomic(self.state_path(index), _state_bytes(state))
        path = self.frames_dir / f"{index:06d}.{self.frame_format}"
        self._write_atomic(path, data)
        other = self.frames_dir / f"{index:06d}.{'png' if self.frame_format == 'webp' else 'webp'}"
        _unlink(other)  # a re-render in the other format must not leave two versions of a frame
        if state is not None:
            self._prune_states_before(index)
        return path

    @staticmethod
    def encode_frame(image: np.ndarray, frame_format: str = "webp") -> bytes:
        """The bytes a store file holds for ``image`` (HxWx3 uint8 RGB), lossless."""
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"a frame must be an HxWx3 uint8 array, got {image.dtype} {image.shape}")
        if frame_format == "webp":
            import io

            from PIL import Image

            buffer = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(image)).save(
                buffer, "WEBP", lossless=True, method=_WEBP_METHOD, quality=0, exact=True
            )
            return buffer.getvalue()
        import cv2

        ok, png = cv2.imencode(".png", image[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION])
        if not ok:
            raise OutputError("could not encode a frame as PNG; check the rendered image")
        return png.tobytes()

    def copy_as_png(self, index: int, destination: str | Path) -> None:
        """Write frame ``index`` as a PNG file (a byte copy when it is stored as PNG already)."""
        import shutil

        path = self.frame_path(index)
        if path.suffix == ".png":
            shutil.copyfile(path, destination)
            return
        import cv2

        ok, png = cv2.imencode(".png", self.read(index)[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION])
        if not ok:
            raise OutputError(f"could not encode frame {index} as PNG")
        Path(destination).write_bytes(png.tobytes())

    def truncate(self, count: int) -> None:
        """Delete frames ``count`` and later with their states (to re-render from ``count``)."""
        for index, path in self._frame_files():
            if index >= count:
                _unlink(path)
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
        """The file of frame ``index``: the one on disk (WebP or, from older versions, PNG), else
        where this store would write it."""
        for suffix in (self.frame_format, "png" if self.frame_format == "webp" else "webp"):
            path = self.frames_dir / f"{index:06d}.{suffix}"
            if path.is_file():
                return path
        return self.frames_dir / f"{index:06d}.{self.frame_format}"

    def state_path(self, index: int) -> Path:
        return self.states_dir / f"{index:06d}.npz"

    def has_frame(self, index: int) -> bool:
        return any((self.frames_dir / f"{index:06d}.{suffix}").is_file() for suffix in FRAME_FORMATS)

    def indices(self) -> list[int]:
        """Sorted indices of the frames on disk (gaps possible after a partial re-render)."""
        return sorted({index for index, _ in self._frame_files()})

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
        path = self.frame_path(index)
        try:
            data = np.fromfile(str(path), dtype=np.uint8)
        except FileNotFoundError:
            raise InputError(f"frame {index} has not been rendered yet; render or resume the job first") from None
        image = decode_frame(data)
        if image is None:
            raise InputError(f"frame file {path} is damaged; delete it and resume the job to render it again")
        return image

    def iter_frames(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames ``start``..``end-1`` one at a time; ``end`` defaults to ``complete_count()``."""
        end = self.complete_count() if end is None else end
        for index in range(start, end):
            yield self.read(index)

    def frame_size(self) -> tuple[int, int] | None:
        """(width, height) of the stored frames, read from the first frame's header; None if empty."""
        from PIL import Image, UnidentifiedImageError

        indices = self.indices()
        if not indices:
            return None
        path = self.frame_path(indices[0])
        try:
            with Image.open(path) as image:  # reads the header only
                return image.size
        except (UnidentifiedImageError, OSError, SyntaxError):
            raise InputError(f"{path} is not a frame image; delete it and resume the job") from None

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
        try:
            atomic_write_bytes(path, data, self.durable)  # under path + _TMP_SUFFIX, then renamed
        except OSError as exc:
            raise _output_error(self.root, exc) from None

    def _prune_states_before(self, index: int) -> None:
        # Once frame `index` is committed no resume needs an older state; keep disk use flat.
        for state_index, path in self._state_files():
            if state_index < index:
                _unlink(path)

    def _frame_files(self) -> list[tuple[int, Path]]:
        matches = (_FRAME_NAME.match(name) for name in _names(self.frames_dir))
        return [(int(m.group(1)), self.frames_dir / m.group(0)) for m in matches if m]

    def _state_files(self) -> list[tuple[int, Path]]:
        matches = (_STATE_NAME.match(name) for name in _names(self.states_dir))
        return [(int(m.group(1)), self.states_dir / m.group(0)) for m in matches if m]


def decode_frame(data) -> np.ndarray | None:
    """HxWx3 uint8 RGB from a store file's bytes (WebP or PNG), or None if they are not an image."""
    import cv2

    data = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray)) else data
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if bgr is None else np.ascontiguousarray(bgr[:, :, ::-1])


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
    return output_error(root, exc, then="resume the job (rendered frames are kept)", place="a writable work folder")
