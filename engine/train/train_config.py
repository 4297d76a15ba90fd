"""Training settings: a frozen, validated dataclass read from a TOML file.

Example ``train.toml`` (every key is optional; relative paths are relative to the TOML file)::

    data = "dataset"            # a folder made by `studio-cli dataset`, or "puppets"
    size = 128
    init = "demo-arch"
    steps = 2000
    batch_size = 4
    lr = 1e-4
    model_name = "my-model"

    [architecture]              # used by init = "none"
    unet_channels = [32, 64, 128]
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import DEVICES
from engine.errors import InputError, SettingsError

INITS = ("none", "tiny", "demo-arch")
LOSSES = ("l1", "mse")
MIXED_PRECISION = ("auto", "no", "fp16", "bf16")
POSE_GUIDER_INITS = ("auto", "gaussian", "kaiming", "keep")
# What a finished model suggests to the renderer (the paper's inference settings).
MODEL_DEFAULTS = {"steps": 30, "cfg": 3.5, "beta": 0.05}


@dataclass(frozen=True)
class ArchitectureConfig:
    """Sizes of a model trained from scratch (``init = "none"``); the defaults are the demo model's.

    unet_channels: block widths of both UNets, one per resolution level (SD1.5: 320, 640, 1280, 1280).
    layers_per_block: ResNet layers per UNet block (SD1.5: 2).
    attention_head_dim: channels per attention head (SD1.5: 8 heads).
    norm_num_groups: GroupNorm groups; must divide every UNet and VAE width.
    cross_attention_dim: width of the appearance token, = the CLIP projection size (SD1.5: 768).
    clip_hidden_size, clip_layers, clip_heads, clip_image_size, clip_patch_size: the frozen image
        encoder built when no ``image_encoder`` folder is given (a random, fixed feature extractor).
    vae_channels: block widths of the small VAE; four levels give the usual scale factor 8.
    vae_layers: ResNet layers per VAE block.
    pose_guider_channels: Pose Guider widths (four levels: three stride-2 steps = the latent size).
    latent_channels: channels of the VAE latent (SD: 4). The demo uses 8: a small VAE trained for
        minutes on a CPU cannot squeeze 128x128 pictures into 16x16x4 without blurring them.
    """

    unet_channels: tuple[int, ...] = (32, 64, 128)
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 8
    cross_attention_dim: int = 64
    clip_hidden_size: int = 64
    clip_layers: int = 2
    clip_heads: int = 4
    clip_image_size: int = 64
    clip_patch_size: int = 8
    vae_channels: tuple[int, ...] = (16, 32, 64, 64)
    vae_layers: int = 1
    pose_guider_channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    latent_channels: int = 8

    def __post_init__(self) -> None:
        for name in ("unet_channels", "vae_channels", "pose_guider_channels"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or not value or not all(_is_int(v) and v > 0 for v in value):
                raise SettingsError(f"architecture.{name}", f"must be a list of positive whole numbers (got {value!r})")
            object.__setattr__(self, name, tuple(value))
        for name in ("layers_per_block", "attention_head_dim", "norm_num_groups", "cross_attention_dim", "clip_hidden_size",
                     "clip_layers", "clip_heads", "clip_image_size", "clip_patch_size", "vae_layers", "latent_channels"):
            _positive_int(f"architecture.{name}", getattr(self, name))
        if len(self.vae_channels) != 4:
            raise SettingsError("architecture.vae_channels", "needs exactly 4 widths (a VAE scale factor of 8, as the Pose Guider expects)")
        if len(self.pose_guider_channels) != 4:
            raise SettingsError("architecture.pose_guider_channels", "needs exactly 4 widths (three stride-2 steps down to the latent size)")
        for name in ("unet_channels", "vae_channels"):
            if any(width % self.norm_num_groups for width in getattr(self, name)):
                raise SettingsError(f"architecture.{name}", f"every width must be divisible by norm_num_groups ({self.norm_num_groups})")
        if self.clip_hidden_size % self.clip_heads:
            raise SettingsError("architecture.clip_heads", "must divide clip_hidden_size")
        if self.clip_image_size % self.clip_patch_size:
            raise SettingsError("architecture.clip_patch_size", "must divide clip_image_size")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults follow the paper (section 4.2) where it says something.

    data: a dataset folder written by ``studio-cli dataset`` (its ``index.json``), or ``"puppets"``
        for the synthetic puppet data the bundled demo model is trained on.
    size: training resolution in pixels (square); a multiple of 8 that the UNet can halve at each level.
    init: where the weights start: ``"demo-arch"`` (random, demo model sizes), ``"none"`` (random, the
        ``[architecture]`` sizes), ``"tiny"`` (a few thousand parameters; for tests), or a model to
        fine-tune: a library model's name, ``"demo"``, a model folder or a released layout (its UNets,
        VAE and image encoder are the start).
    pose_guider_init: ``"auto"`` (the default: ``"keep"`` when ``init`` names trained weights, so a
        fine-tune never throws away the learned Pose Guider; ``"gaussian"`` for a fresh start),
        ``"gaussian"`` (paper: Gaussian std 0.02, zero last layer), ``"kaiming"`` (He-normal hidden
        layers, zero last layer: for small models trained from scratch, where the paper's init leaves
        the pose signal ~1e4 times too weak) or ``"keep"`` (keep the init model's Pose Guider).
    vae: ``""`` (the init model's VAE, or a random small one), a path to a VAE folder (diffusers
        AutoencoderKL), or ``"train"``: first train a small VAE on the data (``vae_steps`` steps).
    image_encoder: ``""`` (the init model's, or a random small CLIP) or a path to a CLIP vision folder.
    architecture: sizes for ``init = "none"`` (see ArchitectureConfig).
    steps: optimiser steps in total.
    batch_size: samples per micro-batch; each step sees ``batch_size * grad_accum`` samples.
    grad_accum: micro-batches whose gradients are summed before one optimiser step.
    lr: AdamW learning rate (the paper fine-tunes at 1e-5; training from scratch wants ~1e-4).
    weight_decay: AdamW weight decay.
    max_grad_norm: gradients are clipped to this total norm (0 = no clipping).
    warmup_steps: linear learning-rate warm-up from 0 over this many steps.
    loss: ``"l1"`` (the paper's) or ``"mse"`` on the v-prediction target.
    cond_dropout: share of samples trained without appearance (zero CLIP token, no reference), for CFG.
    mixed_precision: ``"auto"`` (bf16 on CUDA where supported, else fp16; none on CPU), ``"no"``,
        ``"fp16"`` or ``"bf16"`` (autocast; CUDA only).
    gradient_checkpointing: recompute UNet activations in the backward pass (less memory, slower).
    seed: seeds the initial weights, the data order, the noise and the dropout.
    device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    checkpoint_every: write a resumable checkpoint every N steps (and at the end).
    keep_checkpoints: how many recent checkpoints to keep on disk.
    sample_every: write a sample grid (source | pose | target | generated) and the loss plot every N steps.
    sample_count: rows in a sample grid.
    sample_steps: DDIM steps for the generated samples.
    vae_steps: steps of the small-VAE training when ``vae = "train"``.
    out_dir: where checkpoints, samples, the loss plot and the finished model go.
    model_name: the finished model's name in the library.
    notes: free text stored with the model (data source, licence).
    """

    data: str = "puppets"
    size: int = 128
    init: str = "demo-arch"
    pose_guider_init: str = "auto"
    vae: str = ""
    image_encoder: str = ""
    architecture: ArchitectureConfig = field(default_factory=ArchitectureConfig)
    steps: int = 1000
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 1e-5
    weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    warmup_steps: int = 0
    loss: str = "l1"
    cond_dropout: float = 0.1
    mixed_precision: str = "auto"
    gradient_checkpointing: bool = False
    seed: int = 42
    device: str = "auto"
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    sample_every: int = 500
    sample_count: int = 2
    sample_steps: int = 10
    vae_steps: int = 2000
    out_dir: str = "training"
    model_name: str = "my-model"
    notes: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.architecture, dict):
            object.__setattr__(self, "architecture", _build(ArchitectureConfig, self.architecture, "architecture."))
        for name in ("data", "init", "vae", "image_encoder", "out_dir", "model_name", "notes", "device"):
            if not isinstance(getattr(self, name), str):
                raise SettingsError(name, f"must be text (got {getattr(self, name)!r})")
        if not self.data:
            raise SettingsError("data", 'must name a dataset folder or "puppets"')
        _positive_int("size", self.size)
        if self.size % 8:
            raise SettingsError("size", f"must be a multiple of 8 (got {self.size})")
        if not self.init:
            raise SettingsError("init", 'must be "demo-arch", "none", "tiny" or a model folder')
        _choice("pose_guider_init", self.pose_guider_init, POSE_GUIDER_INITS)
        for name in ("steps", "batch_size", "grad_accum", "checkpoint_every", "keep_checkpoints", "sample_every",
                     "sample_count", "sample_steps", "vae_steps"):
            _positive_int(name, getattr(self, name))
        if not _is_int(self.warmup_steps) or self.warmup_steps < 0:
            raise SettingsError("warmup_steps", f"must be a whole number of 0 or more (got {self.warmup_steps!r})")
        for name in ("lr", "weight_decay", "max_grad_norm", "cond_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
                raise SettingsError(name, f"must be a number of 0 or more (got {value!r})")
        if not 0 < self.lr < 1:
            raise SettingsError("lr", f"must be between 0 and 1 (got {self.lr}); 1e-5 fine-tunes, 1e-4 trains from scratch")
        if self.cond_dropout >= 1:
            raise SettingsError("cond_dropout", f"must be below 1 (got {self.cond_dropout}); the paper uses about 0.1")
        _choice("loss", self.loss, LOSSES)
        _choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        if not isinstance(self.gradient_checkpointing, bool):
            raise SettingsError("gradient_checkpointing", "must be true or false")
        if not _is_int(self.seed) or self.seed < 0:
            raise SettingsError("seed", f"must be a whole number of 0 or more (got {self.seed!r})")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise SettingsError("device", f"unknown device {self.device!r}; use one of {', '.join(DEVICES)}")
        if not self.model_name.strip() or any(c in self.model_name for c in '/\\:*?"<>|'):
            raise SettingsError("model_name", f"must be a plain name without path characters (got {self.model_name!r})")

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples) as TOML and JSON want them."""
        data = dataclasses.asdict(self)
        data["architecture"] = {k: list(v) if isinstance(v, tuple) else v for k, v in data["architecture"].items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: Path | None = None) -> "TrainConfig":
        """Build from plain values; with ``base_dir``, relative paths are taken relative to it."""
        data = dict(data)
        if base_dir is not None:
            data.setdefault("out_dir", cls.out_dir)
            for name in ("data", "init", "vae", "image_encoder", "out_dir"):
                value = data.get(name)
                if isinstance(value, str) and _is_path_value(name, value) and not Path(value).expanduser().is_absolute():
                    resolved = (base_dir / value).resolve()
                    if name != "init" or resolved.exists():  # init may also name a library model ("demo")
                        data[name] = str(resolved)
        return _build(cls, data, "")

    @classmethod
    def from_toml(cls, path: str | Path) -> "TrainConfig":
        """Read a TOML file; a missing or malformed file is an InputError, a bad value a SettingsError."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise InputError(f"training config not found: {path}; check the path")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path.name} is not valid TOML ({exc}); fix the file and try again") from None
        return cls.from_dict(data, base_dir=path.resolve().parent)


def _is_path_value(name: str, value: str) -> bool:
    special = {"data": ("puppets",), "init": INITS, "vae": ("", "train"), "image_encoder": ("",), "out_dir": ()}
    return value not in special[name]


def _build(cls, data: dict[str, Any], prefix: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(prefix + unknown[0], f"is not a known training setting; known: {', '.join(sorted(known))}")
    return cls(**data)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(name: str, value: Any) -> None:
    if not _is_int(value) or value < 1:
        raise SettingsError(name, f"must be a whole number of at least 1 (got {value!r})")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError(name, f"must be one of {', '.join(choices)} (got {value!r})")
