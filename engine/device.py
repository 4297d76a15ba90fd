"""Device and dtype selection: auto picks CUDA (bf16, else fp16), then MPS (fp16), then CPU (fp32)."""

from __future__ import annotations

import torch

from engine.errors import SettingsError

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a device setting into a torch.device; a device that is not there is a SettingsError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SettingsError("device", f"{name} was requested but no CUDA GPU is available; choose cpu or auto")
        return torch.device(name)
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise SettingsError("device", "mps was requested but Apple's Metal backend is not available; choose cpu or auto")
        return torch.device("mps")
    raise SettingsError("device", f"unknown device {name!r}; use auto, cpu, cuda or mps")


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """fp32 on CPU by default; bf16 on CUDA where supported, else fp16; fp16 on MPS."""
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "mps":
            return torch.float16
        return torch.float32
    if name not in _DTYPES:
        raise SettingsError("dtype", f"unknown dtype {name!r}; use auto, fp32, fp16 or bf16")
    if device.type == "cpu" and name == "fp16":
        raise SettingsError("dtype", "fp16 is not supported on the CPU; use fp32 or bf16")
    return _DTYPES[name]
