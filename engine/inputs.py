"""The front door for everything a user hands in: SOURCE, DRIVING, OUT and times.

Every input check a user can trip lives here once; the CLI, the GUI and batch call these
functions before anything else, so each bad input gets the same sentence everywhere. The checks
are cheap: a header or first frame is read, nothing is analysed and no model loads.

* :func:`inspect_source` -> :class:`SourceInfo` (an image of at least ``MIN_SOURCE_SIDE`` px)
* :func:`inspect_driving` -> :class:`DrivingInfo` (a video, a pose video or a ``.npz`` pose file)
* :func:`check_output` -> a writable OUT that is none of the inputs and fits its preset
* :func:`parse_time` -> a :class:`TimeSpec` read like ffmpeg reads ``-ss``/``-to``
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from engine.errors import InputError, OutputError, SettingsError

# One copy of each suffix set for the whole studio (readers, dialogs, batch and the CLI).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".avif"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".wmv", ".flv",
                            ".3gp", ".ts"})
POSE_SUFFIXES = frozenset({".npz"})
MIN_SOURCE_SIDE = 64  # px on the short side: below this the face is a few pixels and the render is noise
SOURCE_ACCEPTS = "the source must be one image (PNG or JPEG) of the person, e.g. a frame saved from a video"
STILL_IMAGE_CODECS = frozenset({"png", "apng", "mjpeg", "jpegls", "jpeg2000", "webp", "bmp", "tiff", "gif", "qoi",
                                "pam", "ppm", "pgm", "sgi", "targa", "dpx", "exr", "hdr", "jpegxl"})
DRIVING_ACCEPTS = "the driving input must be a video (MP4, MOV, WebM, ...), a DWPose-style pose video or a .npz pose file"
DRIVING_KINDS = ("video", "pose_video", "poses")


@dataclass(frozen=True)
class SourceInfo:
    """A checked source image: its absolute path and (H, W, 3) uint8 RGB pixels, read once here."""

    path: str
    width: int
    height: int
    image: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class DrivingInfo:
    """A checked driving input, described without analysing any pose.

    ``path`` is absolute (text, so front ends can store it as is); ``kind`` is "video",
    "pose_video" (a ready-made pose drawing) or "poses" (a ``.npz``); ``width``/``height`` are 0
    for pose files without a recorded frame size; ``person_found`` is None where finding out
    would need pose analysis (videos). ``poses`` holds a pose file's checked keypoints and
    ``video`` the probe result, so nothing is read twice.
    """

    path: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float  # seconds
    has_audio: bool = False
    kind: str = "video"
    person_found: bool | None = None
    poses: Any = field(default=None, repr=False, compare=False)  # engine.pose.keypoints.PoseSequence
    video: Any = field(default=None, repr=False, compare=False)  # engine.video.reader.VideoInfo


def inspect_source(path: str | Path) -> SourceInfo:
    """Check SOURCE and read its pixels once.

    Args:
        path: the source image.
    Returns:
        A :class:`SourceInfo` whose ``image`` is (H, W, 3) uint8 RGB.
    Raises:
        InputError: missing file, a folder, a video or pose file, a damaged image, or an image
        whose short side is below ``MIN_SOURCE_SIDE``.
    """
    from engine.video.reader import read_image

    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a folder; {SOURCE_ACCEPTS}")
    if not path.exists():
        raise InputError(f"source image not found: {path}; check the path")
    if path.suffix.lower() in VIDEO_SUFFIXES | POSE_SUFFIXES:
        raise InputError(f"{path.name} is not an image; {SOURCE_ACCEPTS}")
    image = read_image(path)
    height, width = image.shape[:2]
    if min(width, height) < MIN_SOURCE_SIDE:
        raise InputError(f"{path.name} is only {width}x{height} pixels; the source needs at least "
                         f"{MIN_SOURCE_SIDE} pixels on its short side, so choose a larger picture")
    return SourceInfo(str(path.resolve()), int(width), int(height), image)


def inspect_driving(path: str | Path) -> DrivingInfo:
    """Check DRIVING: probe a video once (and sample a few frames), or load and check a pose file.

    Args:
        path: a video, a pose video or a ``.npz`` pose file.
    Returns:
        A :class:`DrivingInfo`; nothing is analysed (video keypoints are found later, by the job).
    Raises:
        InputError: missing file, a folder, a still image, a damaged file, a pose file with a
        bad frame rate, no frames or no person in any frame.
    """
    from engine.video import reader

    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a folder; {DRIVING_ACCEPTS}")
    if not path.exists():
        raise InputError(f"driving file not found: {path}; check the path")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        raise InputError(f"{path.name} is a still image; {DRIVING_ACCEPTS}")
    if suffix in POSE_SUFFIXES:
        return _inspect_pose_file(path.resolve())
    try:
        video = reader.probe(path)
    except InputError:
        if suffix in VIDEO_SUFFIXES:
            raise  # a damaged video: the reader's message says what is wrong with it
        raise InputError(f"{path.name} is neither a video nor a pose file; {DRIVING_ACCEPTS}") from None
    if _is_still_image(video):  # e.g. a PNG renamed to .mp4: FFmpeg reads it as a one-frame "video"
        raise InputError(f"{path.name} is a still image; {DRIVING_ACCEPTS}")
    from engine.pose.posevideo import looks_like_pose_video

    kind = "pose_video" if looks_like_pose_video(path, info=video) else "video"
    return DrivingInfo(str(path.resolve()), int(video.width), int(video.height), float(video.fps),
                       int(video.frame_count), float(video.duration), bool(video.has_audio), kind,
                       True if kind == "pose_video" else None, None, video)


def _is_still_image(video: Any) -> bool:
    """Whether a probed "video" is a picture: an image demuxer (png_pipe, jpeg_pipe, image2, ...), or
    a single frame of an image codec (a one-frame GIF)."""
    demuxers = str(getattr(video, "container", "")).split(",")
    if any(name == "image2" or name.endswith("_pipe") for name in demuxers):
        return True
    return int(video.frame_count) <= 1 and str(video.codec) in STILL_IMAGE_CODECS


def _inspect_pose_file(path: Path) -> DrivingInfo:
    from engine.pose.keypoints import PoseSequence

    seq = PoseSequence.load(path)
    if isinstance(seq.fps, bool) or not (math.isfinite(seq.fps) and 0 < seq.fps < 1000):
        raise InputError(f"{path.name} has a bad frame rate ({seq.fps!r}); a pose file needs a frame rate "
                         "between 0 and 1000, so make it again from a video")
    if len(seq) == 0:
        raise InputError(f"{path.name} holds no frames; make a pose file from a video")
    # NaN means "not found": the same as confidence 0, so such points are never drawn.
    for array in (seq.body, seq.hands, seq.face):
        bad = ~np.isfinite(array).all(axis=-1)
        array[bad] = 0.0
    found = bool((seq.body[..., 2] > 0).any() or (seq.face[..., 2] > 0).any())
    if not found:
        raise InputError(f"no person found in {path.name}: none of its {len(seq)} frames shows a body or a face; "
                         "choose a driving input where a person is clearly visible")
    return DrivingInfo(str(path), int(seq.width), int(seq.height), float(seq.fps), len(seq),
                       len(seq) / float(seq.fps), False, "poses", True, seq, None)


# -- times -------------------------------------------------------------------------------------
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")
_NUMBER = re.compile(r"^\d+(?:\.\d*)?$|^\.\d+$")
TIME_FORMS = "seconds (3 or 4.5s), mm:ss.xx (1:02.5), h:mm:ss (1:00:02) or a frame number with f (120f)"


@dataclass(frozen=True)
class TimeSpec:
    """A point in the driving input: a frame number or a time in seconds."""

    text: str
    frame: int | None = None
    seconds: float | None = None

    def to_frame(self, fps: float) -> int:
        """The driving frame at this point (times round to the nearest frame).

        Args:
            fps: the driving input's frame rate.

        Returns:
            The 0-based frame index.
        """
        if self.frame is not None:
            return self.frame
        return int(round(self.seconds * fps))


def parse_time(text: str, option: str = "time") -> TimeSpec:
    """Read a time as ffmpeg does: a bare number is SECONDS.

    ``3`` and ``4.5s`` are seconds, ``1:02.5`` is mm:ss.xx, ``1:00:02`` is h:mm:ss and ``120f`` is
    frame 120. Raises SettingsError (naming ``option``) for anything else.

    Args:
        text: the time as typed.
        option: the option's name, for the message ("start", "end").

    Returns:
        A :class:`TimeSpec` (seconds, or a frame index for ``…f``).
    """
    value = str(text).strip()
    try:
        if value.endswith("f") and value[:-1].isdigit():
            return TimeSpec(value, frame=int(value[:-1]))
        number = value[:-1] if value.endswith("s") else value
        if _NUMBER.match(number):
            seconds = float(number)
            if math.isfinite(seconds):
                return TimeSpec(value, seconds=seconds)
        match = _CLOCK.match(value)
        if match:
            hours, minutes, seconds = match.groups()
            if float(seconds) < 60 and (hours is None or int(minutes) < 60):
                return TimeSpec(value, seconds=int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds))
    except ValueError:
        pass
    raise SettingsError(option, f"{text!r} is not a time; use {TIME_FORMS}")


def frame_range(driving: DrivingInfo, start: TimeSpec | None, end: TimeSpec | None) -> tuple[int, int | None]:
    """The frames a job renders, checked against the driving input's length.

    Args:
        driving: the checked driving input.
        start, end: the parsed ``start``/``end`` options, or None for the beginning/the end.

    Returns:
        (first frame, one past the last frame or None for "to the end").

    Raises:
        SettingsError: the start is past the end of the input, or the end is not after the start.
    """
    first = start.to_frame(driving.fps) if start is not None else 0
    last = end.to_frame(driving.fps) if end is not None else None
    length = f"{driving.frames} frames, {driving.frames / driving.fps:.2f} s"
    if first >= driving.frames:
        raise SettingsError("start", f"{start.text} is past the end of the driving input ({length}); choose an earlier start")
    if last is not None and last <= first:
        raise SettingsError("end", f"{end.text} is not after the start ({start.text if start else 0}); "
                                   "the end must come after the start")
    return first, last


# -- outputs -----------------------------------------------------------------------------------
def same_file(a: str | Path, b: str | Path) -> bool:
    """True when two paths name one file: the same resolved path, or the same inode (hard links).

    Args:
        a, b: the paths (``~`` expanded; need not exist).

    Returns:
        Whether writing one would change the other.
    """
    a, b = Path(a).expanduser(), Path(b).expanduser()
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_not_an_input(out: str | Path, inputs: Iterable[str | Path]) -> None:
    """Refuse an output that would overwrite one of the inputs (or a file inside an input folder).

    Args:
        out: the output path.
        inputs: the job's input paths (None entries are skipped).

    Raises:
        InputError: ``out`` is one of ``inputs`` or lies inside one.
    """
    out = Path(out).expanduser()
    for item in inputs:
        if item is not None and (same_file(out, item) or Path(item).resolve() in out.resolve().parents):
            raise InputError(f"the output {out.name} is one of the inputs ({Path(item).name}); "
                             "writing it would destroy that input, so choose another output name")


def check_output(out: str | Path, preset, inputs: Iterable[str | Path] = (), force: bool = False) -> Path:
    """Check OUT before anything renders: not an input, fits ``preset``, writable.

    Args:
        out: the video file (or the folder, for a PNG-sequence preset) to write.
        preset: an ``engine.video.presets.ExportPreset``.
        inputs: paths OUT must not overwrite (source, driving, ...).
        force: accept an extension that does not fit the preset.
    Returns:
        OUT as an absolute path.
    Raises:
        InputError: OUT is an input, or its extension does not fit the preset (without ``force``).
        OutputError: OUT cannot be written there.
    """
    out = Path(out).expanduser().absolute()
    check_not_an_input(out, inputs)
    if preset.is_image_sequence:
        if out.exists() and not (out.is_dir() and not any(out.iterdir())):
            raise OutputError(f"{out} already exists; PNG frames need a new or empty folder, so choose another name")
    else:
        if out.is_dir():
            raise OutputError(f"{out} is a folder; give a file name ending in {preset.extension}")
        if not force and out.suffix.lower() != preset.extension.lower():
            raise InputError(f"{out.name} does not end in {preset.extension}, the extension of the preset "
                             f"{preset.id!r}; name the output *{preset.extension} or force the preset")
    check_writable_folder(out.parent, out)
    return out


def check_writable_folder(folder: str | Path, for_path: str | Path) -> None:
    """Create ``folder`` if needed and prove a file can be written there.

    Args:
        folder: the folder the output goes into.
        for_path: the output itself, for the message.

    Raises:
        OutputError: a file blocks the folder, or it cannot be created or written.
    """
    folder = Path(folder)
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise OutputError(f"cannot write {for_path}: {blocker} is a file, not a folder; choose another place")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".studio-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot write {for_path} ({reason} in {folder}); choose a writable folder") from None
