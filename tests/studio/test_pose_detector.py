"""The Pose detector setting (issue 18): choices, what it is passed to, projects, missing DWPose, layout."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from engine.weights.pose_models import BACKENDS
from studio.gui.project import Prefs, Project
from studio.gui.viewmodels.studio import DWPOSE_MISSING, StudioModel
from studio_testkit import OVERLAY_MARK, wait_until


@pytest.fixture
def window(stopping_window):
    return stopping_window


def load_inputs(qtbot, window, media) -> None:
    window.model.open_source(media["source"])
    window.model.open_driving(media["video"])
    wait_until(qtbot, lambda: window.model.source.info is not None and window.model.driving.poses is not None)


def choose(window, value: str) -> None:
    combo = window.settings_panel.pose_combo
    combo.setCurrentIndex(combo.findData(value))


def opened_with(fake_backend) -> list[str]:
    return [call[2] for call in fake_backend.calls if call[0] == "open_poses"]


def test_combo_offers_the_engines_backends_by_name(window):
    combo = window.settings_panel.pose_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(BACKENDS)
    assert [combo.itemText(i) for i in range(combo.count())] == ["Auto", "MediaPipe", "DWPose"]
    assert combo.currentData() == "auto" == window.model.settings.get("pose_backend")


def test_choosing_mediapipe_reanalyses_the_inputs_with_it(qtbot, window, media, fake_backend):
    load_inputs(qtbot, window, media)
    assert opened_with(fake_backend) == ["auto"]
    choose(window, "mediapipe")
    assert window.model.settings.get("pose_backend") == "mediapipe"
    wait_until(qtbot, lambda: opened_with(fake_backend) == ["auto", "mediapipe"])
    wait_until(qtbot, lambda: ("load_source", "portrait.png", "mediapipe") in fake_backend.calls)
    wait_until(qtbot, lambda: window.model.driving.poses is not None)
    window.model.preview.request_preview()  # the live preview finds the poses with it too
    wait_until(qtbot, lambda: fake_backend.preview_pose_backends == ["mediapipe"])
    window.model.history.stack.undo()  # the choice is an undoable edit like any other setting
    assert window.model.settings.get("pose_backend") == "auto" and window.settings_panel.pose_combo.currentData() == "auto"
    wait_until(qtbot, lambda: opened_with(fake_backend) == ["auto", "mediapipe", "auto"])


def test_dwpose_without_its_files_says_so_and_keeps_mediapipe(qtbot, window, media, fake_backend):
    load_inputs(qtbot, window, media)
    choose(window, "dwpose")
    wait_until(qtbot, lambda: window.error_banner.isVisible())
    assert window.error_banner.label.text() == DWPOSE_MISSING[:1].upper() + DWPOSE_MISSING[1:]
    assert DWPOSE_MISSING.count(". ") == 0 and "studio-cli models fetch dwpose" in DWPOSE_MISSING
    assert window.model.settings.get("pose_backend") == "auto"
    assert window.settings_panel.pose_combo.currentData() == "auto"
    assert "dwpose" not in opened_with(fake_backend)  # the poses already found stay, made by MediaPipe
    assert window.model.driving.poses is not None and window.model.pose_detector_text() == "found by MediaPipe"
    window.model.timeline.seek(3)
    wait_until(qtbot, lambda: window.model.preview.driving_index == 3)
    assert tuple(window.model.preview.driving_image[0, 0]) == OVERLAY_MARK


def test_dwpose_goes_to_the_analysis_the_status_and_the_render_job(qtbot, window, media, fake_backend, tmp_path):
    fake_backend.dwpose_installed = True
    load_inputs(qtbot, window, media)
    wait_until(qtbot, lambda: window.timeline_panel.video_label.text().endswith("poses found by DWPose"))
    choose(window, "mediapipe")
    wait_until(qtbot, lambda: window.timeline_panel.video_label.text().endswith("poses found by MediaPipe"))
    choose(window, "dwpose")
    wait_until(qtbot, lambda: opened_with(fake_backend) == ["auto", "mediapipe", "dwpose"])
    wait_until(qtbot, lambda: window.model.driving.poses is not None)
    assert window.timeline_panel.video_label.text().endswith("poses found by DWPose")
    entry = window.model.render()
    assert entry is not None and entry.pose_backend == "dwpose" and entry.spec.pose_backend == "dwpose"
    wait_until(qtbot, lambda: fake_backend.job_pose_backends == ["dwpose"])


def test_the_choice_is_saved_with_projects_and_the_session(qtbot, fake_backend, tmp_path):
    model = StudioModel(fake_backend, Prefs(), persist=False)
    model.settings.set(pose_backend="mediapipe")
    assert model.save_project(tmp_path / "talk.tpproj")
    assert Project.load(tmp_path / "talk.tpproj").settings["pose_backend"] == "mediapipe"
    again = StudioModel(fake_backend, Prefs(), persist=False)
    assert again.open_project(tmp_path / "talk.tpproj")
    assert again.settings.get("pose_backend") == "mediapipe" and again.driving.pose_backend == "mediapipe"
    again.settings.load({"pose_backend": "openpose"})  # a hand-edited project: the unknown name is ignored
    assert again.settings.get("pose_backend") == "mediapipe"


def test_settings_with_the_pose_detector_fit_at_1200x800(qtbot, window):
    window.resize(1200, 800)
    for _ in range(5):
        QApplication.processEvents()
    scroll, combo = window.settings_scroll, window.settings_panel.pose_combo
    assert window.size().width() == 1200 and window.size().height() == 800
    assert scroll.verticalScrollBar().maximum() == 0, "the settings panel scrolls at 1200x800"
    bottom = combo.mapTo(scroll.viewport(), combo.rect().bottomLeft()).y()
    assert combo.isVisible() and bottom <= scroll.viewport().height()
