"""The pose-backend seam: which extractor turns frames into keypoints.

``mediapipe`` (MediaPipe Holistic, CPU, bundled) and ``dwpose`` (the official DWPose ONNX models,
GPU when ONNX Runtime has one). ``auto`` picks dwpose when its model files are available (in the
library, or the folder passed as ``model_dir``), else mediapipe. Both backends offer
``detect(frames) -> list[Pose]`` on consecutive RGB frames, ``reset()`` between videos, ``close()``,
``batch_size`` and ``info`` (backend, provider, extractor version: recorded in pose metadata).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.errors import SettingsError
from engine.pose.keypoints import Pose

BACKENDS = ("auto", "mediapipe", "dwpose")
CHOICES = BACKENDS[1:]


class PoseBackend(Protocol):
    name: str
    info: dict
    batch_size: int

    def detect(self, frames: list[np.ndarray]) -> list[Pose]: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


def check_backend_name(name: str) -> str:
    if name not in BACKENDS:
        raise SettingsError("pose_backend", f"{name!r} is not a pose backend; use one of: {', '.join(BACKENDS)}")
    return name


def dwpose_available(model_dir: str | Path | None = None) -> bool:
    """True when the DWPose files are in ``model_dir`` (when given) or in the pose-model library."""
    from engine.errors import ModelError
    from engine.pose.dwpose.library import find_dwpose

    try:
        return find_dwpose(model_dir) is not None
    except ModelError:
        return False


def resolve_backend(name: str = "auto", model_dir: str | Path | None = None) -> str:
    """The backend ``name`` stands for: "auto" -> "dwpose" when its files are available, else "mediapipe".

    With ``model_dir`` given, "auto" means dwpose (a folder without the files is then a ModelError
    when the backend opens, rather than a silent switch to MediaPipe).
    """
    check_backend_name(name)
    if name != "auto":
        return name
    return "dwpose" if model_dir is not None or dwpose_available() else "mediapipe"


def backend_identity(name: str = "auto", model_dir: str | Path | None = None) -> dict:
    """What made a pose sequence: backend, extractor version and model hashes (keys the pose cache)."""
    resolved = resolve_backend(name, model_dir)
    if resolved == "mediapipe":
        from engine.pose.extract import MEDIAPIPE_VERSION, MODEL_COMPLEXITY

        return {"pose_backend": "mediapipe", "extractor_version": MEDIAPIPE_VERSION, "model": f"holistic-{MODEL_COMPLEXITY}"}
    from engine.errors import ModelError
    from engine.pose.dwpose import EXTRACTOR_VERSION
    from engine.pose.dwpose.library import find_dwpose, missing_files_message, pose_library_dir

    files = find_dwpose(model_dir)
    if files is None:
        raise ModelError(missing_files_message(pose_library_dir()))
    return {"pose_backend": "dwpose", "extractor_version": EXTRACTOR_VERSION, "model": dict(sorted(files.sha256.items()))}


def identity_key(identity: dict) -> str:
    """A short stable id of ``backend_identity``'s dict (part of the pose cache file name)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def open_backend(
    name: str = "auto",
    model_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 8,
    static_images: bool = False,
) -> PoseBackend:
    """Open the backend ``name`` ("auto" resolved as in ``resolve_backend``).

    ``device`` ("auto", "cpu", "cuda") and ``batch_size`` apply to dwpose; ``static_images``
    makes MediaPipe treat every frame as a new picture (no tracking). Raises ModelError for
    missing or bad DWPose files, or a GPU requested where ONNX Runtime has none.
    """
    resolved = resolve_backend(name, model_dir)
    if resolved == "mediapipe":
        from engine.pose.extract import MediaPipeBackend

        return MediaPipeBackend(static_image_mode=static_images)
    from engine.errors import ModelError
    from engine.pose.dwpose import DWPoseBackend
    from engine.pose.dwpose.library import find_dwpose, missing_files_message, pose_library_dir

    files = find_dwpose(model_dir)
    if files is None:
        raise ModelError(missing_files_message(pose_library_dir()))
    backend = DWPoseBackend(files.folder, device=device, batch_size=batch_size)
    backend.info["pose_model_source"] = files.source
    return backend


def backend_summary(name: str = "auto", model_dir: str | Path | None = None, device: str = "auto") -> dict:
    """What a front end prints before the analysis: {"pose_backend": resolved name, "pose_provider": ...}.

    Cheap (no model is loaded) and it fails early: ModelError for missing DWPose files or a GPU
    requested where ONNX Runtime has none. The provider is the one ONNX Runtime will be asked for
    first; ``info["pose_provider"]`` of the opened backend says which one it really used.
    """
    resolved = resolve_backend(name, model_dir)
    if resolved == "mediapipe":
        return {"pose_backend": "mediapipe", "pose_provider": "CPU (MediaPipe)"}
    from engine.errors import ModelError
    from engine.pose.dwpose.library import find_dwpose, missing_files_message, pose_library_dir
    from engine.pose.dwpose.sessions import providers_for

    if find_dwpose(model_dir) is None:
        raise ModelError(missing_files_message(pose_library_dir()))
    return {"pose_backend": "dwpose", "pose_provider": providers_for(device)[0]}
