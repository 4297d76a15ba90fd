"""The engine as the view-models see it: one small interface, the real adapter, nothing about Qt.

View-models call these methods only from worker tasks (studio.gui.worker), never on the UI thread,
except the cheap listing ones. Tests replace the whole thing with a scripted fake engine.
Engine modules are imported lazily so the window opens even while a part is missing; a missing
part becomes a clear StudioError when it is first needed.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from engine.cancel import CancelToken
from engine.config import RenderSettings
from engine.errors import StudioError
from studio.gui.project import data_dir

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

    def list_presets(self) -> dict[str, PresetChoice]:
        presets = _engine("engine.video.presets").list_presets()
        return {preset.id: PresetChoice(preset.description or preset.name, preset.extension) for preset in presets}

    def load_source(self, path: Path) -> SourceInfo:
        image = _engine("engine.video.reader").read_image(Path(path))
        pose = _engine("engine.pose.extract").detect_image(image)
        has_face = bool((np.asarray(pose.face)[:, 2] > 0).any())
        return SourceInfo(str(path), image, bool(pose.has_person), has_face, pose)

    def probe_driving(self, path: Path) -> DrivingInfo:
        reader = _engine("engine.video.reader")
        if Path(path).suffix.lower() == ".npz":  # a pose file: no pixels, but the timeline still needs its length
            driving = _engine("engine.pose.driving").open_driving(Path(path))
            return DrivingInfo(str(path), 0, 0, float(driving.fps), driving.frames, driving.frames / driving.fps)
        info = reader.probe(Path(path))
        return DrivingInfo(str(path), info.width, info.height, float(info.fps), int(info.frame_count),
                           float(info.duration), bool(info.has_audio))

    def read_frame(self, path: Path, index: int) -> np.ndarray:
        if Path(path).suffix.lower() == ".npz":
            return _engine("engine.pose.driving").open_driving(Path(path)).pose_image(index, 512, 512)
        return _engine("engine.video.reader").read_frame(Path(path), index)


    def extract_poses(self, path: Path, cancel: CancelToken, on_progress: Callable[[int, int], None]) -> Any:
        driving = _engine("engine.pose.driving").open_driving(
            Path(path), cache_dir=pose_cache_dir(), cancel=cancel, on_progress=on_progress
        )
        return driving.poses

    def overlay(self, frame: np.ndarray, poses: Any, index: int) -> np.ndarray:
        if poses is None or not 0 <= index < len(poses):
            return frame
        return _engine("engine.pose.draw").draw_overlay(frame, poses[index])

    def preview_frame(self, source, driving, index, settings, model, align, smooth, cancel):
        # The shared pose cache makes each preview reuse the extraction the timeline already ran.
        return _engine("engine.jobs").preview_frame(
            Path(source), Path(driving), index, settings, model=model, align=align, smooth=smooth, cancel=cancel,
            cache_dir=pose_cache_dir(),
        )

    def create_job(self, work_dir, source, driving, settings, model, start, end, align, smooth):
        job = _engine("engine.jobs").RenderJob.create(
            Path(work_dir), Path(source), Path(driving), settings, model=model, start=start, end=end,
            align=align, smooth=smooth,
        )
        _seed_pose_cache(Path(driving), Path(job.work_dir) / "poses")
        return job

    def prepare_job(self, job: Any, cancel: CancelToken, on_progress: Callable[[int, int], None]) -> None:
        job.driving(cancel=cancel, on_progress=on_progress)  # analyse now, cancellable and with progress

    def open_job(self, work_dir: Path) -> Any:
        return _engine("engine.jobs").RenderJob.open(Path(work_dir))

    def run_job(self, job: Any, cancel: CancelToken) -> Iterator[Any]:
        return job.run(cancel=cancel)

    def export_job(self, job: Any, out: Path, preset: str, audio: bool, cancel: CancelToken) -> Path:
        return Path(job.export(Path(out), preset=preset, audio=audio, cancel=cancel))


def _seed_pose_cache(driving: Path, job_cache: Path) -> None:
    """Give a new job the poses the timeline already extracted, so a long video is analysed once.

    The cache is ``<cache_dir>/<fingerprint>.npz`` (engine.pose.extract); a miss only costs time.
    """
    try:
        fingerprint = _engine("engine.video.reader").video_fingerprint(driving)
        cached = pose_cache_dir() / f"{fingerprint}.npz"
        target = job_cache / cached.name
        if cached.is_file() and not target.exists():
            job_cache.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, target)
    except (OSError, StudioError):
        pass
