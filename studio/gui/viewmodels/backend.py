"""The engine as the view-models see it: one small interface, the real adapter, nothing about Qt.

View-models call these methods only from worker tasks (studio.gui.worker), never on the UI thread,
except the cheap listing ones. Tests replace the whole thing with a scripted fake engine.
Engine modules are imported lazily so the window opens even while a part is missing; a missing
part becomes a clear StudioError when it is first needed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from engine.cancel import CancelToken
from engine.config import RenderSettings
from engine.errors import StudioError
from engine.inputs import IMAGE_SUFFIXES, DrivingInfo
from studio.gui.project import data_dir


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

    @property
    def has_audio(self) -> bool:
        """GIFs and image sequences carry no sound."""
        return self.extension not in ("", ".gif")


class Backend(Protocol):
    """Everything the studio asks of the engine (see the module docstring for threading)."""

    def list_models(self) -> list[str]: ...
    def list_model_cards(self, verified: dict[str, str]) -> list[Any]: ...
    def list_presets(self) -> dict[str, PresetChoice]: ...
    def load_source(self, path: Path, pose_backend: str = "auto") -> SourceInfo: ...
    def probe_driving(self, path: Path) -> DrivingInfo: ...
    def read_frame(self, path: Path, index: int) -> np.ndarray: ...
    def check_pose_backend(self, pose_backend: str) -> str: ...
    def open_poses(self, path: Path, pose_backend: str = "auto") -> Any: ...
    def poses_progress(self, poses: Any) -> tuple[int, int, bool]: ...
    def close_poses(self, poses: Any) -> None: ...
    def pose_backend_of(self, poses: Any) -> str: ...
    def overlay(self, frame: np.ndarray, poses: Any, index: int) -> np.ndarray | None: ...
    def preview_frame(self, source: Path, driving: Path, index: int, settings: RenderSettings, model: str,
                      align: bool, smooth: float, cancel: CancelToken, pose_backend: str = "auto") -> Iterator[Any]: ...
    def create_job(self, work_dir: Path, source: Path, driving: Path, settings: RenderSettings, model: str,
                   start: int, end: int | None, align: bool, smooth: float, pose_backend: str = "auto") -> Any: ...
    def open_job(self, work_dir: Path) -> Any: ...
    def prepare_job(self, job: Any, cancel: CancelToken, on_progress: Callable[[int, int], None]) -> None: ...
    def run_job(self, job: Any, cancel: CancelToken) -> Iterator[Any]: ...
    def export_job(self, job: Any, out: Path, preset: str, audio: bool, cancel: CancelToken) -> Path: ...


def _engine(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise StudioError(
            f"the engine part {module} is missing or broken ({error}); reinstall TalkingPose Studio"
        ) from None


def pose_cache_dir() -> Path:
    """Poses extracted for the timeline, reused by previews (keyed by the video's fingerprint)."""
    return data_dir() / "pose-cache"


class EngineBackend:
    """The real engine, called through its public functions only."""

    def list_models(self) -> list[str]:
        # "demo" is always offered: if its weights are missing, rendering says so in one sentence.
        names = [model.name for model in _engine("engine.weights.library").list_models()]
        return ["demo"] + [name for name in dict.fromkeys(names) if name != "demo"]

    def list_model_cards(self, verified: dict[str, str]) -> list[Any]:
        from studio.gui.viewmodels.models import read_cards

        return read_cards(None, verified)

    def list_presets(self) -> dict[str, PresetChoice]:
        presets = _engine("engine.video.presets").list_presets()
        return {preset.id: PresetChoice(preset.description or preset.name, preset.extension) for preset in presets}

    def load_source(self, path: Path, pose_backend: str = "auto") -> SourceInfo:
        # engine.inputs checks the file (the same sentences as the CLI and batch), then the person is found.
        image = _engine("engine.inputs").inspect_source(Path(path)).image
        person = _engine("engine.preview").find_source_person(image, Path(path), pose_backend=pose_backend)
        return SourceInfo(str(path), image, person.has_person, person.has_face, person.pose)

    def probe_driving(self, path: Path) -> DrivingInfo:
        return _engine("engine.inputs").inspect_driving(Path(path))

    def read_frame(self, path: Path, index: int) -> np.ndarray:
        return _engine("engine.preview").driving_frame(Path(path), index)

    def check_pose_backend(self, pose_backend: str) -> str:
        """The detector ``pose_backend`` stands for here; ModelError when DWPose's files are missing."""
        return _engine("engine.preview").pose_backend_summary(pose_backend)["pose_backend"]

    def open_poses(self, path: Path, pose_backend: str = "auto") -> Any:
        # Streamed: returns at once; frames become available as they are analysed into the shared
        # cache, which a render job is seeded from (create_job).
        return _engine("engine.preview").open_preview(Path(path), pose_cache_dir(), pose_backend=pose_backend)

    def poses_progress(self, poses: Any) -> tuple[int, int, bool]:
        return _engine("engine.preview").preview_progress(poses)

    def close_poses(self, poses: Any) -> None:
        _engine("engine.preview").close_preview(poses)

    def pose_backend_of(self, poses: Any) -> str:
        return _engine("engine.preview").pose_backend_of(poses)

    def overlay(self, frame: np.ndarray, poses: Any, index: int) -> np.ndarray | None:
        return _engine("engine.preview").preview_overlay(frame, poses, index)

    def preview_frame(self, source, driving, index, settings, model, align, smooth, cancel, pose_backend="auto"):
        # The shared pose cache makes each preview reuse the extraction the timeline already ran.
        return _engine("engine.jobs").preview_frame(
            Path(source), Path(driving), index, settings, model=model, align=align, smooth=smooth, cancel=cancel,
            cache_dir=pose_cache_dir(), pose_backend=pose_backend,
        )

    def create_job(self, work_dir, source, driving, settings, model, start, end, align, smooth, pose_backend="auto"):
        job = _engine("engine.jobs").RenderJob.create(
            Path(work_dir), Path(source), Path(driving), settings, model=model, start=start, end=end,
            align=align, smooth=smooth, pose_backend=pose_backend,
        )
        job.seed_pose_cache(pose_cache_dir())
        return job

    def prepare_job(self, job: Any, cancel: CancelToken, on_progress: Callable[[int, int], None]) -> None:
        job.driving(cancel=cancel, on_progress=on_progress)  # analyse now, cancellable and with progress

    def open_job(self, work_dir: Path) -> Any:
        return _engine("engine.jobs").RenderJob.open(Path(work_dir))

    def run_job(self, job: Any, cancel: CancelToken) -> Iterator[Any]:
        return job.run(cancel=cancel)

    def export_job(self, job: Any, out: Path, preset: str, audio: bool, cancel: CancelToken) -> Path:
        return Path(job.export(Path(out), preset=preset, audio=audio, cancel=cancel))
