"""The bundled demo model on a held-out puppet (identity and motion never seen in training).

What the issue asks the demo model to show, measured with the project's own metrics on a few
frames (the full table comes from ``bench/demo_eval.py``):
- frames keep the source's appearance and follow the driving pose: SSIM against the ground-truth
  frames above the "copy the source image" baseline;
- each frame matches the truth of its own pose better than the truth of the other poses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import RenderSettings
from engine.events import FrameReady
from engine.metrics.ssim import ssim
from engine.pipeline import AnimationPipeline

DEMO = Path(__file__).resolve().parents[2] / "resources" / "models" / "demo"
FRAMES = 8  # spread over 2 s of the clip, so the poses differ
MARGIN = 0.08  # SSIM points above the copy baseline (measured: 0.762 vs 0.604 on this clip; the bench table has all)


@pytest.fixture(scope="module")
def rendered():
    if not (DEMO / "model.json").is_file():
        pytest.skip("the demo model is not bundled")
    from engine.puppets.samples import held_out_clip
    from engine.weights import load_model

    loaded = load_model("demo")
    size = int(loaded.info.resolution[0])
    source, truth, poses = held_out_clip(1, FRAMES * 5, size)  # clip 1: the most motion of the three
    truth, poses = truth[::5], poses[::5]
    defaults = loaded.info.defaults
    settings = RenderSettings(width=size, height=size, device="cpu", steps=int(defaults["steps"]),
                              cfg=float(defaults["cfg"]), beta=float(defaults["beta"]))
    pipeline = AnimationPipeline.for_settings(loaded.components, settings)
    frames = [e.image for e in pipeline.render(source, poses, settings) if isinstance(e, FrameReady)]
    return source, truth, frames


def test_frames_beat_copying_the_source(rendered):
    source, truth, frames = rendered
    assert len(frames) == FRAMES and frames[0].shape == truth[0].shape
    model = np.mean([ssim(t, f) for t, f in zip(truth, frames)])
    copy = np.mean([ssim(t, source) for t in truth])
    assert model > copy + MARGIN, f"SSIM model {model:.3f} vs copy-the-source {copy:.3f}"


def test_each_frame_matches_its_own_pose_best(rendered):
    _, truth, frames = rendered
    scores = np.array([[ssim(t, f) for t in truth] for f in frames])  # row: generated frame, column: truth
    own = np.diag(scores)
    others = (scores.sum(1) - own) / (FRAMES - 1)
    assert (own > others).mean() >= 0.75, f"own-pose SSIM {own.round(3)} vs others {others.round(3)}"
    assert own.mean() > others.mean() + 0.01
