"""The weights a training run starts from (TrainConfig ``init``, ``vae``, ``image_encoder``, ``pose_guider_init``)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ModelError, SettingsError
from engine.models.components import Components, build_components, tiny_components
from engine.train.train_config import ArchitectureConfig, TrainConfig
from engine.train.vae_trainer import small_vae_config


def architecture_configs(arch: ArchitectureConfig, size: int) -> tuple[dict, dict, dict]:
    """(unet_config, vae_config, clip_config) for a model of ``arch`` sizes at ``size`` pixels."""
    levels = len(arch.unet_channels)
    down = ("CrossAttnDownBlock2D",) * (levels - 1) + ("DownBlock2D",)
    up = ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (levels - 1)
    if levels == 1:  # a single level still needs attention, or there is nowhere to inject the reference
        down, up = ("CrossAttnDownBlock2D",), ("CrossAttnUpBlock2D",)
    unet = dict(
        sample_size=size // 8,
        in_channels=arch.latent_channels,
        out_channels=arch.latent_channels,
        layers_per_block=arch.layers_per_block,
        block_out_channels=tuple(arch.unet_channels),
        down_block_types=down,
        up_block_types=up,
        cross_attention_dim=arch.cross_attention_dim,
        attention_head_dim=arch.attention_head_dim,
        norm_num_groups=arch.norm_num_groups,
    )
    vae = small_vae_config(arch.vae_channels, arch.vae_layers, arch.norm_num_groups, arch.latent_channels, size)
    clip = dict(
        hidden_size=arch.clip_hidden_size,
        intermediate_size=4 * arch.clip_hidden_size,
        num_hidden_layers=arch.clip_layers,
        num_attention_heads=arch.clip_heads,
        image_size=arch.clip_image_size,
        patch_size=arch.clip_patch_size,
        projection_dim=arch.cross_attention_dim,
    )
    return unet, vae, clip


def initial_components(config: TrainConfig, vae_folder: str | Path | None = None) -> Components:
    """Build or load the starting Components and check that they fit ``config.size``.

    ``vae_folder`` (e.g. a VAE just trained for ``vae = "train"``) overrides ``config.vae``.
    """
    if config.init == "tiny":
        components = tiny_components(seed=config.seed)
    elif config.init in ("none", "demo-arch"):
        arch = config.architecture if config.init == "none" else ArchitectureConfig()
        unet, vae, clip = architecture_configs(arch, config.size)
        components = build_components(unet, vae, clip, arch.pose_guider_channels, seed=config.seed)
    else:
        from engine.weights.library import load_model

        components = load_model(config.init, verify=True).components
    vae_source = vae_folder or (config.vae if config.vae not in ("", "train") else None)
    if vae_source is not None:
        components.vae = _load_vae(Path(vae_source))
    if config.image_encoder:
        components.image_encoder = _load_image_encoder(Path(config.image_encoder))
    mode = pose_guider_mode(config)
    if mode == "kaiming":
        components.pose_guider.init_kaiming(seed=config.seed)
    elif mode == "gaussian":
        components.pose_guider.init_gaussian(seed=config.seed)
    check_fits(components, config.size)
    return components.eval()


def pose_guider_mode(config: TrainConfig) -> str:
    """What happens to the Pose Guider: "kaiming", "gaussian" or "keep" (``pose_guider_init`` resolved).

    Trained weights (``init`` names a model) keep theirs unless told otherwise; a fresh start has
    nothing to keep, so "auto" and "keep" both mean the paper's Gaussian init there."""
    fresh_start = config.init in ("tiny", "none", "demo-arch")
    if config.pose_guider_init in ("auto", "keep"):
        return "gaussian" if fresh_start else "keep"
    return config.pose_guider_init


def check_fits(components: Components, size: int) -> None:
    """Clear errors for a size the model cannot take and for parts that do not fit together."""
    unet_config = components.denoising_unet.config
    if components.vae_scale_factor != 8:
        raise ModelError(f"the VAE shrinks images {components.vae_scale_factor}x, but the Pose Guider needs 8x; use a VAE with 4 blocks")
    if int(components.vae.config.latent_channels) != int(unet_config.in_channels):
        raise ModelError(f"the VAE has {components.vae.config.latent_channels} latent channels but the UNet takes {unet_config.in_channels}; use matching parts")
    projection = int(components.image_encoder.config.projection_dim)
    if projection != int(unet_config.cross_attention_dim):
        raise ModelError(f"the image encoder gives {projection}-wide embeddings but the UNet expects {unet_config.cross_attention_dim}; use matching parts")
    halvings = 2 ** (len(unet_config.block_out_channels) - 1)
    if size % (8 * halvings):
        raise SettingsError("size", f"must be a multiple of {8 * halvings} for this model (8 for the VAE times {halvings} for the UNet), got {size}")


def _load_vae(folder: Path):
    from diffusers import AutoencoderKL

    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not a VAE folder (no config.json); train one with vae = \"train\" or point to a diffusers AutoencoderKL folder")
    return AutoencoderKL.from_pretrained(folder)


def _load_image_encoder(folder: Path):
    from transformers import CLIPVisionModelWithProjection

    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not an image encoder folder (no config.json); point to a CLIP vision model folder")
    return CLIPVisionModelWithProjection.from_pretrained(folder)


def prepare_vae(config: TrainConfig, dataset, out_dir: str | Path, cancel=None, on_step=None) -> Path | None:
    """For ``vae = "train"``: train the small VAE into ``out_dir/vae`` (kept and reused on resume); else None."""
    if config.vae != "train":
        return None
    from engine.train.vae_trainer import VaeTrainConfig, train_vae

    folder = Path(out_dir) / "vae"
    if (folder / "config.json").is_file():
        return folder
    arch = config.architecture if config.init == "none" else ArchitectureConfig()
    # the VAE's latent must match the UNet it feeds: the tiny test model and SD-style models take 4
    latent_channels = arch.latent_channels if config.init in ("none", "demo-arch") else 4
    vae_config = VaeTrainConfig(channels=arch.vae_channels, layers_per_block=arch.vae_layers, norm_num_groups=arch.norm_num_groups,
                                latent_channels=latent_channels,
                                size=config.size, steps=config.vae_steps, seed=config.seed, device=config.device)
    train_vae(dataset, vae_config, folder, cancel=cancel, on_step=on_step)
    return folder
