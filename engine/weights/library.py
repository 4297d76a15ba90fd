"""The model library: one model folder per installed model under the user's data directory.

Root, first that is set: ``Library(root=...)`` (the app's setting), ``$TALKINGPOSE_MODELS_DIR``,
``$TALKINGPOSE_DATA_DIR/models``, platformdirs' user data dir ``talkingpose-studio/models``.
``load_model`` resolves "demo" (bundled), a library name, a model folder or a released layout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch

from engine.errors import ModelError, OutputError
from engine.models.components import INFERENCE_SCHEDULER_CONFIG
from engine.resources import resource_path
from engine.weights.layouts import ReleasedLayout, detect_layout, is_released_layout, iter_released_components, load_released, unet_config_of
from engine.weights.modelfolder import (
    MODEL_JSON,
    LoadedModel,
    ModelInfo,
    architecture_from_unet_config,
    load_model_folder,
    raise_problems,
    read_model_info,
    save_model_folder,
    staged_folder,
    verify_model,
    write_component,
    write_model_json,
)

APP_NAME = "talkingpose-studio"
DEMO_NAME = "demo"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RELEASED_DEFAULTS = {"steps": 30, "cfg": 3.5, "beta": 0.05}
RELEASED_RESOLUTION = {"talkingpose": (512, 512), "animate-anyone": (512, 768)}  # (width, height) each was trained at
RELEASED_NOTES = {
    "talkingpose": ("Official TalkingPose checkpoints (DFKI); research-only license", "research-only"),
    "animate-anyone": ("Moore-AnimateAnyone stage-1 checkpoints (MooreThreads); motion_module.pth is not used", "Apache-2.0"),
}


def default_models_dir() -> Path:
    """Where the library lives unless the app passes its own root."""
    if os.environ.get("TALKINGPOSE_MODELS_DIR"):
        return Path(os.environ["TALKINGPOSE_MODELS_DIR"]).expanduser()
    if os.environ.get("TALKINGPOSE_DATA_DIR"):
        return Path(os.environ["TALKINGPOSE_DATA_DIR"]).expanduser() / "models"
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "models"


def demo_model_dir() -> Path:
    """The demo model bundled with the studio (resources/models/demo)."""
    return resource_path(f"models/{DEMO_NAME}")


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModelError(f"{name!r} is not a usable model name; use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)")
    if name == DEMO_NAME:
        raise ModelError("'demo' is reserved for the bundled demo model; use another model name")
    return name


class Library:
    """Installed models: list, verify, import, remove, load."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_models_dir()

    def path(self, name: str) -> Path:
        return self.root / check_model_name(name)

    def has(self, name: str) -> bool:
        return bool(_NAME.match(name)) and name != DEMO_NAME and (self.root / name / MODEL_JSON).is_file()

    def list(self) -> list[ModelInfo]:
        """Every model folder in the library, sorted by name; unreadable ones carry ``problem``."""
        if not self.root.is_dir():
            return []
        models = []
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                models.append(read_model_info(folder))
            except ModelError as error:
                models.append(ModelInfo(name=folder.name, folder=folder, problem=str(error)))
        return models

    def get(self, name: str) -> ModelInfo:
        return read_model_info(self._existing(name))

    def verify(self, name: str) -> list[str]:
        """Re-hash the model's files; one sentence per problem, empty when it is intact."""
        return verify_model(self._existing(name))

    def remove(self, name: str) -> None:
        folder = self._existing(name)
        try:
            shutil.rmtree(folder)
        except OSError as error:
            raise OutputError(f"could not remove {folder} ({error.strerror or error}); close programs using it and try again") from None

    def load(self, name: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, verify: bool = True) -> LoadedModel:
        return load_model_folder(self._existing(name), device, dtype, verify)

    def import_(self, src: str | Path, name: str | None = None, fp16: bool = False) -> Path:
        """Convert a released layout (or copy a model folder) into the library, checking keys, shapes and checksums."""
        src = Path(src).expanduser()
        if not src.exists():
            raise ModelError(f"{src} does not exist; point to a released model folder or one of our model folders")
        if not (src / MODEL_JSON).is_file():
            layout = detect_layout(src)
            return self.import_layout(layout, name or _default_name(src, layout), fp16)
        destination = self._new_model_folder(name or read_model_info(src).name)
        _import_model_folder(src, destination, destination.name, torch.float16 if fp16 else None)
        # the source's weights were checked against its configs; the copy must hash as model.json says
        raise_problems(verify_model(destination, check_weights=False))
        return destination

    def import_layout(self, layout: ReleasedLayout, name: str, fp16: bool = False) -> Path:
        """Convert an already located released layout into the library as ``name``."""
        destination = self._new_model_folder(name)
        _import_released(layout, destination, destination.name, torch.float16 if fp16 else None)
        raise_problems(verify_model(destination, check_weights=False))  # converting checked keys and shapes
        return destination

    def _new_model_folder(self, name: str) -> Path:
        destination = self.root / check_model_name(name)
        if destination.exists():
            raise ModelError(f"a model named {name!r} is already in the library; remove it first or pick another name with --name")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"could not create the model library at {self.root} ({error.strerror or error}); set TALKINGPOSE_MODELS_DIR to a writable folder") from None
        return destination

    def _existing(self, name: str) -> Path:
        folder = self.path(name)
        if not folder.is_dir():
            raise ModelError(
                f"no model named {name!r} in {self.root}; run `studio-cli models list` to see the installed ones "
                "or `studio-cli models import PATH` to add one"
            )
        return folder


def list_models(library: Library | None = None) -> list[ModelInfo]:
    """Installed models plus the bundled demo when it is present."""
    models = (library or Library()).list()
    if (demo_model_dir() / MODEL_JSON).is_file():
        try:
            models.insert(0, read_model_info(demo_model_dir()))
        except ModelError as error:
            models.insert(0, ModelInfo(name=DEMO_NAME, folder=demo_model_dir(), problem=str(error)))
    return models


def import_model(src: str | Path, name: str | None = None, fp16: bool = False, library: Library | None = None) -> Path:
    """Import ``src`` (a released layout or a model folder) into the library; returns the new model folder."""
    return (library or Library()).import_(src, name=name, fp16=fp16)


def load_model(
    name_or_path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | str = torch.float32,
    verify: bool = True,
    library: Library | None = None,
) -> LoadedModel:
    """Load "demo", a library model by name, a model folder, or a released layout (imported on the fly, in memory)."""
    from engine.device import resolve_device, resolve_dtype

    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    if isinstance(dtype, str):
        dtype = resolve_dtype(dtype, device)
    library = library or Library()
    text = str(name_or_path)
    if text == DEMO_NAME:
        if not (demo_model_dir() / MODEL_JSON).is_file():
            raise ModelError(f"the bundled demo model is missing from {demo_model_dir()}; reinstall TalkingPose Studio")
        return load_model_folder(demo_model_dir(), device, dtype, verify)
    if not isinstance(name_or_path, Path) and library.has(text):
        return library.load(text, device, dtype, verify)
    path = Path(name_or_path).expanduser()
    if (path / MODEL_JSON).is_file():
        return load_model_folder(path, device, dtype, verify)
    if is_released_layout(path):
        return _load_released_layout(path, device, dtype)
    if path.exists():
        raise ModelError(f"{path} is neither a model folder (no model.json) nor a released AnimateAnyone/TalkingPose layout (no denoising_unet.pth)")
    raise ModelError(
        f"no model named {text!r} in {library.root} and no such folder; run `studio-cli models list` to see the installed "
        "ones, or give the path of a model folder"
    )


def _load_released_layout(path: Path, device: torch.device, dtype: torch.dtype) -> LoadedModel:
    layout = detect_layout(path)
    components = load_released(layout).to(device, dtype).eval()
    notes, license_name = RELEASED_NOTES[layout.kind]
    info = ModelInfo(
        name=path.name, folder=path, architecture=architecture_from_unet_config(unet_config_of(layout)),
        resolution=RELEASED_RESOLUTION[layout.kind], scheduler=dict(components.scheduler_config),
        defaults=dict(RELEASED_DEFAULTS), notes=notes, source=layout.describe(), license=license_name,
    )
    return LoadedModel(components, info)


def _import_released(layout: ReleasedLayout, destination: Path, name: str, dtype: torch.dtype | None) -> None:
    notes, license_name = RELEASED_NOTES[layout.kind]
    with staged_folder(destination) as staging:
        stored_dtype = "fp16" if dtype == torch.float16 else "fp32"
        for component, module in iter_released_components(layout):  # one at a time: peak memory is one UNet
            write_component(component, module, staging / component, dtype)
            del module
        (staging / "scheduler").mkdir()
        (staging / "scheduler" / "scheduler_config.json").write_text(json.dumps(INFERENCE_SCHEDULER_CONFIG, indent=2))
        write_model_json(
            staging, name=name, architecture=architecture_from_unet_config(unet_config_of(layout)),
            resolution=RELEASED_RESOLUTION[layout.kind], scheduler=dict(INFERENCE_SCHEDULER_CONFIG),
            defaults=dict(RELEASED_DEFAULTS), notes=notes, source=layout.describe(), license=license_name, dtype=stored_dtype,
        )


def _import_model_folder(src: Path, destination: Path, name: str, dtype: torch.dtype | None) -> None:
    raise_problems(verify_model(src))  # checksums, paths inside src, and every weights file against its config
    info = read_model_info(src)
    if dtype is not None:
        loaded = load_model_folder(src, "cpu", torch.float32, verify=False)
        save_model_folder(
            loaded.components, destination, name, info.resolution, info.defaults, info.notes, dtype,
            source=info.source, license=info.license,
        )
        return
    with staged_folder(destination) as staging:
        for relative in info.files:
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / relative, target)
        write_model_json(
            staging, name=name, architecture=info.architecture, resolution=info.resolution, scheduler=info.scheduler,
            defaults=info.defaults, notes=info.notes, source=info.source, license=info.license, dtype=info.dtype,
        )


def _default_name(src: Path, layout: ReleasedLayout | None) -> str:
    base = src.resolve().name.lower()
    if layout is not None and base in ("pretrained_weights", "weights", "checkpoints", ""):
        base = layout.kind
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", base).strip("-._") or "model"
    return cleaned[:64] if cleaned != DEMO_NAME else "demo-copy"
