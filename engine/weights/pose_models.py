"""The pose-model room of the ``engine.weights`` door: DWPose files and the pose-backend choice.

Front ends (studio/) reach pose models through here: the library (import, fetch, verify, find),
the backend names for a setting (``BACKENDS``: auto, mediapipe, dwpose) and what ``auto`` means
on this machine (``resolve_backend``). The code lives in engine.pose (engine.pose.dwpose.library,
engine.pose.backends), which the engine itself imports without loading torch.
"""

from engine.pose.backends import BACKENDS, backend_summary, dwpose_available, resolve_backend
from engine.pose.dwpose.library import (
    DWPOSE_FILES,
    DWPOSE_REPO,
    PoseModelFiles,
    fetch_dwpose,
    find_dwpose,
    import_pose_models,
    pose_library_dir,
    verify_pose_models,
)

__all__ = [
    "BACKENDS", "DWPOSE_FILES", "backend_summary", "DWPOSE_REPO", "PoseModelFiles", "dwpose_available", "fetch_dwpose", "find_dwpose",
    "import_pose_models", "pose_library_dir", "resolve_backend", "verify_pose_models",
]
