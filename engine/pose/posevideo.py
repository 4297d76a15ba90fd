"""Ready-made pose videos (DWPose renderings, the input of the official tools) used as driving input.

Such a video is used as is: its frames already are the pose images, so they are only resized
(aspect kept, black padding) to the output size. Recognising one needs no model: a pose frame is
mostly black with a few saturated limb colours and white face dots, while a camera frame, even
against a dark stage, has large areas of soft mid-tones (skin, cloth, shading).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.cancel import CancelToken
from engine.errors import InputError
from engine.video import reader

SAMPLE_FRAMES = 5
_SAMPLE_SIDE = 256
_LIT_LEVEL = 40  # a pixel whose brightest channel is below this counts as black background
MIN_BLACK_FRACTION = 0.8  # measured: DWPose frames ~0.95, a talk on a dark stage ~0.64
MIN_VIVID_FRACTION = 0.6  # of lit pixels; measured: DWPose ~0.85, camera frames ~0.35
MIN_DRAWN_FRACTION = 0.001  # of all pixels: below this a frame is empty (nobody in it)


def frame_pose_statistics(image: np.ndarray) -> tuple[float, float]:
    """(black fraction, vivid fraction of the lit pixels) of an RGB frame; vivid = saturated or white."""
    brightest = image.max(axis=2).astype(np.int16)
    darkest = image.min(axis=2).astype(np.int16)
    lit = brightest >= _LIT_LEVEL
    black_fraction = 1.0 - float(lit.mean())
    if not lit.any():
        return black_fraction, 1.0
    vivid = ((brightest - darkest) >= 100) | (darkest >= 200)
    return black_fraction, float(vivid[lit].mean())


def _sample_indices(frame_count: int) -> list[int]:
    if frame_count <= SAMPLE_FRAMES:
        return list(range(max(1, frame_count)))
    return sorted({int(round(i * (frame_count - 1) / (SAMPLE_FRAMES - 1))) for i in range(SAMPLE_FRAMES)})


def looks_like_pose_video(path: str | Path, info: reader.VideoInfo | None = None) -> bool:
    """True when a few sampled frames look like pose drawings (mostly black, sparse vivid colours).
    ``info`` is the video's probe result when the caller has it (the video is probed once)."""
    info = info if info is not None else reader.probe(path)
    drawn_frames = 0
    for index in _sample_indices(info.frame_count):
        try:
            frame = reader.read_frame(path, index)
        except InputError:  # an estimated frame count can overshoot; judge on the frames we have
            continue
        small = _shrink(frame, _SAMPLE_SIDE)
        black, vivid = frame_pose_statistics(small)
        if black < MIN_BLACK_FRACTION or vivid < MIN_VIVID_FRACTION:
            return False
        drawn_frames += (1.0 - black) >= MIN_DRAWN_FRACTION
    return drawn_frames > 0


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)  # NEAREST keeps colours unmixed


def fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to fit inside width x height keeping the aspect ratio, centred on black."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(image)
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    return canvas


def iter_pose_video(
    path: str | Path,
    width: int,
    height: int,
    start: int = 0,
    end: int | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[np.ndarray]:
    """Frames ``start``..``end-1`` of a pose video as (height, width, 3) uint8 RGB pose images."""
    for frame in reader.iter_frames(path, start, end, cancel=cancel):
        yield fit_image(frame, width, height)


def read_pose_video_frame(path: str | Path, index: int, width: int, height: int) -> np.ndarray:
    """One frame of a pose video as a (height, width, 3) uint8 RGB pose image (seeks)."""
    return fit_image(reader.read_frame(path, index), width, height)
