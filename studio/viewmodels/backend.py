"""The engine as the view-models see it: one small interface, the real adapter, nothing about Qt.

View-models call these methods only from worker tasks (studio.worker), never on the UI thread,
except the cheap listing ones. Tests replace the whole thing with a scripted fake engine.
Engine modules are imported lazily so the window opens even while a part is missing; a missing
part becomes a clear StudioError when it is first needed.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from engine.cancel import CancelToken
from engine.config import RenderSettings
from engine.errors import StudioError
from studio.project import data_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = REPO_ROOT / "resources"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class SourceInfo:
    """A loaded source image: RGB pixels and what the pose detector found in it."""

    path: str
    image: np.ndarray
    has_person: bool
    has_face: bool
    pose: Any = None  # engine.pose.keypoints.Pose when detected

    @property
    def warning(self) -> str:
        name = Path(self.path).name
        if not self.has_person:
            return f"No person found in {name}: choose a portrait where the face and upper body are visible."
        if not self.has_face:
            return f"No face found in {name}: the face will not follow the driving video; choose a frontal portrait."
        return ""


@dataclass(frozen=True)
class PresetChoice:
    """An export preset as the export dialog lists it."""

    description: str
    extension: str  # with the dot (".mp4"); "" for presets that write a folder (PNG sequence)


@dataclass(frozen=True)
class DrivingInfo:
    """What the timeline needs to know about a driving video."""

    path: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    has_audio: bool = False


class Backend(Protocol):
    """Everything the studio asks of the engine (see the module docstring for threading)."""

    def list_models(self) -> list[str]: ...
    def list_presets(self) -> dict[str, PresetChoice]: ...
    def load_source(self, path: Path) -> SourceInfo: ...
    def probe_driving(self, path: Path) -> DrivingInfo: ...
    def read_frame(self, path: Path, index: int) -> np.ndarray: ...
    def extract_poses(self, path: Path, cancel: CancelToken, on_progress: Callable[[int, int], None]) -> Any: ...
    def overlay(self, frame: np.ndarray, poses: Any, index: int) -> np.ndarray: ...
    def preview_frame(self, source: Path, driving: Path, index: int, settings: RenderSettings, model: str,
                      align: bool, smooth: float, cancel: CancelToken) -> Iterator[Any]: ...
    def create_job(self, work_dir: Path, source: Path, driving: Path, settings: RenderSettings, model: str,
                   start: int, end: int | None, align: bool, smooth: float) -> Any: ...
    def open_job(self, work_dir: Path) -> Any: ...
    def run_job(self, job: Any, cancel: CancelToken) -> Iterator[Any]: ...
    def export_job(self, job: Any, out: Path, preset: str, audio: bool, cancel: CancelToken) -> Path: ...


def _engine(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise StudioError(
            f"the engine part {module} is missing or broken ({error}); reinstall TalkingPose Studio"
        ) from None


def models_dir() -> Path:
    """Where user-installed models live (one folder each) until engine.weights.library lists them."""
    return data_dir() / "models"


class EngineBackend:
    """The real engine, called through its public functions only."""

    def list_models(self) -> list[str]:
        try:
            library = importlib.import_module("engine.weights.library")
            names = [str(getattr(model, "name", model)) for model in library.list_models()]
        except Exception:  # the library is optional; a broken one must not stop the window opening
            names = []
        folder = models_dir()
        if folder.is_dir():
            names += sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
        return ["demo"] + [name for name in dict.fromkeys(names) if name != "demo"]

    def list_presets(self) -> dict[str, PresetChoice]:
        try:
            presets = importlib.import_module("engine.video.presets").load_presets()
        except ImportError:
            return _presets_from_files(RESOURCES / "presets")
        return {name: PresetChoice(str(getattr(preset, "description", "")), _extension(preset)) for name, preset in presets.items()}

    def load_source(self, path: Path) -> SourceInfo:
        image = _engine("engine.video.reader").read_image(Path(path))
        pose = _engine("engine.pose.extract").detect_image(image)
        has_face = bool((np.asarray(pose.face)[:, 2] > 0).any())
        return SourceInfo(str(path), image, bool(pose.has_person), has_face, pose)

    def probe_driving(self, path: Path) -> DrivingInfo:
        info = _engine("engine.video.reader").probe(Path(path))
        return DrivingInfo(str(path), info.width, info.height, float(info.fps), info.frames, info.duration,
                           bool(getattr(info, "has_audio", False)))

    def read_frame(self, path: Path, index: int) -> np.ndarray:
        reader = _engine("engine.video.reader")
        for frame in reader.iter_frames(Path(path), index, index + 1):
            return frame.image
        raise StudioError(f"frame {index} of {Path(path).name} could not be read; the video may be truncated")

    def extract_poses(self, path: Path, cancel: CancelToken, on_progress: Callable[[int, int], None]) -> Any:
        driving = _engine("engine.pose.driving").open_driving(
            Path(path), cache_dir=data_dir() / "pose-cache", cancel=cancel, on_progress=on_progress
        )
        return driving.poses

    def overlay(self, frame: np.ndarray, poses: Any, index: int) -> np.ndarray:
        if poses is None or not 0 <= index < len(poses):
            return frame
        return _engine("engine.pose.draw").draw_overlay(frame, poses[index])

    def preview_frame(self, source, driving, index, settings, model, align, smooth, cancel):
        return _engine("engine.jobs").preview_frame(
            Path(source), Path(driving), index, settings, model=model, align=align, smooth=smooth, cancel=cancel
        )

    def create_job(self, work_dir, source, driving, settings, model, start, end, align, smooth):
        return _engine("engine.jobs").RenderJob.create(
            Path(work_dir), Path(source), Path(driving), settings, model=model, start=start, end=end,
            align=align, smooth=smooth,
        )

    def open_job(self, work_dir: Path) -> Any:
        return _engine("engine.jobs").RenderJob.open(Path(work_dir))

    def run_job(self, job: Any, cancel: CancelToken) -> Iterator[Any]:
        return job.run(cancel=cancel)

    def export_job(self, job: Any, out: Path, preset: str, audio: bool, cancel: CancelToken) -> Path:
        return Path(job.export(Path(out), preset=preset, audio=audio, cancel=cancel))


def _extension(preset: Any) -> str:
    for name in ("extension", "suffix", "container"):
        value = getattr(preset, name, None) if not isinstance(preset, dict) else preset.get(name)
        if isinstance(value, str) and value:
            return "" if value in ("folder", "dir", "png-sequence") else ("." + value.lstrip("."))
    return ".mp4"


def _presets_from_files(folder: Path) -> dict[str, PresetChoice]:
    presets: dict[str, PresetChoice] = {}
    for file in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        presets[str(data.get("name", file.stem))] = PresetChoice(str(data.get("description", "")), _extension(data))
    return presets
