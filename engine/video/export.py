"""Exporting a FrameStore to a video file (MP4, MOV, WebM, MKV, GIF) or a PNG folder, with the driving sound.

Frames stream from disk one at a time, so an export never needs the video in memory and
works while a render is still writing (it takes the frames complete when it starts). The
output is written under a temporary name and renamed at the end: a cancelled or failed
export never leaves a half-written file behind, nor replaces an older good one.
"""

from __future__ import annotations

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
from engine.fsutil import output_error
from engine.video.audio import AudioTrack, has_audio
from engine.video.frame_store import FrameStore
from engine.video.palette import ClipPalette
from engine.video.presets import CONTAINERS, ExportPreset
from engine.video.reader import as_frame_rate

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
    rate = as_frame_rate(fps)
    end = store.complete_count() if end is None else end
    if end <= start:
        raise InputError("there are no rendered frames to export yet; render at least one frame first")
    missing = next((i for i in range(start, end) if not store.has_frame(i)), None)
    if missing is not None:
        raise InputError(f"frame {missing} has not been rendered yet; resume the job or export fewer frames")
    size = store.frame_size()
    output = Path(output).expanduser()
    if audio_from is not None and not Path(audio_from).is_file():
        raise InputError(
            f"the driving video {audio_from} is gone, so its sound cannot be added; put it back or export without audio"
        )
    with_audio = bool(audio_from and preset.audio_codec and has_audio(audio_from))
    plan = _Plan(store, preset, rate, size, start, end, Path(audio_from) if with_audio else None,
                 audio_start=audio_offset + start / rate, cancel=cancel, on_progress=on_progress)
    partial = output.with_name(f".{output.name}.partial{preset.extension}")
    _prepare_destination(output, preset, partial)

    # 2. write under the temporary name, then rename
    try:
        if preset.is_image_sequence:
            _write_png_sequence(plan, partial)
        else:
            _write_video(plan, partial)
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


@dataclass(frozen=True)
class _Plan:
    store: FrameStore
    preset: ExportPreset
    rate: Fraction
    size: tuple[int, int]
    start: int
    end: int
    audio_from: Path | None
    audio_start: float
    cancel: CancelToken | None
    on_progress: Callable[[int, int], None] | None

    @property
    def duration(self) -> float:
        return float((self.end - self.start) / self.rate)

    def frames_done(self):
        """Yield (count done so far, store index) and report progress after each."""
        total = self.end - self.start
        for done, index in enumerate(range(self.start, self.end), start=1):
            check(self.cancel)
            yield done, index
            if self.on_progress is not None:
                self.on_progress(done, total)

    def audio_track(self, container) -> AudioTrack:
        return AudioTrack(self.audio_from, container, self.preset.audio_codec, start=self.audio_start,
                          duration=self.duration, bitrate=self.preset.audio_bitrate,
                          sample_rate=self.preset.audio_sample_rate)


def _write_video(plan: _Plan, path: Path) -> None:
    store, preset, rate, start = plan.store, plan.preset, plan.rate, plan.start
    width, height = plan.size
    if preset.pix_fmt.startswith(("yuv420", "yuv422")) and (width % 2 or height % 2):
        raise InputError(
            f"{preset.name} needs an even frame width and height (frames are {width}x{height}); render at an even size"
        )
    with av.open(str(path), "w", format=CONTAINERS[preset.container], options=preset.container_options) as container:
        # 1. streams: every stream must exist before the first packet is muxed
        video = container.add_stream(preset.video_codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, preset.pix_fmt
        video.time_base = 1 / rate
        video.codec_context.options = dict(preset.video_options)
        if preset.video_tag:
            video.codec_context.codec_tag = preset.video_tag
        is_yuv = preset.pix_fmt.startswith("yuv")
        if is_yuv:
            context = video.codec_context
            context.colorspace = context.color_primaries = context.color_trc = _BT709
        palette = ClipPalette(store.read, start, plan.end) if preset.pix_fmt == "pal8" else None
        audio = plan.audio_track(container) if plan.audio_from is not None else None
        try:
            # 2. frames, each followed by the sound up to its end time
            for done, index in plan.frames_done():
                image = store.read(index)
                if image.shape[:2] != (height, width):
                    raise InputError(
                        f"frame {index} is {image.shape[1]}x{image.shape[0]}, not {width}x{height} like frame {start}; "
                        "render the job again at one size"
                    )
                if palette is not None:
                    frame = av.VideoFrame.from_ndarray((palette.indexed(image), palette.argb()), format="pal8")
                else:
                    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                if is_yuv:
                    frame = frame.reformat(format=preset.pix_fmt, dst_colorspace=_BT709)
                frame.pts = index - start
                for packet in video.encode(frame):
                    container.mux(packet)
                if audio is not None:
                    audio.mux_until(done / rate)
            # 3. flush
            for packet in video.encode(None):
                container.mux(packet)
            if audio is not None:
                audio.finish()
        finally:
            if audio is not None:
                audio.close()


def _write_png_sequence(plan: _Plan, folder: Path) -> None:
    folder.mkdir()
    for done, index in plan.frames_done():
        # PNG frames (older work dirs) are byte-copied; WebP ones are decoded and written as PNG.
        plan.store.copy_as_png(index, folder / f"{done - 1:06d}.png")
    if plan.audio_from is not None:
        with av.open(str(folder / AUDIO_SIDECAR), "w", format="wav") as container:
            plan.audio_track(container).finish()


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


def _output_error(output: Path, exc: OSError) -> OutputError:
    return output_error(output, exc, then="export again")


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
