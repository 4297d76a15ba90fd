"""The set of learned parts one animation model needs, plus tiny configs for tests and demos."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from engine.errors import ModelError
from engine.models.pose_guider import PoseGuider
from engine.textfiles import load_json

# docs/architecture.md, "Model" (inference scheduler): what reproduces the released models' results.
INFERENCE_SCHEDULER_CONFIG = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="linear",
    clip_sample=False,
    steps_offset=1,
    prediction_type="v_prediction",
    rescale_betas_zero_snr=True,
    timestep_spacing="trailing",
)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
COMPONENT_NAMES = ("vae", "image_encoder", "reference_unet", "denoising_unet", "pose_guider")


@dataclass
class Components:
    """Everything a render needs. ``scheduler_config`` builds a fresh DDIMScheduler per job."""

    vae: AutoencoderKL
    image_encoder: CLIPVisionModelWithProjection
    reference_unet: UNet2DConditionModel
    denoising_unet: UNet2DConditionModel
    pose_guider: PoseGuider
    scheduler_config: dict = field(default_factory=lambda: dict(INFERENCE_SCHEDULER_CONFIG))

    def modules(self) -> dict[str, torch.nn.Module]:
        return {name: getattr(self, name) for name in COMPONENT_NAMES}

    def make_scheduler(self) -> DDIMScheduler:
        return DDIMScheduler(**self.scheduler_config)

    @property
    def latent_channels(self) -> int:
        return int(self.vae.config.latent_channels)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "Components":
        for module in self.modules().values():
            # plain nn.Module.to: diffusers' override warns on every dtype cast
            torch.nn.Module.to(module, device=device, dtype=dtype)
        return self

    def eval(self) -> "Components":
        for module in self.modules().values():
            module.eval()
        return self

    def save_pretrained(self, folder: str | Path) -> None:
        """One subfolder per component in the diffusers/transformers layout (safetensors)."""
        folder = Path(folder)
        for name, module in self.modules().items():
            module.save_pretrained(folder / name, safe_serialization=True)
        (folder / "scheduler").mkdir(parents=True, exist_ok=True)
        (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(self.scheduler_config, indent=2))

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "Components":
        folder = Path(folder)
        scheduler_file = folder / "scheduler" / "scheduler_config.json"
        scheduler_config = (load_json(scheduler_file, what="the scheduler config", error=ModelError)
                            if scheduler_file.exists() else dict(INFERENCE_SCHEDULER_CONFIG))
        return cls(
            vae=AutoencoderKL.from_pretrained(folder / "vae"),
            image_encoder=CLIPVisionModelWithProjection.from_pretrained(folder / "image_encoder"),
            reference_unet=UNet2DConditionModel.from_pretrained(folder / "reference_unet"),
            denoising_unet=UNet2DConditionModel.from_pretrained(folder / "denoising_unet"),
            pose_guider=PoseGuider.from_pretrained(folder / "pose_guider"),
            scheduler_config=scheduler_config,
        )


@contextlib.contextmanager
def pose_features_added(unet: UNet2DConditionModel, features: torch.Tensor) -> Iterator[None]:
    """Add Pose Guider features right after the UNet's conv_in (as AnimateAnyone does)."""

    def add_features(module, inputs, output):
        return output + features.to(output.dtype)

    handle = unet.conv_in.register_forward_hook(add_features)
    try:
        yield
    finally:
        handle.remove()


class PoseSlot:
    """A forward hook on the UNet's conv_in that adds ``features`` when set (None: adds nothing).

    Installed once per UNet and kept, unlike :func:`pose_features_added`: a hook added and removed
    around every call would make torch.compile re-trace the UNet at each step."""

    def __init__(self) -> None:
        self.features: torch.Tensor | None = None

    def __call__(self, module, inputs, output):
        if self.features is None:
            return output
        return output + self.features.to(output.dtype)


def pose_slot(unet: UNet2DConditionModel) -> PoseSlot:
    """The UNet's PoseSlot, installed on first use."""
    slot = getattr(unet, "_talkingpose_pose_slot", None)
    if slot is None:
        slot = PoseSlot()
        unet.conv_in.register_forward_hook(slot)
        object.__setattr__(unet, "_talkingpose_pose_slot", slot)
    return slot


def tiny_unet_config(cross_attention_dim: int = 8, block_out_channels=(8, 16), sample_size: int = 8) -> dict:
    return dict(
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=tuple(block_out_channels),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=2,
        norm_num_groups=4,
    )


def build_components(
    unet_config: dict,
    vae_config: dict,
    clip_config: dict,
    pose_guider_channels: tuple[int, ...],
    seed: int = 0,
) -> Components:
    """Build randomly initialised components from plain config dicts (seeded, no downloads)."""
    torch.manual_seed(seed)
    denoising = UNet2DConditionModel(**unet_config)
    reference = UNet2DConditionModel(**unet_config)
    reference.load_state_dict(denoising.state_dict())  # AnimateAnyone starts both from the same UNet
    vae = AutoencoderKL(**vae_config)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**clip_config))
    pose_guider = PoseGuider(
        block_out_channels=tuple(pose_guider_channels),
        conditioning_embedding_channels=unet_config["block_out_channels"][0],
    )
    return Components(vae, image_encoder, reference, denoising, pose_guider).eval()


def tiny_components(seed: int = 0) -> Components:
    """Thousands of parameters, milliseconds per step: for tests and the CPU benchmark."""
    return build_components(
        unet_config=tiny_unet_config(),
        vae_config=dict(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(4, 4, 8, 8),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=2,
            sample_size=32,
        ),
        clip_config=dict(
            hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
            image_size=32, patch_size=8, projection_dim=8,
        ),
        pose_guider_channels=(4, 4, 8, 8),
        seed=seed,
    )


def sd15_unet_config() -> dict:
    """Stable Diffusion 1.5's UNet config (cross_attention_dim 768), as in stable-diffusion-v1-5/unet/config.json."""
    return dict(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=768,
        attention_head_dim=8,
        norm_num_groups=32,
        act_fn="silu",
        center_input_sample=False,
        downsample_padding=1,
        flip_sin_to_cos=True,
        freq_shift=0,
        mid_block_scale_factor=1,
        norm_eps=1e-5,
    )


def sd_vae_config() -> dict:
    """sd-vae-ft-mse's AutoencoderKL config."""
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=256,
        act_fn="silu",
        scaling_factor=0.18215,
    )


def clip_vit_l14_config() -> dict:
    """CLIP ViT-L/14 vision tower with a 768-d projection (sd-image-variations' image_encoder)."""
    return dict(
        hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
        image_size=224, patch_size=14, projection_dim=768, hidden_act="quick_gelu",
    )


def sd15_components(seed: int = 0) -> Components:
    """The full SD1.5-sized architecture with random weights (benchmarks; real weights come from engine.weights)."""
    return build_components(sd15_unet_config(), sd_vae_config(), clip_vit_l14_config(), (16, 32, 96, 256), seed=seed)
