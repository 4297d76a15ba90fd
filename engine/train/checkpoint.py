"""Training checkpoints that resume exactly: weights, optimiser, every RNG, the data position.

A checkpoint is a folder ``step-000123/`` with ``weights.safetensors`` (trainable modules),
``optimizer.safetensors`` (AdamW moments), ``rng.safetensors`` (torch generator states) and
``trainer.json`` (step, data position, loss history, optimiser hyper-parameters, numpy and Python
RNG states, the config). No pickles: everything loads without running code. Folders are written
under a temporary name and renamed, so a crash mid-save leaves the previous checkpoint usable.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from engine.errors import InputError, OutputError, StudioError
from engine.textfiles import load_json

FORMAT_VERSION = 1
STATE_FILE = "trainer.json"
_PREFIX = "step-"


def checkpoint_name(step: int) -> str:
    return f"{_PREFIX}{step:06d}"


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX) and p.name[len(_PREFIX):].isdigit() and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name[len(_PREFIX):]))


def latest_checkpoint(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


def prune_checkpoints(root: Path, keep: int) -> None:
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _flat_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    state = optimizer.state_dict()
    tensors = {}
    for param_id, values in state["state"].items():
        for key, value in values.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{param_id}.{key}"] = tensor.detach().cpu().contiguous()
    return tensors, state["param_groups"]


def _nested_optimizer(tensors: dict[str, torch.Tensor], param_groups: list[dict]) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in tensors.items():
        param_id, key = name.split(".", 1)
        state.setdefault(int(param_id), {})[key] = tensor
    return {"state": state, "param_groups": param_groups}


def _rng_tensors(generator: torch.Generator) -> dict[str, torch.Tensor]:
    tensors = {"trainer": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{index}"] = cuda_state
    return tensors


def _numpy_state() -> dict:
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": keys.tolist(), "position": int(position), "has_gauss": int(has_gauss), "cached": float(cached)}


def save_checkpoint(
    folder: Path,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    state: dict[str, Any],
    scaler: Any = None,
) -> Path:
    """Write one checkpoint folder (see the module docstring); returns it."""
    partial = folder.with_name(folder.name + ".partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        weights = {f"{name}.{key}": value.detach().cpu().contiguous() for name, module in modules.items() for key, value in module.state_dict().items()}
        save_file(weights, str(partial / "weights.safetensors"))
        moments, param_groups = _flat_optimizer(optimizer)
        save_file(moments, str(partial / "optimizer.safetensors"))
        save_file(_rng_tensors(generator), str(partial / "rng.safetensors"))
        full_state = dict(
            state,
            format_version=FORMAT_VERSION,
            param_groups=param_groups,
            numpy_rng=_numpy_state(),
            python_rng=_python_state(),
            scaler=scaler.state_dict() if scaler is not None else None,
        )
        (partial / STATE_FILE).write_text(json.dumps(full_state), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise OutputError(f"cannot write the checkpoint {folder} ({exc.strerror or exc}); free disk space and resume") from None
    return folder


def load_checkpoint(
    folder: Path,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    scaler: Any = None,
) -> dict[str, Any]:
    """Restore everything ``save_checkpoint`` wrote into the given objects; returns trainer.json's content."""
    try:
        state = load_json(folder / STATE_FILE, what="the trainer state")
        if not isinstance(state, dict):
            raise ValueError(STATE_FILE)
        weights = load_file(str(folder / "weights.safetensors"))
        moments = load_file(str(folder / "optimizer.safetensors"))
        rng = load_file(str(folder / "rng.safetensors"))
    except (StudioError, OSError, ValueError) as exc:
        raise InputError(f"the checkpoint {folder} is damaged ({type(exc).__name__}); delete it to resume from the one before") from None
    for name, module in modules.items():
        prefix = f"{name}."
        own = {key[len(prefix):]: value for key, value in weights.items() if key.startswith(prefix)}
        try:
            module.load_state_dict(own, strict=True)
        except RuntimeError:
            raise InputError(f"the checkpoint {folder} does not fit this model ({name} differs); resume with the config it was made with") from None
    optimizer.load_state_dict(_nested_optimizer(moments, state["param_groups"]))
    generator.set_state(rng["trainer"])
    torch.set_rng_state(rng["torch"])
    cuda_states = [rng[f"cuda.{i}"] for i in range(len(rng)) if f"cuda.{i}" in rng]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    numpy_rng = state["numpy_rng"]
    np.random.set_state((numpy_rng["name"], np.array(numpy_rng["keys"], np.uint32), numpy_rng["position"], numpy_rng["has_gauss"], numpy_rng["cached"]))
    version, internal, gauss = state["python_rng"]
    random.setstate((version, tuple(internal), gauss))
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    return state


def _python_state() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]
