"""The released checkpoint layouts (Moore-AnimateAnyone and the official TalkingPose code).

Moore-AnimateAnyone::

    pretrained_weights/{denoising_unet,reference_unet,pose_guider,motion_module}.pth
    pretrained_weights/image_encoder/          CLIP ViT-L/14 (sd-image-variations-diffusers)
    pretrained_weights/sd-vae-ft-mse/          diffusers AutoencoderKL folder
    pretrained_weights/stable-diffusion-v1-5/unet/config.json

TalkingPose keeps the same base folders and puts its three checkpoints under
``pretrained_weights/talkingpose/`` (or any folder its config names). motion_module.pth belongs to
AnimateAnyone's video stage and is ignored: TalkingPose runs the 2D UNet frame by frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from engine.errors import ModelError
from engine.models.components import INFERENCE_SCHEDULER_CONFIG, Components, sd15_unet_config
from engine.weights.checkpoints import (
    REFERENCE_UNET_ALLOWED_MISSING,
    assign_weights,
    check_shapes,
    expected_shapes,
    load_clip_folder,
    load_diffusers_folder,
    pose_guider_config_from_shapes,
    pose_guider_on_meta,
    read_config,
    unet_on_meta,
)
from engine.weights.safe_load import load_state_dict

CHECKPOINT_NAMES = ("denoising_unet", "reference_unet", "pose_guider")
IMAGE_ENCODER_PLACES = ("image_encoder", "pretrained_weights/image_encoder", "sd-image-variations-diffusers/image_encoder")
VAE_PLACES = ("sd-vae-ft-mse", "pretrained_weights/sd-vae-ft-mse")
UNET_CONFIG_PLACES = (
    "stable-diffusion-v1-5/unet/config.json",
    "pretrained_weights/stable-diffusion-v1-5/unet/config.json",
    "sd-image-variations-diffusers/unet/config.json",
    "pretrained_weights/sd-image-variations-diffusers/unet/config.json",
)
_LEVELS_UP = 2  # base folders may sit beside the checkpoints or up to two folders above them


@dataclass(frozen=True)
class ReleasedLayout:
    """Where each part of a released model lives on disk."""

    kind: str  # "talkingpose" or "animate-anyone"
    root: Path  # what the user pointed at
    checkpoints: dict[str, Path]  # denoising_unet / reference_unet / pose_guider -> .pth or .safetensors
    image_encoder: Path
    vae: Path
    unet_config: Path | None  # None: the built-in SD1.5 config (the released UNets are SD1.5)

    def describe(self) -> str:
        config = self.unet_config if self.unet_config else "built-in SD1.5 UNet config"
        return f"{self.kind} layout at {self.root} (checkpoints in {self.checkpoints['denoising_unet'].parent}, UNet config: {config})"


def find_checkpoint_folder(path: Path) -> Path | None:
    """The folder holding denoising_unet.pth among ``path``, ``path/pretrained_weights/talkingpose``, ``path/pretrained_weights``."""
    for folder in (path, path / "pretrained_weights" / "talkingpose", path / "pretrained_weights", path / "talkingpose"):
        if _checkpoint(folder, "denoising_unet") is not None:
            return folder
    return None


def detect_layout(path: str | Path) -> ReleasedLayout:
    """Recognise a released layout from a folder the user points at; explain what is missing if it is not one."""
    root = Path(path).expanduser().absolute()  # absolute, so the search above it works for relative paths too
    if not root.exists():
        raise ModelError(f"{root} does not exist; point to the folder that holds pretrained_weights/ or denoising_unet.pth")
    if root.is_file():
        root = root.parent
    folder = find_checkpoint_folder(root)
    if folder is None:
        raise ModelError(
            f"{root} holds no denoising_unet.pth (looked in it, pretrained_weights/talkingpose/ and pretrained_weights/); "
            "point to the folder of a released AnimateAnyone or TalkingPose model"
        )
    checkpoints = {}
    for name in CHECKPOINT_NAMES:
        file = _checkpoint(folder, name)
        if file is None:
            raise ModelError(f"{folder / (name + '.pth')} is missing; download it with the other checkpoints of this model")
        checkpoints[name] = file
    searched = [folder, *list(folder.parents)[:_LEVELS_UP]]
    image_encoder = _find(searched, IMAGE_ENCODER_PLACES, Path.is_dir)
    if image_encoder is None:
        raise ModelError(
            f"no image_encoder/ folder next to or above {folder}; download image_encoder/ of "
            "lambdalabs/sd-image-variations-diffusers into pretrained_weights/"
        )
    vae = _find(searched, VAE_PLACES, Path.is_dir)
    if vae is None:
        raise ModelError(f"no sd-vae-ft-mse/ folder next to or above {folder}; download stabilityai/sd-vae-ft-mse into pretrained_weights/")
    kind = "talkingpose" if "talkingpose" in folder.name.lower() else "animate-anyone"
    return ReleasedLayout(kind, root, checkpoints, image_encoder, vae, _find(searched, UNET_CONFIG_PLACES, Path.is_file))


def is_released_layout(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and find_checkpoint_folder(path) is not None


def unet_config_of(layout: ReleasedLayout) -> dict:
    if layout.unet_config is None:
        return sd15_unet_config()
    return read_config(layout.unet_config, "UNet")


def load_released_unet(layout: ReleasedLayout, name: str) -> torch.nn.Module:
    """denoising_unet or reference_unet: built from the UNet config, checked, then loaded."""
    config_source = layout.unet_config or "the built-in SD1.5 UNet config"
    unet = unet_on_meta(unet_config_of(layout), config_source)
    file = layout.checkpoints[name]
    state_dict = load_state_dict(file)
    allowed = REFERENCE_UNET_ALLOWED_MISSING if name == "reference_unet" else ()
    check_shapes(_shapes(state_dict), expected_shapes(unet), file, f"the UNet of {config_source}", allowed_missing=allowed)
    return assign_weights(unet, state_dict, allowed)


def load_released_pose_guider(layout: ReleasedLayout, unet_channels: int) -> torch.nn.Module:
    file = layout.checkpoints["pose_guider"]
    state_dict = load_state_dict(file)
    shapes = _shapes(state_dict)
    config = pose_guider_config_from_shapes(shapes, file)
    if config["conditioning_embedding_channels"] != unet_channels:
        raise ModelError(
            f"{file} makes {config['conditioning_embedding_channels']}-channel features but the UNet's first block has "
            f"{unet_channels} channels; use the pose_guider.pth released with these UNet checkpoints"
        )
    guider = pose_guider_on_meta(config, file)
    check_shapes(shapes, expected_shapes(guider), file, "the AnimateAnyone Pose Guider")
    return assign_weights(guider, state_dict)


def released_component_loaders(layout: ReleasedLayout) -> dict[str, Callable[[], torch.nn.Module]]:
    """One loader per component, so an import can convert them one at a time (peak memory: one UNet).

    The parts' configs are checked to fit together first, before any weights are read."""
    unet_config = unet_config_of(layout)
    check_configs_fit(
        unet_config,
        read_config(layout.image_encoder / "config.json", "image encoder"),
        read_config(layout.vae / "config.json", "VAE"),
        str(layout.root),
    )
    unet_channels = int(unet_config["block_out_channels"][0])
    return {
        "vae": lambda: load_diffusers_folder("vae", layout.vae),
        "image_encoder": lambda: load_clip_folder(layout.image_encoder),
        "reference_unet": lambda: load_released_unet(layout, "reference_unet"),
        "denoising_unet": lambda: load_released_unet(layout, "denoising_unet"),
        "pose_guider": lambda: load_released_pose_guider(layout, unet_channels),
    }


def load_released(layout: ReleasedLayout) -> Components:
    """All five components of a released model, checked, on the CPU in the checkpoints' dtype."""
    modules = {name: load() for name, load in released_component_loaders(layout).items()}
    return Components(**modules, scheduler_config=dict(INFERENCE_SCHEDULER_CONFIG))


def check_configs_fit(unet_config: dict, clip_config: dict, vae_config: dict, where: str) -> None:
    """CLIP's projection feeds the UNet's cross-attention and the VAE's latents are the UNet's input."""
    cross, projection = unet_config.get("cross_attention_dim"), clip_config.get("projection_dim")
    if projection != cross:
        raise ModelError(
            f"the image encoder in {where} gives {projection}-d embeddings but the UNet expects {cross}-d; "
            "use the image_encoder of sd-image-variations-diffusers (CLIP ViT-L/14, 768-d)"
        )
    latents, unet_in = vae_config.get("latent_channels", 4), unet_config.get("in_channels", 4)
    if latents != unet_in:
        raise ModelError(f"the VAE in {where} makes {latents}-channel latents but the UNet takes {unet_in}; use sd-vae-ft-mse")


def iter_released_components(layout: ReleasedLayout) -> Iterator[tuple[str, torch.nn.Module]]:
    for name, load in released_component_loaders(layout).items():
        yield name, load()


def _checkpoint(folder: Path, name: str) -> Path | None:
    for suffix in (".safetensors", ".pth", ".bin"):  # safetensors preferred where present
        if (folder / (name + suffix)).is_file():
            return folder / (name + suffix)
    return None


def _find(folders: list[Path], places: tuple[str, ...], test: Callable[[Path], bool]) -> Path | None:
    for folder in folders:
        for place in places:
            if test(folder / place):
                return folder / place
    return None


def _shapes(state_dict: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in state_dict.items()}
