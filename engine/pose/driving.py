"""The one entry point for DRIVING inputs: a video, a ready-made pose video, or a ``.npz`` pose file.

Whatever the input, a ``Driving`` hands out one pose image per frame at any output size. Videos
are analysed (cached), smoothed and aligned to the source person; pose files are smoothed and
aligned; pose videos are used exactly as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError
from engine.inputs import DrivingInfo, inspect_driving
from engine.pose import posevideo
from engine.pose.align import align_sequence
from engine.pose.draw import draw_pose
from engine.pose.extract import extract_poses
from engine.pose.keypoints import Pose, PoseSequence
from engine.pose.smooth import smooth_sequence


def _fit_transform(seq: PoseSequence, width: int, height: int) -> tuple[float, float, float, float]:
    """(scale_x, scale_y, offset_x, offset_y) placing the sequence's frame inside width x height
    with its aspect kept (centred, like a letterboxed video); identity when aspects agree."""
    if seq.width <= 0 or seq.height <= 0:
        return 1.0, 1.0, 0.0, 0.0
    source_aspect, target_aspect = seq.width / seq.height, width / height
    if abs(source_aspect / target_aspect - 1.0) < 0.01:
        return 1.0, 1.0, 0.0, 0.0
    if source_aspect > target_aspect:  # wider: full width, bands above and below
        scale_y = target_aspect / source_aspect
        return 1.0, scale_y, 0.0, (1.0 - scale_y) / 2
    scale_x = source_aspect / target_aspect
    return scale_x, 1.0, (1.0 - scale_x) / 2, 0.0


def _placed(pose: Pose, transform: tuple[float, float, float, float]) -> Pose:
    if transform == (1.0, 1.0, 0.0, 0.0):
        return pose
    sx, sy, ox, oy = transform
    placed = pose.copy()
    for part in (placed.body, placed.hands, placed.face):
        part[..., 0] = part[..., 0] * sx + ox
        part[..., 1] = part[..., 1] * sy + oy
    return placed


@dataclass
class Driving:
    """A DRIVING input opened for rendering: its checked description plus (if any) keypoints."""

    info: DrivingInfo
    poses: PoseSequence | None = None
    warnings: list[str] = field(default_factory=list)

    def prepare(self, cancel: CancelToken | None = None) -> None:
        """Nothing to wait for (a streamed video waits here: engine.pose.streamed_driving)."""

    def close(self) -> None:
        """Nothing runs in the background (a streamed video's analysis stops here)."""

    @property
    def path(self) -> Path:
        return Path(self.info.path)

    @property
    def kind(self) -> str:
        """One of engine.inputs.DRIVING_KINDS."""
        return self.info.kind

    @property
    def fps(self) -> float:
        return float(self.poses.fps) if self.poses is not None else self.info.fps

    @property
    def frames(self) -> int:
        return len(self.poses) if self.poses is not None else self.info.frames

    def pose_image(self, index: int, width: int, height: int) -> np.ndarray:
        """The pose image of frame ``index``: (height, width, 3) uint8 RGB."""
        if not 0 <= index < self.frames:
            raise InputError(
                f"the driving input has {self.frames} frames, so frame {index} does not exist; "
                f"pick a frame from 0 to {self.frames - 1}"
            )
        if self.poses is None:
            return posevideo.read_pose_video_frame(self.path, index, width, height)
        return draw_pose(_placed(self.poses[index], _fit_transform(self.poses, width, height)), width, height)

    def iter_pose_images(
        self, width: int, height: int, start: int = 0, end: int | None = None, cancel: CancelToken | None = None
    ) -> Iterator[np.ndarray]:
        """Pose images of frames ``start``..``end-1`` in order, one at a time."""
        end = self.frames if end is None else min(end, self.frames)
        if self.poses is None:
            yield from posevideo.iter_pose_video(self.path, width, height, start, end, cancel=cancel)
            return
        transform = _fit_transform(self.poses, width, height)
        for index in range(start, end):
            check(cancel)
            yield draw_pose(_placed(self.poses[index], transform), width, height)


def output_pose_images(driving, settings, start: int, first: int, total: int | None, output_fps: float,
                       cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
    """Pose images (settings.height, settings.width, 3) of output frames ``first``..``total-1`` (None:
    to the driving input's end) when output frame 0 is driving frame ``start``: one per driving frame
    at the driving rate, else (a chosen ``output_fps``) the nearest earlier driving frame."""
    width, height = settings.width, settings.height
    if abs(output_fps - driving.fps) < 1e-6:
        end = None if total is None else start + total
        yield from driving.iter_pose_images(width, height, start + first, end, cancel=cancel)
        return
    i = first
    while total is None or i < total:
        check(cancel)
        index = start + int(i * driving.fps / output_fps + 1e-6)
        image = next(iter(driving.iter_pose_images(width, height, index, index + 1, cancel=cancel)), None)
        if image is None:  # past the end of the driving input
            return
        yield image
        i += 1


def _prepare(
    seq: PoseSequence, align_to: Pose | None, source_aspect: float | None, smooth: float, warnings: list[str]
) -> PoseSequence:
    if smooth > 0:
        seq = smooth_sequence(seq, smooth)
    if align_to is not None:
        seq = align_sequence(seq, align_to, source_aspect=source_aspect)
        if "alignment_warning" in seq.meta:
            warnings.append(seq.meta["alignment_warning"])
    frames_without_person = seq.meta.get("frames_without_person", 0)
    if frames_without_person:
        warnings.append(f"no person found in {frames_without_person} of {len(seq)} driving frames; they are left blank")
    return seq


def open_driving(
    driving: DrivingInfo | Path,
    cache_dir: Path | None = None,
    align_to: Pose | None = None,
    smooth: float = 0.0,
    cancel: CancelToken | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    source_aspect: float | None = None,
    stream: bool = False,
    reference_file: Path | None = None,
    pose_backend: str = "auto",
    pose_model: str | Path | None = None,
) -> Driving:
    """Open a DRIVING input for rendering (see the module docstring).

    Args:
        driving: a :class:`engine.inputs.DrivingInfo` from ``inspect_driving`` (a path is inspected first).
        cache_dir: where a video's keypoints are cached (None: no cache).
        align_to: the source person's pose; the driving poses are fitted to it.
        smooth: One-Euro smoothing strength (0 = off).
        source_aspect: the source image's width / height.
        stream: analyse a video on a thread while it renders (a ``StreamedDriving``, which keeps
            its alignment reference in ``reference_file``) instead of all of it first.
        pose_backend, pose_model: a video's keypoint extractor (engine.pose.backends: auto, mediapipe, dwpose).
    Returns:
        A :class:`Driving`. Raises InputError for inputs the front door refuses and for videos
        in which no person is found.
    """
    info = driving if isinstance(driving, DrivingInfo) else inspect_driving(driving)
    warnings: list[str] = []
    if info.kind == "poses":
        return Driving(info, _prepare(info.poses, align_to, source_aspect, smooth, warnings), warnings)
    if info.kind == "pose_video":
        if align_to is not None:
            warnings.append("the driving input is a ready-made pose video, so it is used as is (no alignment)")
        if smooth > 0:
            warnings.append("the driving input is a ready-made pose video, so it is used as is (no smoothing)")
        return Driving(info, None, warnings)
    from engine.sample_pose import known_driving_poses

    known = known_driving_poses(info.path)  # the bundled puppet sample: its shipped poses, not a detector's guess
    if known is not None:
        return Driving(info, _prepare(known, align_to, source_aspect, smooth, warnings), warnings)
    if stream:
        from engine.pose.streamed_driving import open_streamed

        return open_streamed(Path(info.path), cache_dir, align_to, source_aspect, smooth, reference_file, info.video,
                             pose_backend, pose_model)
    seq = extract_poses(Path(info.path), cache_dir=cache_dir, cancel=cancel, on_progress=on_progress,
                        backend=pose_backend, pose_model=pose_model)
    return Driving(info, _prepare(seq, align_to, source_aspect, smooth, warnings), warnings)
