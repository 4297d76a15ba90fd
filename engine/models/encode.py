"""The two frozen encoders' inputs, one copy for rendering and training: CLIP image embedding and VAE latents.

The render pipeline (``engine.pipeline``) and the trainer (``engine.train.trainer``) must feed the
image encoder and the VAE exactly alike, or a model trained here would see other features at render
time; both call these functions.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL
from transformers import CLIPVisionModelWithProjection

from engine.models.components import CLIP_MEAN, CLIP_STD

DEFAULT_VAE_SCALING = 0.18215  # Stable Diffusion's, for a VAE config that names none


def vae_scaling(vae: AutoencoderKL) -> float:
    """The factor that brings ``vae``'s latents to unit variance: its config's ``scaling_factor``.

    Args:
        vae: the model's AutoencoderKL.

    Returns:
        The scaling factor as a float (0.18215 when the config has none).
    """
    return float(getattr(vae.config, "scaling_factor", DEFAULT_VAE_SCALING))


def clip_embeds(
    image_encoder: CLIPVisionModelWithProjection,
    images: torch.Tensor,
    device: torch.device | str,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """CLIP image embeddings as one cross-attention token per image.

    Args:
        image_encoder: the frozen CLIP vision model with projection.
        images: (B, 3, S, S) float RGB in [0, 1] at the encoder's ``config.image_size`` S, on any device.
        device: where the encoder runs.
        dtype: the encoder's dtype; ``None`` keeps the images' dtype. Normalisation happens before the
            cast, in the images' own precision.

    Returns:
        (B, 1, D) ``image_embeds`` with D the projection size.
    """
    mean = torch.tensor(CLIP_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=images.device).view(1, 3, 1, 1)
    normalised = ((images - mean) / std).to(device, dtype)
    return image_encoder(pixel_values=normalised).image_embeds.unsqueeze(1)


def vae_latents(
    vae: AutoencoderKL,
    images: torch.Tensor,
    scaling: float,
    device: torch.device | str,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Scaled VAE latents (the posterior's mean, no sampling) of images.

    Args:
        vae: the frozen AutoencoderKL.
        images: (B, 3, H, W) float RGB in [0, 1], H and W multiples of 8, on any device.
        scaling: the latent scaling factor (``vae_scaling(vae)``).
        device: where the VAE runs.
        dtype: the VAE's dtype; ``None`` keeps the images' dtype.

    Returns:
        (B, C, H/8, W/8) latents times ``scaling`` (C = 4 for Stable Diffusion's layout).
    """
    return vae.encode((images * 2 - 1).to(device, dtype)).latent_dist.mean * scaling
