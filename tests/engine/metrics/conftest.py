"""Fixtures for the metrics tests: lossless tiny videos written with PyAV (FFV1 in MKV)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.synthetic_media import write_lossless_video


def moving_frames(count: int = 12, height: int = 48, width: int = 64, top: int = 200, seed: int = 0) -> list[np.ndarray]:
    """Textured frames with a square moving right by 2 px per frame; values stay in 0..top."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, top // 2, (height, width, 3)).astype(np.uint8)
    frames = []
    for t in range(count):
        frame = background.copy()
        frame[10:26, 4 + 2 * t:20 + 2 * t] = [top, top // 2, top // 3]
        frames.append(frame)
    return frames


@pytest.fixture
def video_writer(tmp_path):
    def write(name: str, frames: list[np.ndarray], fps: int = 10) -> Path:
        return write_lossless_video(tmp_path / name, frames, fps)

    return write


@pytest.fixture(autouse=True)
def _no_metric_weights(monkeypatch):
    # A developer's own weights folder must not change what the tests see.
    monkeypatch.delenv("TPS_METRIC_WEIGHTS", raising=False)


@pytest.fixture
def make_frames():
    return moving_frames
