"""A small VAE for the demo model: the SD VAE (84M parameters) is too slow on a 2-core CPU.

Same AutoencoderKL class and latent layout as Stable Diffusion (4 latent channels, scale factor 8),
just narrow. Trained with L1 reconstruction plus a tiny KL term; afterwards ``scaling_factor`` is
set to 1 / std of the latents, the role 0.18215 plays for the SD VAE, so the diffusion model sees
latents of unit variance.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from diffusers import AutoencoderKL

from engine.cancel import CancelToken, check
from engine.device import resolve_device


@dataclass(frozen=True)
class VaeTrainConfig:
    """Settings of ``train_vae``; the defaults make the demo model's VAE."""

    channels: tuple[int, int, int, int] = (16, 32, 64, 64)
    layers_per_block: int = 1
    norm_num_groups: int = 8
    latent_channels: int = 4
    size: int = 128
    steps: int = 2000
    batch_size: int = 8
    lr: float = 1e-3
    kl_weight: float = 1e-6
    seed: int = 0
    device: str = "auto"
    scale_images: int = 64  # images whose latents set scaling_factor


INITIAL_LOGVAR = -8.0


def small_vae_config(channels: Sequence[int] = (16, 32, 64, 64), layers_per_block: int = 1, norm_num_groups: int = 8,
                     latent_channels: int = 4, sample_size: int = 128) -> dict:
    """An AutoencoderKL config with SD's layout (len(channels) blocks; 4 give scale factor 8) but small widths."""
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        block_out_channels=tuple(channels),
        layers_per_block=layers_per_block,
        latent_channels=latent_channels,
        norm_num_groups=norm_num_groups,
        sample_size=sample_size,
        act_fn="silu",
    )


class _ImageSource:
    """Random training images, deterministic by (seed, draw number), from a pair dataset or a list."""

    def __init__(self, images, seed: int):
        self.images, self.seed = images, seed

    def draw(self, number: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, number])
        if hasattr(self.images, "item"):  # a pair dataset: its source and target frames are both images
            item = self.images.item(int(rng.integers(2**31)))
            return item.source if rng.random() < 0.5 else item.target
        return self.images[int(rng.integers(len(self.images)))]


def _to_tensor(images: list[np.ndarray], size: int) -> torch.Tensor:
    from engine.pipeline import image_to_tensor

    return torch.cat([image_to_tensor(image, size, size) for image in images]) * 2 - 1


def train_vae(
    images,
    config: VaeTrainConfig = VaeTrainConfig(),
    out_dir: str | Path | None = None,
    cancel: CancelToken | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> AutoencoderKL:
    """Train a small AutoencoderKL on ``images`` (a pair dataset or a list of HxWx3 uint8 images).

    ``on_step(step, loss)`` is called after each step. With ``out_dir`` the VAE is saved there
    (``save_pretrained``, safetensors; written to a temporary folder, then renamed). Returns the
    VAE in eval mode with ``config.scaling_factor`` set.
    """
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    vae = AutoencoderKL(**small_vae_config(config.channels, config.layers_per_block, config.norm_num_groups,
                                           config.latent_channels, config.size)).to(device).train()
    # Start near a deterministic autoencoder: with the posterior's std at ~1 (log-variance 0) the
    # sampling noise swamps the small latents and a short CPU run never gets past blurry blobs.
    with torch.no_grad():
        vae.encoder.conv_out.bias[config.latent_channels:].fill_(INITIAL_LOGVAR)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=config.lr, weight_decay=0.0)
    source = _ImageSource(images, config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    for step in range(config.steps):
        check(cancel)
        for group in optimizer.param_groups:
            group["lr"] = vae_learning_rate(config, step)
        batch = _to_tensor([source.draw(step * config.batch_size + i) for i in range(config.batch_size)], config.size).to(device)
        posterior = vae.encode(batch).latent_dist
        latents = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=generator).to(device)
        reconstruction = vae.decode(latents).sample
        loss = (reconstruction - batch).abs().mean() + config.kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        if on_step is not None:
            on_step(step + 1, float(loss.detach()))
    vae.eval().requires_grad_(False)
    scale_images = [source.draw(10**9 + i) for i in range(config.scale_images)]
    vae.register_to_config(scaling_factor=latent_scaling_factor(vae, scale_images, config.size))
    if out_dir is not None:
        save_vae(vae, out_dir)
    return vae


def vae_learning_rate(config: VaeTrainConfig, step: int) -> float:
    """Cosine decay from ``lr`` to ``lr / 10`` over the run: the last steps sharpen the reconstructions."""
    progress = step / max(config.steps - 1, 1)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def latent_scaling_factor(vae: AutoencoderKL, images: list[np.ndarray], size: int, batch_size: int = 8) -> float:
    """1 / std of the latent means of ``images``: scales latents to unit variance (SD: 0.18215)."""
    device = next(vae.parameters()).device
    latents = [
        vae.encode(_to_tensor(images[i:i + batch_size], size).to(device)).latent_dist.mean.float().cpu()
        for i in range(0, len(images), batch_size)
    ]
    return float(1.0 / torch.cat(latents).std().clamp_min(1e-6))


@torch.no_grad()
def reconstruction_error(vae: AutoencoderKL, images: list[np.ndarray], size: int) -> float:
    """Mean absolute error (in [-1, 1] units) of decode(encode(x).mean) on ``images``."""
    device = next(vae.parameters()).device
    batch = _to_tensor(images, size).to(device)
    return float((vae.decode(vae.encode(batch).latent_dist.mean).sample - batch).abs().mean())


def save_vae(vae: AutoencoderKL, out_dir: str | Path) -> Path:
    """``save_pretrained`` into ``out_dir`` atomically: a crash never leaves half a VAE there."""
    out_dir = Path(out_dir)
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    vae.save_pretrained(partial, safe_serialization=True)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    return out_dir
