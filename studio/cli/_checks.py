"""What studio-cli commands share beyond output: choosing a preset for OUT and loading a model with
its recommended settings. Every input and output check itself is the engine's (``engine.inputs``).

Imports of the engine happen inside the functions, so a usage error never pays for torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputError, ModelError
from studio.cli._common import Reporter

TINY_SIZE = (32, 32)
DEFAULT_SIZE = (512, 512)


def choose_preset(out: Path, preset: str | None, reporter: Reporter, force: bool = False):
    """The preset asked for, else the one that suits OUT's extension. An OUT extension that fits
    no preset is refused (``engine.inputs.check_output`` refuses a mismatch) unless ``force``."""
    from engine.errors import SettingsError
    from engine.video.presets import DEFAULT_PRESET, load_preset, preset_for_output

    if preset:
        chosen = load_preset(_preset_argument(preset))
        if force and not chosen.is_image_sequence and out.suffix.lower() != chosen.extension.lower():
            reporter.warning(f"{out.name} will hold {chosen.name} data; players expect a name ending in {chosen.extension}")
        return chosen
    try:
        return preset_for_output(out)
    except SettingsError:
        if not force:
            raise InputError(f"{out.name} has no known video extension; name it .mp4, .mov or .webm, "
                             "or choose a preset with --preset (add --force to keep the name)") from None
        chosen = load_preset(DEFAULT_PRESET)
        reporter.warning(f"{out.name} has no known video extension; writing {chosen.name} (preset {chosen.id})")
        return chosen


def preset_reference(preset) -> str:
    """What to record so the same preset loads later: a bundled id, or the file's absolute path."""
    from engine.video.presets import bundled_presets_dir

    if preset.path is not None and Path(preset.path).resolve().parent != bundled_presets_dir().resolve():
        return str(Path(preset.path).resolve())
    return preset.id


def _preset_argument(text: str) -> str:
    path = Path(text).expanduser()
    return str(path.resolve()) if text.endswith(".toml") or path.is_file() else text


# -- models ------------------------------------------------------------------------------------
@dataclass
class LoadedModelParts:
    name: str
    components: Any
    defaults: dict = field(default_factory=dict)  # steps/cfg/beta the model was made for
    resolution: tuple[int, int] | None = None
    model_hash: str = ""


def model_argument(text: str) -> str:
    """A model name stays a name; an existing folder becomes its absolute path, so the job it is
    recorded in still finds it when resumed from another directory."""
    from engine.jobs import TINY_MODEL

    path = Path(text).expanduser()
    if text in ("demo", TINY_MODEL) or not path.exists():
        return text
    return str(path.resolve())


def load_model_parts(name: str) -> LoadedModelParts:
    """Load a model's components once, with its recommended settings, resolution and hash."""
    from engine.jobs import TINY_MODEL, load_model_with_hash, model_fingerprint

    if name == TINY_MODEL:
        components, model_hash = load_model_with_hash(name)
        return LoadedModelParts(name, components, {}, TINY_SIZE, model_hash)
    from engine.weights import load_model

    try:
        loaded = load_model(name)
    except FileNotFoundError as exc:
        raise ModelError(f"the model {name!r} is missing a file ({exc.filename}); re-import or re-fetch it") from None
    info = getattr(loaded, "info", None)
    defaults = dict(getattr(info, "defaults", None) or {})
    resolution = getattr(info, "resolution", None)
    return LoadedModelParts(name, loaded.components, defaults, tuple(resolution) if resolution else None,
                            model_fingerprint(loaded))
