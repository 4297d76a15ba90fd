"""The whole studio flow with the REAL engine and its tiny random model on a real talk clip.

load source + driving -> poses extracted -> scrub (overlay on the driving frame) -> move β ->
preview frame -> render a short range (frames stream in) -> export with a preset -> the file decodes.
Skipped when ../shared (the talk video) or an engine part is missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.gui.project import Prefs
from studio_testkit import wait_until

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TALK = SHARED / "data" / "ted" / "talk2.mp4"
CLIP_FRAMES = 12

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def talk_inputs(tmp_path_factory) -> tuple[Path, Path]:
    """A 12-frame clip of the real talk video and a portrait taken from a later frame of it."""
    if not TALK.exists():
        pytest.skip(f"real test media not found at {TALK} (the shared data folder is absent)")
    for module in ("engine.jobs", "engine.pose.driving", "engine.pose.draw", "engine.video.reader", "engine.video.presets",
                   "engine.weights.library"):
        pytest.importorskip(module, reason=f"{module} is not available yet")
    import av
    import cv2

    from engine.video.reader import iter_frames, read_frame

    folder = tmp_path_factory.mktemp("talk")
    clip = folder / "talk-clip.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=29)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        for image in iter_frames(TALK, 0, CLIP_FRAMES):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    portrait = folder / "speaker.png"
    cv2.imwrite(str(portrait), read_frame(TALK, 300)[:, :, ::-1])
    return portrait, clip


def test_full_flow_with_the_tiny_model(qtbot, talk_inputs, tmp_path):
    from engine.jobs import TINY_MODEL
    from engine.video.reader import iter_frames, probe
    from studio.gui.viewmodels.backend import EngineBackend
    from studio.gui.viewmodels.render_queue import DONE
    from studio.gui.viewmodels.studio import StudioModel
    from studio.gui.widgets.main_window import MainWindow

    portrait, clip = talk_inputs
    model = StudioModel(EngineBackend(), Prefs())
    window = MainWindow(model)
    window.skip_close_question = True
    qtbot.addWidget(window)
    window.show()
    errors: list[str] = []
    model.error.connect(errors.append)

    # 1. inputs: the portrait has a person, the clip's poses are extracted in the background
    model.open_source(portrait)
    model.open_driving(clip)
    wait_until(qtbot, lambda: model.driving.poses is not None or errors, timeout=120_000)
    wait_until(qtbot, lambda: model.source.info is not None or errors, timeout=60_000)
    assert errors == []
    assert model.source.warning == "" and model.timeline.frames == CLIP_FRAMES
    assert model.driving.pose_progress == (CLIP_FRAMES, CLIP_FRAMES) and model.driving.poses.ready_pose(5).has_person

    # 2. scrub: the preview shows that frame, with the pose drawn over it (and without, when toggled off)
    model.timeline.seek(5)
    wait_until(qtbot, lambda: model.preview.driving_index == 5 and model.preview.driving_image is not model.preview._raw_frame[2]
               if model.preview._raw_frame else False, timeout=30_000)
    with_overlay = model.preview.driving_image.copy()
    model.preview.set_overlay(False)
    wait_until(qtbot, lambda: model.preview.driving_image is model.preview._raw_frame[2], timeout=30_000)
    raw = model.preview.driving_image
    changed = np.any(with_overlay != raw, axis=2)
    assert raw.shape == (512, 512, 3) and 0.002 < changed.mean() < 0.5, "the overlay draws a skeleton, not nothing or everything"

    # 3. settings: β by the slider, the tiny model, a small fast render
    window.settings_panel.beta_slider.setValue(10)
    assert model.settings.get("beta") == 0.1
    model.settings.set(model=TINY_MODEL, steps=2, width=64, height=64, cfg=1.0)

    # 4. preview the frame under the playhead
    worker = model.preview.request_preview()
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        pass
    assert errors == []
    assert model.preview.generated_image.shape == (64, 64, 3)

    # 5. render frames 3..6 of the clip; frames stream into the preview
    streamed: list[int] = []
    model.queue.frame_ready.connect(lambda entry_id, event: streamed.append(event.index))
    model.timeline.set_range(3, 6)
    entry = model.render()
    wait_until(qtbot, lambda: entry.state in (DONE, "failed"), timeout=120_000)
    assert entry.state == DONE, entry.message
    assert streamed == [0, 1, 2, 3] and (entry.frames_done, entry.frames_total) == (4, 4)

    # 6. export with a preset: the file exists and decodes to the rendered frames
    wait_until(qtbot, lambda: model.presets, timeout=60_000)
    preset = next(name for name, choice in model.presets.items() if choice.extension == ".mp4")
    out = tmp_path / "exported.mp4"
    with qtbot.waitSignal(model.export(entry.id, out, preset, False).finished, timeout=120_000):
        pass
    assert errors == []
    assert out.exists() and model.queue.output_folder(entry.id) == tmp_path
    info = probe(out)
    decoded = list(iter_frames(out))
    assert (info.width, info.height) == (64, 64) and len(decoded) == 4
    window.close()
