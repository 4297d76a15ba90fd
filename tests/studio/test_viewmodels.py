"""View-models driven by the scripted fake engine: inputs, timeline, live preview, projects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.gui.project import Prefs, Project
from studio_testkit import OVERLAY_MARK, frame_value, wait_until


def test_source_loads_and_warns_when_no_person(qtbot, studio_model, media):
    statuses: list[tuple[str, str]] = []
    studio_model.status.connect(lambda text, level: statuses.append((text, level)))
    with qtbot.waitSignal(studio_model.source.changed, timeout=5000, check_params_cb=lambda: not studio_model.source.loading):
        studio_model.open_source(media["source"])
    assert studio_model.source.path == str(media["source"])
    assert studio_model.source.info.image.shape == (40, 32, 3) and studio_model.source.warning == ""
    with qtbot.waitSignal(studio_model.source.changed, timeout=5000, check_params_cb=lambda: not studio_model.source.loading):
        studio_model.open_source(media["empty"])
    assert studio_model.source.warning.startswith("No person found in empty-room.png")
    assert statuses[-1] == (studio_model.source.warning, "warning")


def test_text_file_as_source_reports_error_and_keeps_previous(qtbot, loaded_model, media):
    with qtbot.waitSignal(loaded_model.error, timeout=5000) as blocker:
        loaded_model.open_source(media["text"])
    assert blocker.args == ["notes.png is not an image the studio can read; use a PNG, JPEG or WebP file"]
    wait_until(qtbot, lambda: not loaded_model.source.loading)
    assert loaded_model.source.path == str(media["source"])


def test_driving_load_sets_timeline_and_extracts_poses_with_progress(qtbot, studio_model, media):
    progress: list[tuple[int, int]] = []
    studio_model.driving.poses_progress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(studio_model.driving.poses_ready, timeout=5000):
        studio_model.open_driving(media["video"])
    assert (studio_model.timeline.frames, studio_model.timeline.fps) == (20, 10.0)
    assert (studio_model.timeline.range_in, studio_model.timeline.range_out) == (0, 19)
    # the streamed analysis is polled: progress only grows, in frames of 20, and ends complete
    assert progress[-1] == (20, 20) and all(total == 20 for _, total in progress)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    poses = studio_model.driving.poses
    assert poses is studio_model.driving.pose_handle and poses.done == 20
    wait_until(qtbot, lambda: len(studio_model.driving.thumbnails) == 12)
    assert sorted(studio_model.driving.thumbnails)[0] == 0 and sorted(studio_model.driving.thumbnails)[-1] == 19


def test_corrupt_video_reports_error_and_keeps_previous(qtbot, loaded_model, media):
    with qtbot.waitSignal(loaded_model.error, timeout=5000) as blocker:
        loaded_model.open_driving(media["corrupt"])
    assert blocker.args[0].startswith("corrupt.mp4 is not a readable video")
    assert loaded_model.driving.path == str(media["video"]) and loaded_model.timeline.frames == 20


def test_timeline_keys_and_readout(qtbot, loaded_model):
    timeline = loaded_model.timeline
    timeline.step(5)
    timeline.mark_in()
    timeline.step(4)
    timeline.mark_out()
    timeline.step(100)
    assert (timeline.range_in, timeline.range_out, timeline.playhead) == (5, 9, 19)
    timeline.step(-30)
    assert timeline.playhead == 0
    timeline.seek(12)
    assert timeline.readout() == "frame 13 / 20 · 00:01.20 · range 6–10 (5 frames)"


def test_playback_advances_and_stops_at_out_marker(qtbot, loaded_model):
    timeline = loaded_model.timeline
    timeline.set_range(2, 4)
    timeline.toggle_play()
    assert timeline.playing and timeline.playhead == 2
    wait_until(qtbot, lambda: not timeline.playing, timeout=3000)
    assert timeline.playhead == 4


def test_scrubbing_shows_that_driving_frame_with_overlay_toggle(qtbot, loaded_model):
    preview = loaded_model.preview
    for index in (3, 7, 11, 15):  # a burst: only the newest needs to land
        loaded_model.timeline.seek(index)
    wait_until(qtbot, lambda: preview.driving_index == 15)
    image = preview.driving_image
    assert tuple(image[0, 0]) == OVERLAY_MARK and image[5, 5, 0] == frame_value(15)
    preview.set_overlay(False)
    wait_until(qtbot, lambda: tuple(preview.driving_image[0, 0]) != OVERLAY_MARK)
    assert np.all(preview.driving_image == frame_value(15))


def test_preview_renders_frame_under_playhead_with_progress(qtbot, loaded_model, fake_backend):
    loaded_model.timeline.seek(6)
    loaded_model.settings.set(steps=4, seed=9, beta=0.12)
    steps_seen: list[tuple[int, int]] = []
    loaded_model.preview.changed.connect(lambda: steps_seen.append(loaded_model.preview.preview_progress))
    worker = loaded_model.preview.request_preview()
    with qtbot.waitSignal(worker.finished, timeout=5000):
        pass
    image = loaded_model.preview.generated_image
    assert image.shape == (64, 64, 3)
    assert (image[0, 0, 0], image[0, 0, 1], image[0, 0, 2]) == (frame_value(6), 9, 12)
    assert [s for s in dict.fromkeys(steps_seen) if s[0] > 0] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert loaded_model.preview.generated_caption.startswith("Preview of frame 7")


def test_live_preview_debounces_and_cancels_stale_render(qtbot, loaded_model, fake_backend):
    fake_backend.delay = 0.02  # 30 steps = 0.6 s per preview: long enough to be cancelled
    first = loaded_model.preview.request_preview()
    for beta in (0.06, 0.07, 0.08, 0.09):  # one burst of changes
        loaded_model.settings.set(beta=beta)
    with qtbot.waitSignal(first.cancelled, timeout=3000):
        pass
    wait_until(qtbot, lambda: loaded_model.preview.generated_image is not None, timeout=5000)
    previews = [call for call in fake_backend.calls if call[0] == "preview"]
    assert [call[3] for call in previews] == [0.05, 0.09], "the burst must give exactly one new render, with the last value"
    assert loaded_model.preview.generated_image[0, 0, 2] == 9
    assert "Cancelled" in fake_backend.inside_generator_saw


def test_preview_needs_inputs_and_reports_bad_settings(qtbot, studio_model, loaded_model):
    with qtbot.waitSignal(loaded_model.error, timeout=1000) as blocker:
        loaded_model.settings.set(width=500)
        loaded_model.preview.request_preview()
    assert blocker.args == ["width: must be a positive multiple of 8 (got 500)"]


def test_preview_without_source_says_what_to_do(qtbot, fake_backend):
    from studio.gui.viewmodels.studio import StudioModel

    model = StudioModel(fake_backend, Prefs())
    with qtbot.waitSignal(model.error, timeout=1000) as blocker:
        assert model.preview.request_preview() is None
    assert blocker.args[0].startswith("choose a source image first")


def test_missing_model_preview_shows_message(qtbot, loaded_model):
    loaded_model.settings.set(model="gone-model")
    with qtbot.waitSignal(loaded_model.error, timeout=5000) as blocker:
        loaded_model.preview.request_preview()
    assert blocker.args == ["model 'gone-model' is not installed; pick demo or install it with Models ▸ Manage…"]
    assert loaded_model.preview.live is False


def test_project_round_trip(qtbot, loaded_model, fake_backend, tmp_path):
    loaded_model.settings.set(beta=0.2, seed=7, steps=12, width=256, height=384, align=False, smooth=0.5, model="tiny")
    loaded_model.timeline.set_range(3, 8)
    loaded_model.timeline.seek(5)
    path = tmp_path / "scene.tpproj"
    assert loaded_model.save_project(path)

    from studio.gui.viewmodels.studio import StudioModel

    reopened = StudioModel(fake_backend, Prefs())
    with qtbot.waitSignal(reopened.driving.loaded, timeout=5000):
        assert reopened.open_project(path)
    wait_until(qtbot, lambda: reopened.source.info is not None)
    assert reopened.current_project() == loaded_model.current_project()
    assert reopened.prefs.recent_projects == [str(path)]
    reopened.shutdown()


def test_opening_a_non_project_reports_error(qtbot, studio_model, media):
    with qtbot.waitSignal(studio_model.error, timeout=1000) as blocker:
        assert not studio_model.open_project(media["text"])
    assert "is not a readable JSON file" in blocker.args[0]


def test_prefs_persist_recent_files_without_duplicates(private_data_dir):
    prefs = Prefs()
    for name in ("a.png", "b.png", "a.png"):
        prefs.add_recent("sources", name)
    prefs.show_overlay = False
    prefs.save()
    loaded = Prefs.load()
    assert loaded.recent_sources == ["a.png", "b.png"] and loaded.show_overlay is False
    assert (private_data_dir / "prefs.json").exists()


def test_damaged_prefs_file_gives_defaults(private_data_dir):
    private_data_dir.mkdir(parents=True, exist_ok=True)
    (private_data_dir / "prefs.json").write_text("{not json")
    assert Prefs.load() == Prefs()


@pytest.mark.parametrize("text", ["{}", '{"version": 99}', "[]"])
def test_project_load_rejects_wrong_files(tmp_path, text):
    from engine.errors import InputError

    path = Path(tmp_path / "p.tpproj")
    path.write_text(text)
    with pytest.raises(InputError, match="is not a TalkingPose Studio project"):
        Project.load(path)


def test_last_session_is_restored_on_next_start(qtbot, loaded_model, fake_backend):
    from studio.gui.viewmodels.studio import StudioModel

    loaded_model.settings.set(seed=1234)
    loaded_model.timeline.set_range(4, 9)
    loaded_model.save_prefs()  # what closing the window does
    restarted = StudioModel(fake_backend, Prefs.load())
    with qtbot.waitSignal(restarted.driving.loaded, timeout=5000):
        assert restarted.restore_last_session()
    wait_until(qtbot, lambda: restarted.source.info is not None)
    assert restarted.current_project() == loaded_model.current_project()
    assert Prefs.load().recent_sources[0] == loaded_model.source.path
    restarted.shutdown()


def test_last_session_with_deleted_inputs_restores_nothing(qtbot, loaded_model, fake_backend, media):
    from studio.gui.viewmodels.studio import StudioModel

    loaded_model.save_prefs()
    media["source"].unlink()
    media["video"].unlink()
    assert StudioModel(fake_backend, Prefs.load()).restore_last_session() is False
