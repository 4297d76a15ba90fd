"""Checkpoints written in the released layouts from tiny components (same key names as the real files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.config import RenderSettings
from engine.events import FrameReady
from engine.models.components import tiny_components
from engine.pipeline import AnimationPipeline
from engine.weights.checkpoints import REFERENCE_UNET_ALLOWED_MISSING

RENDER = RenderSettings(width=32, height=32, steps=2, cfg=3.5, seed=3, beta=0.05, device="cpu", dtype="fp32")


def posed_tiny_components(seed: int = 0):
    """Tiny components whose Pose Guider output is not zero, so the pose checkpoint matters to the frames."""
    components = tiny_components(seed=seed)
    torch.manual_seed(seed + 1)
    with torch.no_grad():
        components.pose_guider.conv_out.weight.normal_(0, 0.5)
        components.pose_guider.conv_out.bias.normal_(0, 0.5)
        # the two UNets differ after training; make them differ here so a swapped file would show
        for parameter in components.reference_unet.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return components


def write_released_layout(root: Path, components, image_encoder_as_bin: bool = False, kind: str = "animate-anyone") -> Path:
    """Write ``components`` the way Moore-AnimateAnyone / TalkingPose ship them; returns ``root``."""
    weights = root / "pretrained_weights"
    checkpoints = weights / "talkingpose" if kind == "talkingpose" else weights
    checkpoints.mkdir(parents=True, exist_ok=True)
    torch.save(dict(components.denoising_unet.state_dict()), checkpoints / "denoising_unet.pth")
    reference = {k: v for k, v in components.reference_unet.state_dict().items() if k not in REFERENCE_UNET_ALLOWED_MISSING}
    torch.save(reference, checkpoints / "reference_unet.pth")
    torch.save(dict(components.pose_guider.state_dict()), checkpoints / "pose_guider.pth")
    torch.save({"down_blocks.0.motion_modules.0.weight": torch.zeros(2)}, weights / "motion_module.pth")
    encoder = weights / "image_encoder"
    if image_encoder_as_bin:  # as sd-image-variations-diffusers ships it: a pickle holding the old position_ids buffer
        encoder.mkdir(parents=True)
        components.image_encoder.config.save_pretrained(encoder)
        state = dict(components.image_encoder.state_dict())
        positions = components.image_encoder.vision_model.embeddings.num_positions
        state["vision_model.embeddings.position_ids"] = torch.arange(positions).unsqueeze(0)
        torch.save(state, encoder / "pytorch_model.bin")
    else:
        components.image_encoder.save_pretrained(encoder)
    components.vae.save_pretrained(weights / "sd-vae-ft-mse")
    unet_config = weights / "stable-diffusion-v1-5" / "unet"
    unet_config.mkdir(parents=True)
    (unet_config / "config.json").write_text(json.dumps(dict(components.denoising_unet.config), indent=2))
    return root


def render_frames(components, rgb, frames: int = 2) -> list[np.ndarray]:
    pipeline = AnimationPipeline(components, "cpu", torch.float32)
    events = pipeline.render(rgb(0), [rgb(10 + i) for i in range(frames)], RENDER)
    return [event.image for event in events if isinstance(event, FrameReady)]


@pytest.fixture(scope="session")
def reference_frames():
    """Frames rendered straight from the in-memory tiny components (computed once)."""

    def rgb(seed, height=32, width=32):
        return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)

    return render_frames(posed_tiny_components(), rgb)


@pytest.fixture
def released(tmp_path) -> Path:
    return write_released_layout(tmp_path / "Moore-AnimateAnyone", posed_tiny_components())


@pytest.fixture
def make_layout():
    """make_layout(root, components=None, image_encoder_as_bin=False, kind="animate-anyone") -> root."""

    def make(root: Path, components=None, **options) -> Path:
        return write_released_layout(root, components if components is not None else posed_tiny_components(), **options)

    return make


@pytest.fixture
def render():
    """render(components, rgb) -> frames, rendered with the shared tiny settings."""
    return render_frames


@pytest.fixture
def fresh_components():
    """fresh_components() -> the posed tiny components the layouts are written from (a new copy each call)."""
    return posed_tiny_components
