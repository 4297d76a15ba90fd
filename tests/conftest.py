"""Shared fixtures: tiny random components (no downloads) and the shared test media folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # subprocesses too: tiny models run 10x+ slower on 2 contended threads


def pytest_configure(config):
    """Tiny test models are dominated by threading overhead on a 2-core machine: use one thread."""
    import torch

    torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real user's config/data dirs from tests."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("TALKINGPOSE_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("TALKINGPOSE_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def shared_data() -> Path:
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"shared test media not found at {data} (only present in the project's workspace)")
    return data


@pytest.fixture
def tiny_components():
    from engine.models.components import tiny_components as build

    return build(seed=0)


@pytest.fixture
def posed_components():
    """Tiny components whose Pose Guider output is not zero (as after training), so pose matters."""
    import torch

    from engine.models.components import tiny_components as build

    components = build(seed=0)
    torch.manual_seed(1)
    with torch.no_grad():
        components.pose_guider.conv_out.weight.normal_(0, 0.5)
        components.pose_guider.conv_out.bias.normal_(0, 0.5)
    return components


@pytest.fixture
def rgb():
    """rgb(seed, h, w) -> a random uint8 RGB image."""

    def make(seed: int, height: int = 32, width: int = 32) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)

    return make
