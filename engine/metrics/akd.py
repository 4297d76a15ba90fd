"""Average Keypoint Distance (AKD) between the poses of a real and a generated video.

The paper (section 4.3) reports AKD on MediaPipe landmarks separately for face, hands and
torso, and AKD_lip for the lips (table 3). Here, on our canonical keypoints (docs/architecture.md, "Pose format"):

=======  =====================================================================
part     keypoints
=======  =====================================================================
face     the 68 iBUG face points
lips     face points 48..67 (outer and inner lip contour)
hands    both hands, 2 x 21 points
torso    OpenPose-18 neck, shoulders, elbows, wrists and hips (1-8, 11); the head
         points are covered by ``face`` and knees/ankles are rarely in frame
=======  =====================================================================

A keypoint counts only in frames where it is confident (>= ``min_confidence``) in both
videos. Its distance is the Euclidean distance in pixels of the real video's frame size
(normalised coordinates x W, y H), and AKD is the mean over all counted (frame, point) pairs,
so frames with more visible points weigh more. A part with no counted point has value None.
Sequences of different lengths are compared over the shorter one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.cancel import CancelToken
from engine.errors import InputError
from engine.pose.keypoints import PoseSequence

AKD_PARTS = ("face", "hands", "torso", "lips")
TORSO_POINTS = (1, 2, 3, 4, 5, 6, 7, 8, 11)
LIP_POINTS = tuple(range(48, 68))
DEFAULT_MIN_CONFIDENCE = 0.3


def part_keypoints(poses: PoseSequence, part: str) -> np.ndarray:
    """The (T, P, 3) keypoints of one AKD part."""
    if part == "face":
        return poses.face
    if part == "lips":
        return poses.face[:, list(LIP_POINTS)]
    if part == "hands":
        return poses.hands.reshape(len(poses), -1, 3)
    if part == "torso":
        return poses.body[:, list(TORSO_POINTS)]
    raise InputError(f"unknown AKD part '{part}'; use one of {', '.join(AKD_PARTS)}")


def average_keypoint_distance(
    real: PoseSequence,
    generated: PoseSequence,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    frame_size: tuple[int, int] | None = None,
) -> dict[str, dict]:
    """AKD in pixels per part: {part: {"value": float | None, "points": n, "method": ...}}."""
    width, height = frame_size if frame_size is not None else (real.width, real.height)
    if width <= 0 or height <= 0:
        raise InputError("the real pose sequence does not record its frame size; pass frame_size=(width, height)")
    frames = min(len(real), len(generated))
    scale = np.array([width, height], np.float64)
    out: dict[str, dict] = {}
    for part in AKD_PARTS:
        a = part_keypoints(real, part)[:frames].astype(np.float64)
        b = part_keypoints(generated, part)[:frames].astype(np.float64)
        counted = (a[..., 2] >= min_confidence) & (b[..., 2] >= min_confidence)
        distances = np.linalg.norm((a[..., :2] - b[..., :2]) * scale, axis=-1)[counted]
        out[f"akd_{part}"] = {
            "value": float(distances.mean()) if distances.size else None,
            "points": int(distances.size),
            "frames": frames,
            "method": f"{part} keypoints, pixels of {width}x{height}, points with confidence >= {min_confidence:g} in both",
        }
    return out


def akd_videos(
    real_video: str | Path,
    generated_video: str | Path,
    *,
    cache_dir: str | Path | None = None,
    cancel: CancelToken | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    max_frames: int | None = None,
    pose_backend: str = "auto",
    pose_model: str | Path | None = None,
) -> dict[str, dict]:
    """Extract poses of both videos (with ``pose_backend``, cached) and compare the first ``max_frames``
    with AKD; each entry's ``method`` and ``pose_backend`` name the extractor (AKD depends on it)."""
    from engine.pose.extract import extract_poses  # the extractor loads only when AKD is asked for

    real = extract_poses(Path(real_video), cache_dir=cache_dir, cancel=cancel, backend=pose_backend, pose_model=pose_model)
    generated = extract_poses(Path(generated_video), cache_dir=cache_dir, cancel=cancel, backend=pose_backend,
                              pose_model=pose_model)
    if max_frames is not None:
        real, generated = real.slice(0, max_frames), generated.slice(0, max_frames)
    result = average_keypoint_distance(real, generated, min_confidence=min_confidence)
    backend = str(real.meta.get("pose_backend", ""))
    for entry in result.values():
        entry["pose_backend"] = backend
        entry["method"] = f"{entry['method']}; keypoints by {backend}" if backend else entry["method"]
    return result
