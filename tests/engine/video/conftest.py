"""Synthetic media for the video tests: small clips whose pixels and sound are known exactly."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
TALK_VIDEO = SHARED / "data" / "ted" / "talk2.mp4"


def grey_level(index: int) -> int:
    """The grey value of synthetic frame ``index``: far enough apart to survive lossy coding."""
    return 10 + 4 * index


def write_clip(
    path: Path,
    frames: int = 12,
    fps: int = 25,
    size: tuple[int, int] = (64, 48),
    *,
    pts: list[int] | None = None,
    rotation: int = 0,
    sound: np.ndarray | None = None,
    sample_rate: int = 16000,
    gop: int = 4,
) -> Path:
    """A near-lossless H.264 clip; frame i is grey ``grey_level(i)`` with a white top-left marker.

    ``pts`` (in 1/fps units) makes it variable-rate; ``sound`` (mono float in [-1, 1]) adds AAC audio.
    """
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, fps)
        video.codec_context.options = {"qp": "0", "g": str(gop), "bf": "0"}
        if rotation:
            video.set_display_rotation(rotation)
        audio = None
        if sound is not None:
            audio = container.add_stream("aac", rate=sample_rate)
            audio.codec_context.layout = "mono"
            audio.codec_context.bit_rate = 96000
        for i in range(frames):
            image = np.full((height, width, 3), grey_level(i), np.uint8)
            image[:8, :8] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i if pts is None else pts[i]
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            block = av.AudioFrame.from_ndarray(sound.astype(np.float32)[None], format="fltp", layout="mono")
            block.sample_rate, block.pts = sample_rate, 0
            chunker = av.AudioResampler(format="fltp", layout="mono", rate=sample_rate, frame_size=1024)
            for chunk in chunker.resample(block) + chunker.resample(None):
                for packet in audio.encode(chunk):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return path


def decode_sound(path: Path) -> tuple[np.ndarray, int]:
    """The first channel of a file's sound as float64, placed by timestamp, and its sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        pieces = []
        for frame in container.decode(stream):
            samples = frame.to_ndarray()
            samples = samples[0] if frame.format.is_planar else samples.reshape(-1, frame.layout.nb_channels)[:, 0]
            if samples.dtype == np.int16:
                samples = samples / 32768.0
            pieces.append((frame.time or 0.0, samples.astype(np.float64)))
    total = max(round(t * rate) + len(s) for t, s in pieces)
    sound = np.zeros(total)
    for t, samples in pieces:
        first = round(t * rate)
        if first < 0:
            samples, first = samples[-first:], 0
        sound[first:first + len(samples)] = samples
    return sound, rate


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture
def media() -> SimpleNamespace:
    """The helpers above, for test modules (importing a conftest by name is fragile)."""
    return SimpleNamespace(write_clip=write_clip, grey_level=grey_level, decode_sound=decode_sound, decode_frames=decode_frames)


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def talk_video() -> Path:
    if not TALK_VIDEO.is_file():
        pytest.skip(f"shared test media not found at {TALK_VIDEO}")
    return TALK_VIDEO
