"""Reading checkpoint files without ever running code from them, and hashing them.

``.pth``/``.bin`` files are pickles: a pickle can call any function while it loads, so they are read
with ``torch.load(weights_only=True)`` only, which accepts tensors and plain containers and refuses
everything else before it runs. safetensors files are plain data and are preferred where present.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import torch

from engine.errors import ModelError

SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
_HASH_CHUNK = 8 * 1024 * 1024


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict (name -> tensor) from a safetensors or pickled torch file, safely, on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path} is missing; download it again or point to the folder that holds it")
    if path.suffix in SAFETENSORS_SUFFIXES:
        return _load_safetensors(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelError(f"{path} contains code or objects, not just tensors; refusing to load it") from None
    except Exception:  # zip/pickle structure broken: a partial download or a damaged disk
        raise ModelError(f"{path} is truncated or corrupt; download it again") from None
    return _as_state_dict(loaded, path)


def read_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes stored in a checkpoint; for safetensors only the header is read."""
    path = Path(path)
    if path.suffix in SAFETENSORS_SUFFIXES and path.is_file():
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
        except Exception:
            raise ModelError(f"{path} is truncated or corrupt; download it again") from None
    return {name: tuple(tensor.shape) for name, tensor in load_state_dict(path).items()}


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks so large checkpoints never sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception:
        raise ModelError(f"{path} is truncated or corrupt; download it again") from None


def _as_state_dict(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    # Some trainers wrap the weights: {"state_dict": {...}} or {"module": {...}}.
    if isinstance(loaded, dict) and len(loaded) == 1:
        (only_key, inner), = loaded.items()
        if only_key in ("state_dict", "module", "model") and isinstance(inner, dict):
            loaded = inner
    if not isinstance(loaded, dict) or not loaded:
        raise ModelError(f"{path} does not hold a state dict of named tensors; use the checkpoint file the model was released with")
    not_tensors = [name for name, value in loaded.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise ModelError(
            f"{path} holds {len(not_tensors)} entries that are not tensors (e.g. {not_tensors[0]!r}); "
            "use the checkpoint file the model was released with"
        )
    return {str(name): tensor for name, tensor in loaded.items()}
