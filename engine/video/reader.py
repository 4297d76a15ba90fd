"""Reading driving videos and source images, one frame at a time (PyAV; memory does not grow).

Frame ``i`` of a video is the picture shown at time ``i / fps`` after its first frame, with
``fps`` the stream's average rate. For constant-rate videos that is simply the i-th decoded
frame; for variable-rate phone videos a frame is repeated or dropped so that frame indices
stay in step with the audio, which the exporter copies by time.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError

_FINGERPRINT_CHUNK = 1 << 20
_KNOWN_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
MAX_IMAGE_PIXELS = 50_000_000  # source images above this are refused before decoding (a 50 MP photo is 150 MB as RGB)
_FIX_VIDEO = "re-export it as MP4 (H.264) and try again"


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds. ``width``/``height`` are as displayed, i.e. after ``rotation``."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count: int  # exact for constant-rate videos, an estimate from the duration otherwise
    duration: float  # seconds
    rotation: int  # degrees counter-clockwise applied to every decoded frame (0, 90, 180, 270)
    codec: str
    has_audio: bool
    audio_sample_rate: int = 0
    container: str = ""  # the demuxer's name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "png_pipe"


def probe(path: str | Path) -> VideoInfo:
    """Describe a video without decoding more than its first frame."""
    path = _existing_file(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        fps = _frame_rate(stream, path)
        first = _first_frame(container, stream, path)
        rotation = _rotation_of(first)
        width, height = (first.height, first.width) if rotation % 180 else (first.width, first.height)
        duration = _duration_seconds(container, stream)
        frame_count = int(stream.frames) or max(1, round(duration * fps))
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            path=path,
            width=width,
            height=height,
            fps=fps,
            frame_count=frame_count,
            duration=duration or frame_count / float(fps),
            rotation=rotation,
            codec=stream.codec_context.name,
            has_audio=audio is not None,
            audio_sample_rate=int(audio.rate or 0) if audio is not None else 0,
            container=str(container.format.name or ""),
        )


def iter_frames(
    path: str | Path,
    start: int = 0,
    end: int | None = None,
    *,
    fps: float | Fraction | None = None,
    max_side: int | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[np.ndarray]:
    """Yield frames ``start``..``end-1`` as HxWx3 uint8 RGB arrays, rotated for display.

    ``fps`` picks the clock that frame indices count on (default: the video's own rate; 30
    for a 60 fps video halves the frames to render). ``max_side`` shrinks frames (keeping the
    aspect ratio) so neither side exceeds it. Only one decoded frame is held at a time.
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad frame range {start}..{end}")
    if end is not None and end == start:
        return
    path = _existing_file(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        fps = _frame_rate(stream, path) if fps is None else as_frame_rate(fps)
        origin = stream.start_time
        if start > 0 and origin is not None and _seek_before(container, stream, origin, start, fps):
            try:
                yield from _frames_by_time(container, stream, path, fps, origin, start, end, max_side, cancel, True)
                return
            except _SeekOvershot:  # a broken index put us after the wanted frame: decode from the top
                container.seek(origin, stream=stream, backward=True)
        yield from _frames_by_time(container, stream, path, fps, origin, start, end, max_side, cancel, False)


def as_frame_rate(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction; a float 29.97002997 becomes exactly 30000/1001."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)) or not 0 < fps < 1000:
        raise InputError(f"the frame rate must be a number between 0 and 1000 (got {fps!r})")
    return Fraction(fps).limit_denominator(1001)


def read_frame(path: str | Path, index: int) -> np.ndarray:
    """Frame ``index`` of a video as an HxWx3 uint8 RGB array (seeks; for previews)."""
    for frame in iter_frames(path, index, index + 1):
        return frame
    raise InputError(f"{Path(path).name} has no frame {index}; pick a frame before its end")


def read_image(path: str | Path) -> np.ndarray:
    """Read a source image (PNG, JPEG, WebP, ...) as HxWx3 uint8 RGB, upright per its EXIF tag.

    The header is read first: an image of more than ``MAX_IMAGE_PIXELS`` (50 megapixels) is refused
    before it is decoded, so a small file claiming 100000x100000 pixels cannot exhaust memory.
    """
    import cv2  # imported here: only image reading needs OpenCV

    path = _existing_file(path, what="image")
    # imdecode of the raw bytes (not imread) so that non-ASCII paths work on Windows too.
    data = np.fromfile(str(path), dtype=np.uint8)
    _check_image_size(path)
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:  # OpenCV's own limits and decoder failures
        bgr = None
    if bgr is None:
        raise InputError(f"{path.name} is not a readable image; use a PNG or JPEG file")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _check_image_size(path: Path) -> None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # lazy: reads the header, decodes nothing
                width, height = image.size
    except Image.DecompressionBombError:
        width = height = None  # Pillow's own limit is higher than ours, so the image is too big
    except Exception:
        # A format Pillow knows but cannot parse is damaged (and OpenCV can take seconds on such a file);
        # one it does not know, OpenCV decides.
        with open(path, "rb") as handle:
            magic = handle.read(12)
        if magic.startswith(_KNOWN_IMAGE_MAGIC) or (magic[:4] == b"RIFF" and magic[8:] == b"WEBP"):
            raise InputError(f"{path.name} is not a readable image; use a PNG or JPEG file") from None
        return
    if width is not None and width * height == 0:
        raise InputError(f"{path.name} is not a readable image (it claims {width}x{height} pixels); use a PNG or JPEG file")
    if width is None or width * height > MAX_IMAGE_PIXELS:
        size = f"{width}x{height} pixels" if width is not None else "too many pixels"
        raise InputError(
            f"{path.name} has {size}, more than the {MAX_IMAGE_PIXELS // 1_000_000} megapixels a source image may have; "
            "scale it down (the model works at 512 pixels) and try again"
        )


def video_fingerprint(path: str | Path) -> str:
    """A short id of a file's content (size + first and last MiB), stable across renames.

    Used to key caches (poses of a driving video) without hashing gigabytes.
    """
    path = _existing_file(path)
    size = path.stat().st_size
    digest = hashlib.sha256(f"v1:{size}:".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_FINGERPRINT_CHUNK))
        if size > _FINGERPRINT_CHUNK:
            handle.seek(max(_FINGERPRINT_CHUNK, size - _FINGERPRINT_CHUNK))
            digest.update(handle.read(_FINGERPRINT_CHUNK))
    return digest.hexdigest()[:32]


# ----------------------------------------------------------------------------- helpers


class _SeekOvershot(Exception):
    pass


def _frames_by_time(container, stream, path, fps, origin, start, end, max_side, cancel, after_seek):
    """Emit one picture per time slot (t * fps rounded): repeat across gaps, keep the latest of a crowd."""
    next_slot = None
    pending = None  # the last decoded frame, emitted once the next frame's slot is known
    for frame in _decode(container, stream, path):
        check(cancel)
        if frame.pts is None:  # no timestamp (rare, raw streams): assume the next slot
            slot = 0 if next_slot is None else next_slot + (pending is not None)
        else:
            if origin is None:
                origin = frame.pts  # no stream start time: the first frame defines zero
            # Exact fractions and halves rounded up (Python's round() would alternate at .5).
            slot = max(0, math.floor((frame.pts - origin) * stream.time_base * fps + Fraction(1, 2)))
        if next_slot is None:
            if after_seek and slot > start:
                raise _SeekOvershot()
            # From the top, slot 0 is the start even if the first picture comes a little late.
            next_slot = slot if after_seek else 0
        if pending is not None:
            while next_slot < slot:
                if end is not None and next_slot >= end:
                    return
                if next_slot >= start:
                    yield _to_rgb(pending, max_side)
                next_slot += 1
        pending = frame
    if pending is not None and next_slot is not None and next_slot >= start and (end is None or next_slot < end):
        yield _to_rgb(pending, max_side)


def _decode(container, stream, path):
    index = 0
    try:
        for frame in container.decode(stream):
            yield frame
            index += 1
    except av.FFmpegError as exc:
        raise InputError(f"{path.name} is damaged near frame {index} ({_reason(exc)}); {_FIX_VIDEO}") from None


def _seek_before(container, stream, origin: int, start: int, fps: Fraction) -> bool:
    """Seek to the keyframe before frame ``start``; False when the demuxer cannot seek there."""
    # Half a frame earlier than the slot's centre, so rounding never skips the wanted frame.
    target = origin + int((Fraction(start) - Fraction(1, 2)) / fps / stream.time_base)
    try:
        container.seek(max(origin, target), stream=stream, backward=True)
    except av.FFmpegError:
        return False
    return True


def _to_rgb(frame, max_side: int | None) -> np.ndarray:
    rotation = _rotation_of(frame)
    width, height = frame.width, frame.height
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
        rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
    else:
        rgb = frame.to_ndarray(format="rgb24")
    if rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))  # rot90 turns counter-clockwise
    return rgb


def _rotation_of(frame) -> int:
    try:
        degrees = frame.rotation or 0
    except (AttributeError, ValueError):
        return 0
    return int(round(degrees / 90.0)) * 90 % 360  # odd angles do not occur in practice; snap them


def _first_frame(container, stream, path):
    for frame in _decode(container, stream, path):
        return frame
    raise InputError(f"{path.name} contains no video frames; {_FIX_VIDEO}")


def _frame_rate(stream, path) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < rate < 1000:
            return Fraction(rate)
    raise InputError(f"{path.name} does not say its frame rate; {_FIX_VIDEO}")


def _duration_seconds(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _video_stream(container, path):
    if not container.streams.video:
        raise InputError(f"{path.name} has no video track; choose a video file (MP4, MOV, WebM, ...)")
    return container.streams.video[0]


def _open(path: Path):
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise InputError(f"{path.name} is not a readable video ({_reason(exc)}); {_FIX_VIDEO}") from None


def _existing_file(path: str | Path, what: str = "video") -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}; check the path")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} file {path} cannot be read; check its permissions")
    return path


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
