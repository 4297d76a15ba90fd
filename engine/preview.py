"""What front ends show of their inputs, through one door: driving frames, found poses, pose
overlays, the source person; and the pose files and pose previews of ``studio-cli poses``.

Front ends call these instead of engine.pose / engine.video.reader (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.cancel import CancelToken
from engine.inputs import DrivingInfo, inspect_driving

POSE_FILE_PREVIEW_SIZE = 512  # a pose file has no pixels; its frames are drawn at this size


@dataclass(frozen=True)
class SourcePerson:
    """What the pose detector found in a source image (``pose`` is opaque to front ends)."""

    has_person: bool
    has_face: bool
    pose: Any = None


def find_source_person(image: np.ndarray, path: str | Path | None = None, pose_backend: str = "auto",
                       pose_model: str | Path | None = None) -> SourcePerson:
    """Detect the person in a source image.

    Args:
        image: (H, W, 3) uint8 RGB, e.g. ``engine.inputs.inspect_source(path).image``.
        path: the image's file; the bundled puppet sample, which the detector cannot see, then
            gets its known pose (:func:`known_source_pose`).
        pose_backend, pose_model: the extractor (auto, mediapipe, dwpose; see :func:`pose_backend_summary`).
    Returns:
        A :class:`SourcePerson`.
    """
    from engine.pose.extract import detect_image

    pose = detect_image(image, pose_backend, pose_model)
    if not pose.has_person and path is not None:
        pose = known_source_pose(path, image) or pose
    return SourcePerson(bool(pose.has_person), bool((np.asarray(pose.face)[:, 2] > 0).any()), pose)


def known_source_pose(path: str | Path, image: np.ndarray) -> Any:
    """The known pose of the bundled sample source, or None for any other picture (engine.sample_pose).

    Args:
        path: the source image's file.
        image: its (H, W, 3) uint8 RGB pixels (an edited copy of the sample gets None).

    Returns:
        An ``engine.pose.keypoints.Pose`` (normalised coordinates), or None.
    """
    from engine.sample_pose import known_source_pose as known

    return known(path, image)


def driving_frame(driving: DrivingInfo | str | Path, index: int) -> np.ndarray:
    """Frame ``index`` of a driving input as (H, W, 3) uint8 RGB: the video frame, or for a pose
    file its drawing at ``POSE_FILE_PREVIEW_SIZE`` squared.

    Args:
        driving: a :class:`DrivingInfo` from ``inspect_driving``, or a path (inspected here).
        index: the 0-based frame index.

    Returns:
        (H, W, 3) uint8 RGB, H x W the video's displayed size (or the pose drawing's).
    """
    info = driving if isinstance(driving, DrivingInfo) else inspect_driving(driving)
    if info.kind == "poses":
        from engine.pose.driving import open_driving

        side = POSE_FILE_PREVIEW_SIZE
        return open_driving(info).pose_image(index, side, side)
    from engine.video.reader import read_frame

    return read_frame(info.path, index)


def driving_poses(driving: DrivingInfo | str | Path, cache_dir: str | Path | None = None,
                  cancel: CancelToken | None = None, on_progress: Callable[[int, int], None] | None = None,
                  pose_backend: str = "auto", pose_model: str | Path | None = None) -> Any:
    """The keypoints of every driving frame (None for a pose video), analysed once per ``cache_dir``.

    The result is opaque to front ends: hand it to :func:`pose_overlay` and :func:`pose_count`.

    Args:
        driving: a :class:`DrivingInfo` or a path.
        cache_dir: where analysed keypoints are kept, so a second call (or the render) reuses them.
        cancel: stops the analysis between frames.
        on_progress: ``on_progress(done, total)`` after each analysed frame.
        pose_backend, pose_model: the extractor (see :func:`pose_backend_summary`); the result's
            :func:`pose_backend_of` says which one made it.

    Returns:
        The frames' keypoints (a ``PoseSequence``, normalised coordinates), or None for a pose video.
    """
    from engine.pose.driving import open_driving

    info = driving if isinstance(driving, DrivingInfo) else inspect_driving(driving)
    return open_driving(info, cache_dir=Path(cache_dir) if cache_dir else None, cancel=cancel,
                        on_progress=on_progress, pose_backend=pose_backend, pose_model=pose_model).poses


def pose_backend_summary(pose_backend: str = "auto", pose_model: str | Path | None = None) -> dict:
    """What a driving analysis will run, found without loading a model (front ends print it first).

    Args:
        pose_backend: "auto" (dwpose when its files are installed or ``pose_model`` is given,
            else mediapipe), "mediapipe" or "dwpose".
        pose_model: a folder with the two DWPose ONNX files (None: the model library's).

    Returns:
        ``{"pose_backend": "mediapipe" | "dwpose", "pose_provider": ...}``. Raises ModelError now for
        missing DWPose files or a GPU ONNX Runtime lacks, SettingsError for an unknown name. The
        library itself (import, fetch) is ``engine.weights.pose_models``.
    """
    from engine.pose.backends import backend_summary

    return backend_summary(pose_backend, pose_model)


def pose_backend_of(poses: Any) -> str:
    """Which extractor made :func:`driving_poses`' or :func:`open_preview`'s result: "mediapipe",
    "dwpose", "sample" (the bundled sample's shipped poses), or "" when unknown."""
    stream = getattr(poses, "stream", None)
    if stream is not None:
        return str(stream.identity.get("pose_backend", ""))
    meta = getattr(poses, "meta", None) or {}
    return str(meta.get("pose_backend", ""))


def open_preview(driving: DrivingInfo | str | Path, cache_dir: str | Path | None = None, pose_backend: str = "auto",
                 pose_model: str | Path | None = None) -> Any:
    """Start analysing a driving video in the background and return at once (a GUI never waits on
    a long video); the bundled sample video gets its shipped poses instead (engine.sample_pose).

    Args:
        driving: a :class:`DrivingInfo` or a path.
        cache_dir: the pose cache the analysis fills (a render job seeded from it reuses the chunks).
        pose_backend, pose_model: the extractor (see :func:`pose_backend_summary`).

    Returns:
        An opaque handle for :func:`preview_progress`, :func:`preview_overlay`, :func:`pose_backend_of`
        and :func:`close_preview`; None for a pose file or pose video (nothing to analyse).
    """
    info = driving if isinstance(driving, DrivingInfo) else inspect_driving(driving)
    if info.kind != "video":
        return None
    from engine.sample_pose import known_driving_poses

    known = known_driving_poses(info.path)
    if known is not None:
        return known
    from engine.pose.streamed_driving import open_preview as open_streamed

    return open_streamed(Path(info.path), Path(cache_dir) if cache_dir else None, pose_backend=pose_backend,
                         pose_model=pose_model)


def preview_progress(handle: Any) -> tuple[int, int, bool]:
    """How far :func:`open_preview`'s analysis is, without waiting.

    Args:
        handle: what :func:`open_preview` returned.

    Returns:
        ``(frames analysed, frames expected, finished)``. Raises the analysis's InputError/ModelError
        once it has failed (no frames, nobody in the video, missing model files).
    """
    if handle is None or not hasattr(handle, "stream"):
        count = pose_count(handle)
        return count, count, True
    done, total = handle.analysis_progress()
    if handle.stream.finished:
        handle.stream.get(done)  # past the end: returns at once, or raises what stopped the analysis
    return done, total, bool(handle.stream.finished)


def preview_overlay(frame: np.ndarray, handle: Any, index: int) -> np.ndarray | None:
    """``frame`` with frame ``index``'s keypoints drawn over it, or None when they are not analysed yet.

    Args:
        frame: (H, W, 3) uint8 RGB, the driving frame ``index``.
        handle: what :func:`open_preview` returned.
        index: the frame's 0-based index.

    Returns:
        A new (H, W, 3) uint8 RGB array, or None (never waits for the analysis).
    """
    if handle is None:
        return None
    if not hasattr(handle, "stream"):
        return pose_overlay(frame, handle, index) if 0 <= index < len(handle) else None
    drawing = handle.ready_pose_image(index, frame.shape[1], frame.shape[0])
    if drawing is None:
        return None
    return np.where(drawing.any(axis=2, keepdims=True), drawing, frame)


def close_preview(handle: Any) -> None:
    """Stop :func:`open_preview`'s analysis (finished chunks stay in its cache); None is fine."""
    if handle is not None and hasattr(handle, "close"):
        handle.close()


def pose_count(poses: Any) -> int:
    """How many frames :func:`driving_poses` returned.

    Args:
        poses: what :func:`driving_poses` returned.

    Returns:
        The frame count (0 for None).
    """
    return 0 if poses is None else len(poses)


def pose_overlay(frame: np.ndarray, poses: Any, index: int) -> np.ndarray:
    """``frame`` with frame ``index``'s keypoints drawn over it.

    Args:
        frame: (H, W, 3) uint8 RGB.
        poses: what :func:`driving_poses` returned.
        index: the frame's 0-based index.

    Returns:
        A new (H, W, 3) uint8 RGB array, or ``frame`` itself when there are no keypoints for ``index``.
    """
    if poses is None or not 0 <= index < len(poses):
        return frame
    from engine.pose.draw import draw_overlay

    return draw_overlay(frame, poses[index])


def write_pose_file(driving: DrivingInfo, out: Path, smooth: float = 0.0, cancel: CancelToken | None = None,
                    on_progress: Callable[[int, int], None] | None = None, pose_backend: str = "auto",
                    pose_model: str | Path | None = None) -> dict:
    """Find (or re-smooth) a driving input's keypoints and save them as a ``.npz`` pose file.

    Args:
        driving: a checked driving input (video, pose video or pose file).
        out: the ``.npz`` file to write.
        smooth: One-Euro smoothing strength (0: none).
        cancel: stops the analysis between frames.
        on_progress: ``on_progress(done, total)`` after each analysed frame.
        pose_backend, pose_model: the extractor for a video (the file's metadata records it).

    Returns:
        ``{"frames", "fps", "frames_without_person", "pose_backend", "poses"}`` (``poses`` for
        :func:`write_pose_preview`).
    """
    from engine.errors import OutputError
    from engine.pose.extract import extract_poses
    from engine.pose.smooth import smooth_sequence

    if driving.kind == "poses":
        seq = smooth_sequence(driving.poses, smooth) if smooth > 0 else driving.poses
    else:
        seq = extract_poses(Path(driving.path), cancel=cancel, on_progress=on_progress, smooth=smooth,
                            backend=pose_backend, pose_model=pose_model)
    try:
        seq.save(out)
    except OSError as exc:
        raise OutputError(f"cannot write {out} ({exc.strerror or exc}); choose a writable folder") from None
    return {"frames": len(seq), "fps": float(seq.fps), "frames_without_person": int(seq.meta.get("frames_without_person", 0)),
            "pose_backend": pose_backend_of(seq), "poses": seq}


def write_pose_preview(poses: Any, out: Path, max_side: int, over_video: Path | None = None,
                       cancel: CancelToken | None = None, on_progress: Callable[[int, int], None] | None = None) -> None:
    """An MP4 of the keypoints (over ``over_video``'s frames when given), at most ``max_side`` px.

    Args:
        poses: a ``PoseSequence`` (e.g. ``write_pose_file(...)["poses"]``).
        out: the MP4 file to write.
        max_side: the longer side's limit in pixels (the poses' own size, or 512x512, otherwise).
        over_video: draw over this video's frames instead of black.
        cancel: stops between frames.
        on_progress: ``on_progress(done, total)`` after each frame.
    """
    from engine.pose.preview import write_pose_preview as write

    width, height = (poses.width, poses.height) if poses.width > 0 and poses.height > 0 else (512, 512)
    scale = min(1.0, max_side / max(width, height))
    write(poses, out, round(width * scale), round(height * scale), over_video=over_video, cancel=cancel,
          on_progress=on_progress)
