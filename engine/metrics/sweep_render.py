"""The renderer a β sweep scores: one model animating one source with one driving input.

``studio-cli eval --sweep`` builds it here, so the eval command needs no pipeline or pose module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from engine.config import RenderSettings


def sweep_renderer(
    source: Path, driving: Path, model: str, frames: int | None, steps: int | None = None, cfg: float | None = None,
    seed: int = 42, size: tuple[int, int] | None = None, device: str = "auto", poses: Path | None = None,
) -> tuple[Callable[[float, bool], Iterator[np.ndarray]], tuple[int, int]]:
    """``(render, (width, height))``: ``render(beta, independent_noise)`` yields (H, W, 3) uint8 frames.

    Args:
        source: the source image; driving: the driving input (its poses, or ``poses`` if given).
        model: a model id (see engine.weights.load_model); steps/cfg default to the model's own.
        frames: render at most this many frames (None: all).
        size: (width, height); default the model's resolution.
    """
    from engine.events import FrameReady
    from engine.inputs import inspect_driving, inspect_source
    from engine.pipeline import AnimationPipeline
    from engine.pose.driving import open_driving
    from engine.weights import load_model

    image = inspect_source(source).image
    drive = open_driving(inspect_driving(poses or driving))
    loaded = load_model(model)
    defaults = dict(getattr(loaded.info, "defaults", None) or {})
    width, height = size or tuple(getattr(loaded.info, "resolution", None) or (512, 512))
    settings = RenderSettings(
        steps=steps or int(defaults.get("steps", 30)), cfg=cfg if cfg is not None else float(defaults.get("cfg", 3.5)),
        seed=seed, width=int(width), height=int(height), device=device,
    )
    pipeline = AnimationPipeline.for_settings(loaded.components, settings)
    end = drive.frames if frames is None else min(frames, drive.frames)

    def render(beta: float, independent: bool) -> Iterator[np.ndarray]:
        variant = settings.replace(beta=beta, independent_noise=independent)
        pose_images = drive.iter_pose_images(settings.width, settings.height, 0, end)
        for event in pipeline.render(image, pose_images, variant):
            if isinstance(event, FrameReady):
                yield event.image

    return render, (settings.width, settings.height)


def real_frames(video: Path, frames: int | None, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """The first ``frames`` frames of ``video`` (all if None), resized to ``size`` = (width, height)."""
    import cv2

    from engine.video.reader import iter_frames

    for frame in iter_frames(video, 0, frames):
        if (frame.shape[1], frame.shape[0]) != tuple(size):
            frame = cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)
        yield frame
