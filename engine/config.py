"""Frozen, validated render settings.

Every bad value raises :class:`engine.errors.SettingsError` naming the field, at construction.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from engine.errors import SettingsError

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "fp32", "fp16", "bf16")
MAX_SEED = 2**63 - 1  # TOML and JSON readers keep 64-bit signed integers; torch's generator takes them all
MAX_CFG = 50.0  # guidance far above ~15 only burns the picture; inf/NaN would render black frames
MAX_SIDE = 4096  # pixels per side; larger renders run out of memory on any card
_CUDA_INDEX = re.compile(r"^cuda:\d{1,2}$")
SAMPLERS = ("ddim", "dpmpp-2m", "unipc")  # engine.sampling.samplers builds them (kept here: config imports no torch)


@dataclass(frozen=True)
class RenderSettings:
    """What a render needs beyond its inputs. Defaults follow the paper (section 4.2)."""

    beta: float = 0.05  # CLC feedback gain (paper eq. 1); 0 = no feedback
    steps: int = 30  # DDIM steps per frame
    cfg: float = 3.5  # classifier-free guidance scale; 1 = no guidance (single pass)
    seed: int = 42  # seeds z_T, the one noise shared by every frame
    width: int = 512
    height: int = 512
    device: str = "auto"
    dtype: str = "auto"
    independent_noise: bool = False  # paper's ablation: a fresh z_T per frame (no CLC)
    sampler: str = "ddim"  # ddim (the paper's), dpmpp-2m or unipc; see engine/sampling/samplers.py
    compile: bool = False  # torch.compile the denoising UNet (slow first frame, faster after)
    channels_last: bool = False  # channels_last memory format for the UNet and VAE convolutions

    def __post_init__(self) -> None:
        _check_number("beta", self.beta)
        if not 0.0 <= self.beta <= 1.0:
            raise SettingsError("beta", f"must be between 0 and 1 (got {self.beta}); the paper uses 0.05")
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise SettingsError("steps", f"must be a whole number of at least 1 (got {self.steps!r})")
        if self.steps > 1000:
            raise SettingsError("steps", f"must be at most 1000 (got {self.steps})")
        _check_number("cfg", self.cfg)
        if not 0 <= self.cfg <= MAX_CFG:
            raise SettingsError("cfg", f"must be between 0 and {MAX_CFG:g} (got {self.cfg}); 3.5 is the paper's value")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise SettingsError("seed", f"must be a whole number from 0 to {MAX_SEED} (got {self.seed!r})")
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 8 or value % 8:
                raise SettingsError(name, f"must be a positive multiple of 8 (got {value!r})")
            if value > MAX_SIDE:
                raise SettingsError(name, f"must be at most {MAX_SIDE} (got {value}); the models work at 512-768")
        if not isinstance(self.device, str) or (self.device not in DEVICES and not _CUDA_INDEX.match(self.device)):
            raise SettingsError("device", f"unknown device {self.device!r}; use one of {', '.join(DEVICES)}")
        if self.dtype not in DTYPES:
            raise SettingsError("dtype", f"unknown dtype {self.dtype!r}; use one of {', '.join(DTYPES)}")
        if self.sampler not in SAMPLERS:
            raise SettingsError("sampler", f"unknown sampler {self.sampler!r}; use one of {', '.join(SAMPLERS)}")
        for name in ("compile", "channels_last", "independent_noise"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(name, f"must be true or false (got {getattr(self, name)!r})")

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def replace(self, **changes: Any) -> "RenderSettings":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RenderSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(unknown[0], "is not a known render setting")
        return cls(**data)


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``WxH`` (e.g. ``512x512``) into (width, height), validated like RenderSettings."""
    try:
        w_text, h_text = str(text).lower().split("x")
        width, height = int(w_text), int(h_text)
    except ValueError:
        raise SettingsError("size", f"must look like WIDTHxHEIGHT, e.g. 512x512 (got {text!r})") from None
    for name, value in (("width", width), ("height", height)):
        if value < 8 or value % 8 or value > MAX_SIDE:
            raise SettingsError("size", f"{name} must be a positive multiple of 8, at most {MAX_SIDE} (got {text!r})")
    return width, height


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise SettingsError(name, f"must be a finite number (got {value!r})")
