"""Reading checkpoint files without ever running code from them, and hashing them.

``.pth``/``.bin`` files are pickles: a pickle can call any function while it loads, so they are read
with ``torch.load(weights_only=True)`` only, which accepts tensors and plain containers and refuses
everything else before it runs. safetensors files are plain data and are preferred where present.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import struct
from pathlib import Path

import torch

from engine.errors import ModelError

SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the safetensors format's own limit
_HASH_CHUNK = 8 * 1024 * 1024
# safetensors dtype name -> (torch dtype, bytes per element)
SAFETENSORS_DTYPES = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2), "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}


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


def read_tensor_specs(path: str | Path) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
    """Name -> (dtype, shape) of every tensor in a checkpoint, without reading the tensors' data.

    safetensors: only the header is read, and checked against the file (header length sane and within
    the file, JSON that parses, every tensor's byte range inside the file and the size its shape needs),
    so a truncated or doctored file is refused. Pickled files are opened with ``weights_only=True`` and
    ``mmap=True`` (zip format), which maps the data instead of reading it.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path} is missing; re-import or re-fetch the model")
    if path.suffix in SAFETENSORS_SUFFIXES:
        return _safetensors_specs(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError:
        raise ModelError(f"{path} contains code or objects, not just tensors; refusing to load it") from None
    except RuntimeError:  # not the zip format, so it cannot be mapped: read it (old torch.save files)
        return {name: (tensor.dtype, tuple(tensor.shape)) for name, tensor in load_state_dict(path).items()}
    except Exception:
        raise ModelError(f"{path} is truncated or corrupt; download it again") from None
    return {name: (tensor.dtype, tuple(tensor.shape)) for name, tensor in _as_state_dict(loaded, path).items()}


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks so large checkpoints never sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _safetensors_specs(path: Path) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
    size = path.stat().st_size
    bad = f"{path} is truncated or corrupt (its safetensors header"
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ModelError(f"{path} is truncated or corrupt (too short for a safetensors file); download it again")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(MAX_SAFETENSORS_HEADER, size - 8):
            raise ModelError(f"{bad} claims {length:,} bytes but the file has {size:,}); download it again")
        header = handle.read(length)
    try:
        entries = json.loads(header)  # at most 100 MB; deep nesting ends in RecursionError, caught here
    except (ValueError, RecursionError):
        raise ModelError(f"{bad} is not valid JSON); download it again") from None
    if not isinstance(entries, dict):
        raise ModelError(f"{bad} is not a JSON object); download it again")
    data_size = size - 8 - length
    specs = {}
    for name, entry in entries.items():
        if name == "__metadata__":
            continue
        specs[name] = _safetensors_entry(name, entry, data_size, bad)
    return specs


def _safetensors_entry(name: str, entry: object, data_size: int, bad: str) -> tuple[torch.dtype, tuple[int, ...]]:
    try:
        dtype, itemsize = SAFETENSORS_DTYPES[entry["dtype"]]
        shape = tuple(int(n) for n in entry["shape"])
        begin, end = (int(n) for n in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{bad} describes {name!r} with an unknown dtype or a broken entry); download it again") from None
    if min(shape, default=0) < 0 or not 0 <= begin <= end or end - begin != math.prod(shape) * itemsize:
        raise ModelError(f"{bad} gives {name!r} a byte range that does not fit its shape); download it again")
    if end > data_size:
        raise ModelError(f"{bad} places {name!r} past the end of the file); download it again")
    return dtype, shape


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
