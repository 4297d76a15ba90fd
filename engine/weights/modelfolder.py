"""Our model folder: ``model.json`` (what the model is, sha256 of every file) + one subfolder per component.

The component subfolders are the ``Components.save_pretrained`` layout (config + safetensors), so a
folder also opens with diffusers/transformers tools. Folders are written beside their destination
and renamed into place, so an interrupted save never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from engine.config import RenderSettings
from engine.errors import ModelError, OutputError, SettingsError
from engine.models.components import COMPONENT_NAMES, INFERENCE_SCHEDULER_CONFIG, Components
from engine.textfiles import inside, load_json
from engine.weights.checkpoints import (
    DIFFUSERS_WEIGHT_NAMES,
    TRANSFORMERS_WEIGHT_NAMES,
    check_clip_folder,
    check_diffusers_folder,
    load_clip_folder,
    load_diffusers_folder,
)
from engine.weights.safe_load import sha256_file

FORMAT_VERSION = 1
MODEL_JSON = "model.json"
DIFFUSERS_KIND = {"vae": "vae", "reference_unet": "unet", "denoising_unet": "unet", "pose_guider": "pose_guider"}
_DTYPE_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}
_DTYPES = {name: dtype for dtype, name in _DTYPE_NAMES.items()}
_CHECKED_DEFAULTS = ("beta", "steps", "cfg", "seed")  # model.json defaults that become render settings


@dataclass(frozen=True)
class ModelInfo:
    """What model.json says about a model (``problem`` is set when listing finds it unreadable)."""

    name: str
    folder: Path
    architecture: str = ""
    resolution: tuple[int, int] = (512, 512)
    scheduler: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)
    notes: str = ""
    source: str = ""
    license: str = ""
    dtype: str = "fp32"
    files: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    problem: str = ""

    @property
    def size_bytes(self) -> int:
        return sum((self.folder / name).stat().st_size for name in self.files if (self.folder / name).is_file())


@dataclass
class LoadedModel:
    components: Components
    info: ModelInfo


def architecture_of(components: Components) -> str:
    return architecture_from_unet_config(dict(components.denoising_unet.config))


def architecture_from_unet_config(config: dict) -> str:
    """A short name for the UNet family: released weights are all SD1.5-sized."""
    if tuple(config.get("block_out_channels", ())) == (320, 640, 1280, 1280) and config.get("cross_attention_dim") == 768:
        return "animate-anyone-sd15"
    return "animate-anyone-custom"


def save_model_folder(
    components: Components,
    folder: str | Path,
    name: str,
    resolution: tuple[int, int] = (512, 512),
    defaults: dict | None = None,
    notes: str = "",
    dtype: torch.dtype | None = None,
    *,
    source: str = "",
    license: str = "",
) -> Path:
    """Write ``components`` as a model folder (safetensors, optionally cast to ``dtype``) with model.json; returns the folder."""
    folder = Path(folder)
    with staged_folder(folder) as staging:
        for component, module in components.modules().items():
            write_component(component, module, staging / component, dtype)
        (staging / "scheduler").mkdir()
        (staging / "scheduler" / "scheduler_config.json").write_text(json.dumps(components.scheduler_config, indent=2))
        write_model_json(
            staging, name=name, architecture=architecture_of(components), resolution=resolution,
            scheduler=components.scheduler_config, defaults=defaults, notes=notes, source=source, license=license,
            dtype=_DTYPE_NAMES.get(dtype or _float_dtype(components.denoising_unet), "fp32"),
        )
    return folder


class staged_folder:
    """Context manager: yields a sibling temp folder, then swaps it into ``folder`` only on success."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.staging = self.folder.parent / f".{self.folder.name}.partial-{os.getpid()}"

    def __enter__(self) -> Path:
        if self.folder.exists() and not _replaceable(self.folder):
            raise OutputError(f"{self.folder} already exists and is not a model folder; choose another name or folder")
        try:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging.mkdir(parents=True)
        except OSError as error:
            raise OutputError(f"could not create {self.staging} ({error.strerror or error}); choose a writable folder") from None
        return self.staging

    def __exit__(self, error_type, error, traceback) -> bool:
        if error_type is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            if isinstance(error, OSError):
                raise OutputError(f"could not write the model to {self.folder} ({error.strerror or error}); free disk space or choose another folder") from None
            return False
        old = self.folder.parent / f".{self.folder.name}.old-{os.getpid()}"
        if self.folder.exists():
            self.folder.rename(old)
        self.staging.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        return False


def write_component(component: str, module: torch.nn.Module, folder: Path, dtype: torch.dtype | None) -> None:
    """One component as config.json + safetensors, floating tensors cast to ``dtype`` (the module is not changed)."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        key: (value.to(dtype) if dtype is not None and value.is_floating_point() else value).detach().to("cpu").contiguous()
        for key, value in module.state_dict().items()
    }
    if component == "image_encoder":
        module.config.save_pretrained(folder)
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    else:
        module.save_config(folder)
        save_file(tensors, str(folder / "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})


def write_model_json(folder: Path, **fields: Any) -> dict:
    """Hash every file in ``folder`` and write model.json describing them."""
    files = {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MODEL_JSON
    }
    width, height = fields.pop("resolution")
    data = dict(
        format_version=FORMAT_VERSION,
        name=fields.pop("name"),
        architecture=fields.pop("architecture"),
        resolution=[int(width), int(height)],
        scheduler=dict(fields.pop("scheduler") or INFERENCE_SCHEDULER_CONFIG),
        defaults=dict(fields.pop("defaults") or {}),
        **fields,
        files=files,
    )
    (folder / MODEL_JSON).write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return data


def read_model_info(folder: str | Path) -> ModelInfo:
    """Parse and check model.json; a missing, hostile, damaged or too-new one is a ModelError naming it.

    Every path in ``files`` must stay inside ``folder`` (no absolute paths, ``..`` or links leading out),
    and the resolution and defaults must be usable render settings.
    """
    folder = Path(folder)
    path = folder / MODEL_JSON
    if not path.is_file():
        raise ModelError(f"{path} is missing, so {folder} is not a model folder; import the model again with `studio-cli models import`")
    data = load_json(path, what="the model description", error=ModelError, fix="re-import or re-fetch the model")
    try:
        version = int(data["format_version"])
        width, height = data.get("resolution", (512, 512))
        files = dict(data["files"])
        info = ModelInfo(
            name=str(data["name"]), folder=folder, architecture=str(data.get("architecture", "")),
            resolution=(_whole(width), _whole(height)), scheduler=dict(data.get("scheduler") or {}),
            defaults=dict(data.get("defaults") or {}), notes=str(data.get("notes", "")), source=str(data.get("source", "")),
            license=str(data.get("license", "")), dtype=str(data.get("dtype", "fp32")), files=files,
            format_version=version,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ModelError(f"{path} is damaged; re-import or re-fetch the model") from None
    if version > FORMAT_VERSION:
        raise ModelError(f"{path} was written by a newer TalkingPose Studio (format {version}); update the studio to use this model")
    _check_model_values(info, path)
    return info


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(value)
    return value


def _check_model_values(info: ModelInfo, path: Path) -> None:
    for relative, digest in info.files.items():
        inside(info.folder, relative, what=str(path), error=ModelError)
        if not isinstance(digest, str):
            raise ModelError(f"{path} gives {relative!r} a checksum that is not text; re-import or re-fetch the model")
    if info.dtype not in _DTYPES:
        raise ModelError(f"{path}: dtype must be one of {', '.join(_DTYPES)} (got {info.dtype!r}); re-import or re-fetch the model")
    width, height = info.resolution
    checks = {"resolution": dict(width=width, height=height),
              "defaults.": {key: info.defaults[key] for key in _CHECKED_DEFAULTS if key in info.defaults}}
    for where, values in checks.items():
        try:
            RenderSettings(**values)
        except SettingsError as error:
            field_name = where if where == "resolution" else where + error.field
            reason = str(error).split(": ", 1)[1]
            raise ModelError(f"{path}: {field_name} {reason}; fix model.json or re-import the model") from None


def verify_model(folder: str | Path, check_weights: bool = True) -> list[str]:
    """Re-hash every file listed in model.json and check each component's weights against its config.

    Args:
        folder: the model folder.
        check_weights: also read every weights file's header and check its keys, shapes and dtypes
            against the component's config (cheap: no tensor data is read).

    Returns:
        One sentence per missing, corrupt or mismatched file (empty: all good).
    """
    folder = Path(folder)
    try:
        info = read_model_info(folder)
    except ModelError as error:
        return [str(error)]
    problems = []
    for name in COMPONENT_NAMES:
        if not any(file.startswith(name + "/") for file in info.files):
            problems.append(f"{folder / name} is not listed in model.json; re-import or re-fetch the model")
    for relative, expected in info.files.items():
        path = folder / relative
        if not path.is_file():
            problems.append(f"{path} is missing; re-import or re-fetch it")
        elif sha256_file(path) != expected:
            problems.append(f"{path} is corrupt (its sha256 does not match model.json); re-import or re-fetch it")
    if check_weights and not problems:  # a header check of a missing or corrupt file would only repeat the above
        problems.extend(check_model_weights(folder, info))
    return problems


def check_model_weights(folder: Path, info: ModelInfo) -> list[str]:
    """One sentence per component whose weights file does not fit its config (keys, shapes, dtypes, truncation)."""
    problems = []
    for name in COMPONENT_NAMES:
        try:
            component = inside(folder, name, what=str(folder / MODEL_JSON), error=ModelError)
            candidates = TRANSFORMERS_WEIGHT_NAMES if name == "image_encoder" else DIFFUSERS_WEIGHT_NAMES
            used = next((f"{name}/{file}" for file in candidates if (component / file).is_file()), None)
            if used is not None and used not in info.files:  # the file loading would read was never checksummed
                raise ModelError(f"{folder / used} is not listed in model.json; re-import or re-fetch the model")
            if name == "image_encoder":
                check_clip_folder(component, _DTYPES[info.dtype])
            else:
                check_diffusers_folder(DIFFUSERS_KIND[name], component, _DTYPES[info.dtype])
        except ModelError as error:
            problems.append(str(error))
    return problems


def raise_problems(problems: list[str]) -> None:
    if problems:
        more = f" ({len(problems) - 1} more problems; `studio-cli models verify` lists them)" if len(problems) > 1 else ""
        raise ModelError(problems[0] + more)


def load_model_folder(folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, verify: bool = True) -> LoadedModel:
    """Load a model folder (checksums first when ``verify``), cast to ``dtype`` on ``device``."""
    folder = Path(folder)
    info = read_model_info(folder)
    if verify:  # loading checks keys and shapes itself, so only the checksums here
        raise_problems(verify_model(folder, check_weights=False))
    modules = {}
    for name in COMPONENT_NAMES:
        component = inside(folder, name, what=str(folder / MODEL_JSON), error=ModelError)
        if name == "image_encoder":
            modules[name] = load_clip_folder(component)
        else:
            modules[name] = load_diffusers_folder(DIFFUSERS_KIND[name], component)
    scheduler = info.scheduler or dict(INFERENCE_SCHEDULER_CONFIG)
    components = Components(**modules, scheduler_config=dict(scheduler)).to(device, dtype).eval()
    return LoadedModel(components, info)


def _replaceable(folder: Path) -> bool:
    return folder.is_dir() and ((folder / MODEL_JSON).is_file() or not any(folder.iterdir()))


def _float_dtype(module: torch.nn.Module) -> torch.dtype:
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
