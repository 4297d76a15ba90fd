"""Checks and records that studio-cli commands share: SOURCE, DRIVING, OUT and presets (all before any
model loads), loading a model with its recommended settings, and the work dir's ``cli.json``.

Imports of the engine happen inside the functions, so a usage error never pays for torch.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputError, ModelError, OutputError, SettingsError
from studio.cli._common import Reporter, TimeSpec

CLI_RECORD = "cli.json"  # in a work dir: where animate exports (so resume can finish the job)
CLI_RECORD_VERSION = 1
TINY_SIZE = (32, 32)
DEFAULT_SIZE = (512, 512)


# -- inputs and outputs ------------------------------------------------------------------------
def check_source(path: Path) -> Path:
    """SOURCE must be one readable image; a video or folder gets its own clear message."""
    from engine.pose.driving import VIDEO_SUFFIXES
    from engine.video.reader import read_image

    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a folder; SOURCE must be one image (PNG or JPEG) of the person")
    if not path.exists():
        raise InputError(f"source image not found: {path}; check the path")
    if path.suffix.lower() in VIDEO_SUFFIXES or path.suffix.lower() == ".npz":
        raise InputError(f"{path.name} is not an image; SOURCE must be one image (PNG or JPEG) of the person, e.g. a frame saved from a video")
    read_image(path)  # a corrupt image fails here, before any model loads
    return path.resolve()


@dataclass(frozen=True)
class DrivingInfo:
    path: Path
    kind: str  # "poses" | "video" | "pose_video"
    fps: float
    frames: int


def check_driving(path: Path) -> DrivingInfo:
    """DRIVING must be a video, a pose video or a .npz pose file that opens; nothing is analysed yet."""
    from engine.pose import posevideo
    from engine.pose.driving import DRIVING_ACCEPTS, IMAGE_SUFFIXES, VIDEO_SUFFIXES
    from engine.pose.keypoints import PoseSequence
    from engine.video import reader

    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a folder; {DRIVING_ACCEPTS}")
    if not path.exists():
        raise InputError(f"driving file not found: {path}; check the path")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        raise InputError(f"{path.name} is a still image; {DRIVING_ACCEPTS}")
    if suffix == ".npz":
        poses = PoseSequence.load(path)
        if len(poses) == 0:
            raise InputError(f"{path.name} holds no frames; make a pose file from a video with 'studio-cli poses'")
        return DrivingInfo(path.resolve(), "poses", float(poses.fps), len(poses))
    try:
        info = reader.probe(path)
    except InputError:
        if suffix in VIDEO_SUFFIXES:
            raise
        raise InputError(f"{path.name} is neither a video nor a pose file; {DRIVING_ACCEPTS}") from None
    kind = "pose_video" if posevideo.looks_like_pose_video(path) else "video"
    return DrivingInfo(path.resolve(), kind, float(info.fps), int(info.frame_count))


def frame_range(driving: DrivingInfo, start: TimeSpec | None, end: TimeSpec | None) -> tuple[int, int | None]:
    """(first frame, one past the last or None) of the driving input, checked against its length."""
    first = start.to_frame(driving.fps) if start is not None else 0
    last = end.to_frame(driving.fps) if end is not None else None
    length = f"{driving.frames} frames, {driving.frames / driving.fps:.2f} s"
    if first >= driving.frames:
        raise InputError(f"--start {start.text} is past the end of the driving input ({length}); choose an earlier start")
    if last is not None and last <= first:
        raise InputError(f"--end {end.text} is not after --start {start.text if start else 0}; the end must come after the start")
    return first, last


def choose_preset(out: Path, preset: str | None, reporter: Reporter):
    """The preset asked for, else the one that suits OUT's extension, else the default (with a warning)."""
    from engine.video.presets import DEFAULT_PRESET, load_preset, preset_for_output

    if preset:
        chosen = load_preset(_preset_argument(preset))
        if not chosen.is_image_sequence and out.suffix.lower() != chosen.extension.lower():
            reporter.warning(f"{out.name} will hold {chosen.name} data; players expect a name ending in {chosen.extension}")
        return chosen
    try:
        return preset_for_output(out)
    except SettingsError:
        chosen = load_preset(DEFAULT_PRESET)
        reporter.warning(f"{out.name} has no known video extension; writing {chosen.name} (preset {chosen.id}); pass --preset to choose")
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


def check_output(out: Path, preset) -> Path:
    """Fail now (exit 4), not after an hour of rendering, when OUT cannot be written."""
    out = Path(out).expanduser().absolute()
    if preset.is_image_sequence:
        if out.exists() and not (out.is_dir() and not any(out.iterdir())):
            raise OutputError(f"{out} already exists; PNG frames need a new or empty folder, so choose another name")
    elif out.is_dir():
        raise OutputError(f"{out} is a folder; give a file name ending in {preset.extension}")
    check_writable_folder(out.parent, out)
    return out


def check_writable_folder(folder: Path, for_path: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written there."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise OutputError(f"cannot write {for_path}: {blocker} is a file, not a folder; choose another place")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".studio-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot write {for_path} ({reason} in {folder}); choose a writable folder") from None


# -- models ------------------------------------------------------------------------------------
@dataclass
class LoadedModelParts:
    name: str
    components: Any
    defaults: dict = field(default_factory=dict)  # steps/cfg/beta the model was made for
    resolution: tuple[int, int] | None = None


def model_argument(text: str) -> str:
    """A model name stays a name; an existing folder becomes its absolute path, so the job it is
    recorded in still finds it when resumed from another directory."""
    from engine.jobs import TINY_MODEL

    path = Path(text).expanduser()
    if text in ("demo", TINY_MODEL) or not path.exists():
        return text
    return str(path.resolve())


def load_model_parts(name: str) -> LoadedModelParts:
    """Load a model's components once, with its recommended settings and resolution."""
    from engine.jobs import TINY_MODEL

    if name == TINY_MODEL:
        from engine.jobs import load_components

        return LoadedModelParts(name, load_components(name, None), {}, TINY_SIZE)
    try:
        from engine.weights import load_model
    except ImportError:
        raise ModelError(f"cannot load the model {name!r}: this build has no model support (engine.weights); "
                         f"reinstall TalkingPose Studio") from None
    try:
        loaded = load_model(name)
    except FileNotFoundError as exc:
        raise ModelError(f"the model {name!r} is missing a file ({exc.filename}); re-import or re-fetch it") from None
    info = getattr(loaded, "info", None)
    defaults = dict(getattr(info, "defaults", None) or {})
    resolution = getattr(info, "resolution", None)
    return LoadedModelParts(name, loaded.components, defaults, tuple(resolution) if resolution else None)


# -- the work dir's cli.json -------------------------------------------------------------------
def write_cli_record(work_dir: Path, output: Path, preset: str, audio: bool) -> None:
    record = {"format_version": CLI_RECORD_VERSION, "output": str(output), "preset": preset, "audio": bool(audio)}
    try:
        tmp = work_dir / (CLI_RECORD + ".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, work_dir / CLI_RECORD)
    except OSError as exc:
        raise OutputError(f"cannot write {work_dir / CLI_RECORD} ({exc.strerror}); choose a writable --work-dir") from None


def read_cli_record(work_dir: Path) -> dict | None:
    """The output recorded by ``animate`` (None when the job was started elsewhere, e.g. the GUI)."""
    path = Path(work_dir) / CLI_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        return {"output": str(record["output"]), "preset": str(record["preset"]), "audio": bool(record["audio"])}
    except (ValueError, KeyError, TypeError, OSError):
        raise InputError(f"{path} is damaged; finish with 'studio-cli resume {work_dir} -o OUT'") from None
