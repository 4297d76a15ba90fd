"""A pose preview video: the pose images of a sequence, optionally drawn over the driving frames.

Frames are drawn and encoded one at a time (memory does not grow with length) and the file is
written under a temporary name, then renamed, so a cancelled preview never leaves a torn MP4.
A small label in the bottom-left corner names the extractor that made the poses (``meta``'s
``pose_backend``), so a viewer can tell MediaPipe poses from DWPose ones.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import OutputError
from engine.pose.draw import draw_overlay, draw_pose
from engine.pose.keypoints import PoseSequence
from engine.video import reader


def _even(value: int) -> int:
    return max(2, value - value % 2)  # H.264 with 4:2:0 chroma needs even sides


def _driving_frames(over_video: Path | None, count: int, width: int, height: int, cancel):
    """Yield ``count`` background frames: the driving video resized, then None past its end."""
    produced = 0
    if over_video is not None:
        for frame in reader.iter_frames(over_video, 0, count, cancel=cancel):
            if frame.shape[:2] != (height, width):
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            produced += 1
            yield frame
    for _ in range(count - produced):
        yield None


def write_pose_preview(
    seq: PoseSequence,
    out: Path,
    width: int,
    height: int,
    over_video: Path | None = None,
    cancel: CancelToken | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    label: str | None = None,
) -> Path:
    """Write ``seq`` as an H.264 MP4 at ``seq.fps`` (odd sizes are rounded down to even).

    With ``over_video`` the poses are drawn over that video's frames; otherwise on black.
    ``label`` (default: ``backend_label(seq)``; "" for none) is drawn in the bottom-left corner.
    Returns the path written. Raises OutputError when ``out`` cannot be written.
    """
    label = backend_label(seq) if label is None else label
    out = Path(out)
    width, height = _even(int(width)), _even(int(height))
    partial = out.with_name(out.name + ".partial.mp4")
    rate = Fraction(seq.fps if seq.fps > 0 else 25.0).limit_denominator(1001)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(partial), mode="w", format="mp4")
    except (OSError, av.FFmpegError) as exc:
        raise OutputError(f"cannot write the pose preview {out} ({_reason(exc)}); choose a writable folder") from None
    finished = False
    try:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        total = len(seq)
        for index, background in enumerate(_driving_frames(over_video, total, width, height, cancel)):
            check(cancel)
            pose = seq[index]
            image = draw_pose(pose, width, height) if background is None else draw_overlay(background, pose)
            if label:
                image = draw_label(image, label)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
            if on_progress is not None:
                on_progress(index + 1, total)
        for packet in stream.encode():
            container.mux(packet)
        finished = True
    except (OSError, av.FFmpegError) as exc:
        message = f"writing the pose preview {out} failed ({_reason(exc)}); check the free disk space"
        raise OutputError(message) from None
    finally:
        container.close()
        if not finished:
            partial.unlink(missing_ok=True)
    partial.replace(out)
    return out


def backend_label(seq: PoseSequence) -> str:
    """"poses: dwpose" etc. from the sequence's meta; "" when it does not say (older pose files)."""
    backend = seq.meta.get("pose_backend")
    return f"poses: {backend}" if isinstance(backend, str) and backend else ""


def draw_label(image: np.ndarray, text: str) -> np.ndarray:
    """``text`` in white on a dark box in the bottom-left corner of an RGB image (a copy)."""
    image = np.ascontiguousarray(image).copy()
    height = image.shape[0]
    scale = max(0.3, height / 720)
    thickness = max(1, round(scale))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    margin = max(2, round(4 * scale))
    top = height - h - base - 2 * margin
    image[max(0, top):, : w + 2 * margin] = (32, 32, 32)
    cv2.putText(image, text, (margin, height - base - margin), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
