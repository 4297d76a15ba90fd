"""Exporting a FrameStore to a video file (MP4, MOV, WebM) or a PNG folder, with the driving sound.

Frames stream from disk one at a time, so an export never needs the video in memory and
works while a render is still writing (it takes the frames complete when it starts). The
output is written under a temporary name and renamed at the end: a cancelled or failed
export never leaves a half-written file behind, nor replaces an older good one.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from engine.cancel import CancelToken, check
from engine.errors import Cancelled, InputError, OutputError
from engine.video.audio import AudioTrack, has_audio
from engine.video.frame_store import FrameStore
from engine.video.presets import CONTAINERS, ExportPreset

AUDIO_SIDECAR = "audio.wav"  # beside the frames of a PNG sequence
_BT709 = 1  # FFmpeg's AVCOL_SPC/PRI/TRC_BT709: what players assume for video, so tag it


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    frames: int
    seconds: float  # wall-clock time the export took
    has_audio: bool


def export_frames(
    store: FrameStore,
    output: str | Path,
    preset: ExportPreset,
    fps: float | Fraction,
    *,
    audio_from: str | Path | None = None,
    audio_offset: float = 0.0,
    start: int = 0,
    end: int | None = None,
    cancel: CancelToken | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Encode frames ``start``..``end-1`` of ``store`` to ``output`` with ``preset`` at ``fps``.

    ``audio_from`` is the driving video; its sound from ``audio_offset`` seconds (the driving
    time of stored frame 0) plus ``start / fps`` is laid under the frames, if it has any.
    ``end`` defaults to the frames complete now. ``on_progress(done, total)`` follows each frame.
    """
    started = time.perf_counter()
    # 1. check inputs
    rate = _frame_rate(fps)
    end = store.complete_count() if end is None else end
    if end <= start:
        raise InputError("there are no rendered frames to export yet; render at least one frame first")
    missing = next((i for i in range(start, end) if not store.has_frame(i)), None)
    if missing is not None:
        raise InputError(f"frame {missing} has not been rendered yet; resume the job or export fewer frames")
    size = store.frame_size()
    output = Path(output).expanduser()
    with_audio = bool(audio_from and preset.audio_codec and has_audio(audio_from))
    audio_start = audio_offset + start / rate
    duration = (end - start) / rate
    partial = output.with_name(f".{output.name}.partial{preset.extension}")
    _prepare_destination(output, preset, partial)

    # 2. write under the temporary name, then rename
    try:
        if preset.is_image_sequence:
            _write_png_sequence(store, partial, start, end, cancel, on_progress)
            if with_audio:
                _write_audio_file(audio_from, partial / AUDIO_SIDECAR, preset, audio_start, duration)
        else:
            _write_video(store, partial, preset, rate, size, start, end, cancel, on_progress,
                         audio_from if with_audio else None, audio_start, duration)
        _replace(partial, output)
    except BaseException as exc:
        _remove(partial)
        if isinstance(exc, (Cancelled, InputError, OutputError, KeyboardInterrupt)):
            raise
        if isinstance(exc, OSError):
            raise _output_error(output, exc) from None
        if isinstance(exc, av.FFmpegError):
            raise OutputError(f"encoding {output.name} failed ({_reason(exc)}); try another preset") from None
        raise
    return ExportResult(output, end - start, time.perf_counter() - started, with_audio)


def _write_video(store, path, preset, rate, size, start, end, cancel, on_progress, audio_from, audio_start, duration):
    width, height = size
    if preset.pix_fmt.startswith("yuv4") and "420" in preset.pix_fmt and (width % 2 or height % 2):
        raise InputError(f"{preset.name} needs an even frame width and height (frames are {width}x{height}); render at an even size")
    with av.open(str(path), "w", format=CONTAINERS[preset.container], options=preset.container_options) as container:
        # 1. streams: every stream must exist before the first packet is muxed
        video = container.add_stream(preset.video_codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, preset.pix_fmt
        video.time_base = 1 / rate
        video.codec_context.options = dict(preset.video_options)
        is_yuv = preset.pix_fmt.startswith("yuv")
        if is_yuv:
            context = video.codec_context
            context.colorspace = context.color_primaries = context.color_trc = _BT709
        audio = None
        if audio_from is not None:
            audio = AudioTrack(audio_from, container, preset.audio_codec, start=audio_start, duration=duration,
                               bitrate=preset.audio_bitrate, sample_rate=preset.audio_sample_rate)
        try:
            # 2. frames, each followed by the sound up to its end time
            for done, index in enumerate(range(start, end), start=1):
                check(cancel)
                image = store.read(index)
                if image.shape[:2] != (height, width):
                    raise InputError(f"frame {index} is {image.shape[1]}x{image.shape[0]}, not {width}x{height} like frame {start}; render the job again at one size")
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                if is_yuv:
                    frame = frame.reformat(format=preset.pix_fmt, dst_colorspace=_BT709)
                frame.pts = index - start
                for packet in video.encode(frame):
                    container.mux(packet)
                if audio is not None:
                    audio.mux_until(done / rate)
                if on_progress is not None:
                    on_progress(done, end - start)
            # 3. flush
            for packet in video.encode(None):
                container.mux(packet)
            if audio is not None:
                audio.finish()
        finally:
            if audio is not None:
                audio.close()


def _write_png_sequence(store, folder: Path, start, end, cancel, on_progress) -> None:
    folder.mkdir()
    for done, index in enumerate(range(start, end), start=1):
        check(cancel)
        # The store's frames are PNG already: a byte copy is lossless and fast.
        shutil.copyfile(store.frame_path(index), folder / f"{done - 1:06d}.png")
        if on_progress is not None:
            on_progress(done, end - start)


def _write_audio_file(source, path: Path, preset: ExportPreset, start: float, duration: float) -> None:
    with av.open(str(path), "w", format="wav") as container:
        track = AudioTrack(source, container, preset.audio_codec, start=start, duration=duration,
                           bitrate=preset.audio_bitrate, sample_rate=preset.audio_sample_rate)
        track.finish()


def _prepare_destination(output: Path, preset: ExportPreset, partial: Path) -> None:
    if preset.is_image_sequence:
        if output.exists() and not (output.is_dir() and not any(output.iterdir())):
            raise OutputError(f"{output} already exists; PNG frames need a new or empty folder, so choose another name")
    elif output.is_dir():
        raise OutputError(f"{output} is a folder; give a file name ending in {preset.extension}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(output, exc) from None
    _remove(partial)  # left by an export that crashed


def _replace(partial: Path, output: Path) -> None:
    if partial.is_dir() and output.is_dir():
        output.rmdir()  # checked empty before the export started
    os.replace(partial, output)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _frame_rate(fps: float | Fraction) -> Fraction:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)) or not 0 < fps < 1000:
        raise InputError(f"the frame rate must be a number between 0 and 1000 (got {fps!r})")
    # Denominators up to 1001 give exactly 30000/1001 for NTSC's 29.97 from a float.
    return Fraction(fps).limit_denominator(1001)


def _output_error(output: Path, exc: OSError) -> OutputError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return OutputError(f"the disk is full while writing {output.name}; free some space and export again")
    return OutputError(f"cannot write {output} ({exc.strerror or exc}); choose a writable folder")


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
