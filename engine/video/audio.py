"""Copying a stretch of the driving video's sound into an export, in step with the frames.

The sound is decoded, resampled, trimmed to ``[start, start + duration)`` of the driving video
(seconds from its first video frame, so sound and frame indices agree) and re-encoded with the
preset's codec. ``AudioTrack.mux_until(t)`` writes the sound up to time ``t`` so the exporter
can interleave it with the frames; nothing longer than one decoded packet is held in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.errors import InputError

_WORK_FORMAT = "fltp"  # trimming and silence padding happen on planar float samples


def has_audio(path: str | Path) -> bool:
    """Whether a media file has a sound track."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return bool(container.streams.audio)
    except (av.FFmpegError, FileNotFoundError):
        return False


class AudioTrack:
    """The sound of ``source`` from ``start`` for ``duration`` seconds, as a stream of ``output``."""

    def __init__(
        self,
        source: str | Path,
        output,  # an av OutputContainer; the track adds its stream there, before any muxing
        codec: str,
        *,
        start: float,
        duration: float,
        bitrate: int | None = None,
        sample_rate: int | None = None,
    ):
        self.source = Path(source)
        try:
            self._input = av.open(str(self.source), metadata_errors="ignore")
        except av.FFmpegError:
            raise InputError(
                f"cannot read the sound of {self.source.name}; export without audio or re-export the video"
            ) from None
        if not self._input.streams.audio:
            self._input.close()
            raise InputError(f"{self.source.name} has no sound track; export without audio")
        self._in_stream = self._input.streams.audio[0]
        self.rate = int(sample_rate or _supported_rate(codec, int(self._in_stream.rate or 48000)))
        self.layout = "mono" if self._in_stream.channels == 1 else "stereo"
        self._output = output
        self.stream = output.add_stream(codec, rate=self.rate)
        self.stream.codec_context.layout = self.layout
        self.stream.time_base = Fraction(1, self.rate)
        if bitrate:
            self.stream.codec_context.bit_rate = bitrate
        self.stream.codec_context.open()  # opened now to learn the encoder's frame size and format
        self._start = float(start) + self._video_origin()
        self._wanted = max(0, round(duration * self.rate))
        self._packets = self._encoded_packets()
        self._pending = None  # a packet already pulled but not yet due

    def mux_until(self, seconds: float) -> None:
        """Mux every packet that starts before ``seconds`` of the output."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            packet_time = float(self._pending.pts * self._pending.time_base) if self._pending.pts is not None else 0.0
            if packet_time >= seconds:
                return
            self._output.mux(self._pending)
            self._pending = None

    def finish(self) -> None:
        """Mux the rest of the sound and flush the encoder."""
        self.mux_until(float("inf"))
        self.close()

    def close(self) -> None:
        self._input.close()

    # ------------------------------------------------------------------ internals

    def _video_origin(self) -> float:
        # Frame 0 of the driving video is at its video stream's start time, not at 0 s.
        videos = self._input.streams.video
        if videos and videos[0].start_time is not None and videos[0].time_base:
            return float(videos[0].start_time * videos[0].time_base)
        return 0.0

    def _encoded_packets(self) -> Iterator:
        context = self.stream.codec_context
        to_codec = av.AudioResampler(
            format=context.format.name, layout=self.layout, rate=self.rate, frame_size=context.frame_size or 1024
        )
        written = 0
        for samples in self._trimmed_samples():
            frame = av.AudioFrame.from_ndarray(samples, format=_WORK_FORMAT, layout=self.layout)
            frame.sample_rate = self.rate
            for encoder_frame in to_codec.resample(frame):
                yield from self._encode(encoder_frame, written)
                written += encoder_frame.samples
        for encoder_frame in to_codec.resample(None):
            yield from self._encode(encoder_frame, written)
            written += encoder_frame.samples
        yield from self.stream.encode(None)

    def _encode(self, frame, first_sample: int):
        frame.pts = first_sample
        frame.time_base = Fraction(1, self.rate)
        yield from self.stream.encode(frame)

    def _trimmed_samples(self) -> Iterator[np.ndarray]:
        """Planar float blocks (channels, n) covering exactly the wanted stretch (less if the sound ends)."""
        remaining = self._wanted
        if self._start > 0:
            self._input.seek(int(self._start / self._in_stream.time_base), stream=self._in_stream, backward=True)
        frames = self._decoded_frames()
        first = next(frames, None)
        if first is None or remaining == 0:
            return
        first_time = first.time if first.time is not None else self._start
        skip = round((self._start - first_time) * self.rate)  # samples decoded before the wanted start
        if skip < 0:  # the sound begins after the wanted start: lead in with silence
            silence = np.zeros((1 if self.layout == "mono" else 2, min(-skip, remaining)), np.float32)
            remaining -= silence.shape[1]
            yield silence
            skip = 0
        to_float = av.AudioResampler(format=_WORK_FORMAT, layout=self.layout, rate=self.rate)
        for block in _as_float_blocks(itertools.chain([first], frames), to_float):
            cut = min(skip, block.shape[1])
            block, skip = block[:, cut:remaining + cut], skip - cut
            if block.shape[1]:
                remaining -= block.shape[1]
                yield np.ascontiguousarray(block)
            if remaining <= 0:
                return

    def _decoded_frames(self) -> Iterator:
        try:
            yield from self._input.decode(self._in_stream)
        except av.FFmpegError:
            raise InputError(
                f"the sound of {self.source.name} is damaged; export without audio or re-export the video"
            ) from None


def _supported_rate(codec: str, wanted: int) -> int:
    """``wanted`` if the encoder takes it, else the nearest rate above it (Opus: 48 kHz only, mostly)."""
    rates = sorted(av.codec.Codec(codec, "w").audio_rates or ())
    if not rates or wanted in rates:
        return wanted
    return next((rate for rate in rates if rate >= wanted), rates[-1])


def _as_float_blocks(frames, to_float) -> Iterator[np.ndarray]:
    for frame in frames:
        for out in to_float.resample(frame):
            yield out.to_ndarray().astype(np.float32, copy=False)
    for out in to_float.resample(None):
        yield out.to_ndarray().astype(np.float32, copy=False)
