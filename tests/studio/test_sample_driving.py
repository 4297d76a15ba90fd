"""The bundled sample driving video opens with its shipped poses (a detector finds garbage on puppets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.gui.project import Prefs
from studio.gui.viewmodels.backend import EngineBackend
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.worker import shutdown_workers
from studio_testkit import wait_until

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
pytestmark = pytest.mark.skipif(not (SAMPLES / "driving_poses.npz").is_file(),
                                reason="the bundled samples (resources/samples) are not installed")


@pytest.fixture
def engine_model(qtbot):
    model = StudioModel(EngineBackend(), Prefs(), persist=False)
    yield model
    model.shutdown()
    assert shutdown_workers(30.0)


def test_the_sample_video_shows_its_shipped_poses_without_a_detector(qtbot, engine_model, monkeypatch):
    import engine.pose.streamed_driving as streamed

    def no_detector(*args, **kwargs):
        raise AssertionError("the sample was sent to a pose detector")

    monkeypatch.setattr(streamed, "open_preview", no_detector)
    errors: list[str] = []
    engine_model.error.connect(errors.append)
    engine_model.open_driving(SAMPLES / "driving.mp4")
    wait_until(qtbot, lambda: engine_model.driving.poses is not None or errors, timeout=30_000)
    assert errors == [] and engine_model.driving.pose_progress == (240, 240)
    assert engine_model.pose_detector_text() == "shipped with the sample"
    engine_model.timeline.seek(10)
    preview = engine_model.preview
    wait_until(qtbot, lambda: preview.driving_index == 10 and preview._raw_frame is not None
               and preview.driving_image is not preview._raw_frame[2], timeout=30_000)
    changed = np.any(preview.driving_image != preview._raw_frame[2], axis=2)
    assert 0.001 < changed.mean() < 0.5, "the shipped skeleton is drawn over the puppet"
