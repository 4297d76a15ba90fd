"""The main window with the fake engine: binding, keys, drag-and-drop, bad input, queue rows, export, prefs."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.gui.project import Prefs
from studio.gui.viewmodels.render_queue import DONE, FAILED
from studio.gui.viewmodels.settings import BETA_TOOLTIP
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.widgets.images import qimage_to_array
from studio.gui.widgets.main_window import MainWindow
from studio_testkit import OVERLAY_MARK, frame_value, wait_until


def drop_file(widget, path: Path) -> None:
    """Send a real drag-enter + drop of a local file to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(centre.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the widget must accept file drags"
    drop = QDropEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def load_inputs(qtbot, win, media) -> None:
    drop_file(win.source_panel, media["source"])
    drop_file(win, media["video"])  # dropped on the window: a video becomes the driving input
    wait_until(qtbot, lambda: win.model.source.info is not None and win.model.driving.poses is not None)
    wait_until(qtbot, lambda: win.model.preview.driving_index == 0)


def test_dropped_inputs_show_thumbnail_timeline_and_overlay(qtbot, window, media):
    load_inputs(qtbot, window, media)
    wait_until(qtbot, lambda: tuple(window.model.preview.driving_image[0, 0]) == OVERLAY_MARK)
    assert window.source_panel.thumbnail.has_image() and window.source_panel.path_label.text() == "portrait.png"
    assert window.timeline_panel.readout.text().startswith("frame 1 / 20")
    assert window.timeline_panel.video_label.text() == "64x48 · 10.00 fps · 2.0 s · poses found by MediaPipe"
    assert window.timeline_panel.pose_progress.format() == "poses ready"
    shown = qimage_to_array(window.preview_panel.driving_view.grab().toImage())
    rect = window.preview_panel.driving_view.image_rect()
    centre = shown[int(rect.center().y()), int(rect.center().x())]
    assert abs(int(centre[0]) - frame_value(0)) <= 2, "the driving view shows frame 0's pixels"
    window.overlay_action.setChecked(False)
    assert not window.preview_panel.overlay_check.isChecked()
    wait_until(qtbot, lambda: tuple(window.model.preview.driving_image[0, 0]) != OVERLAY_MARK)
    assert window.model.preview.driving_index == 0


def test_keyboard_scrubs_and_marks_range(qtbot, window, media):
    load_inputs(qtbot, window, media)
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Right):
        qtbot.keyClick(window, key)
    qtbot.keyClick(window, Qt.Key.Key_I)
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window, Qt.Key.Key_O)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    timeline = window.model.timeline
    assert (timeline.range_in, timeline.range_out, timeline.playhead) == (3, 13, 12)
    assert window.timeline_panel.readout.text() == timeline.readout()
    wait_until(qtbot, lambda: window.model.preview.driving_index == 12)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert timeline.playing and window.timeline_panel.play_button.toolTip().startswith("Pause")
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not timeline.playing


def test_clicking_the_strip_seeks(qtbot, window, media):
    load_inputs(qtbot, window, media)
    strip = window.timeline_panel.strip
    for frame in (10, 0, 19):
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.x_for_frame(frame)), strip.height() // 2))
        assert window.model.timeline.playhead == frame


def test_beta_slider_binds_both_ways(qtbot, window):
    panel = window.settings_panel
    assert (panel.beta_slider.minimum(), panel.beta_slider.maximum(), panel.beta_slider.value()) == (0, 30, 5)
    assert panel.beta_slider.toolTip() == BETA_TOOLTIP and panel.beta_value.text() == "0.05"
    panel.beta_slider.setValue(12)
    assert window.model.settings.get("beta") == 0.12 and panel.beta_value.text() == "0.12"
    window.model.settings.set(beta=0.3, seed=77, width=256, height=384)
    assert panel.beta_slider.value() == 30 and panel.seed_spin.value() == 77
    assert panel.size_combo.currentText() == "256x384"
    panel.randomise_button.click()
    assert window.model.settings.get("seed") == panel.seed_spin.value() != 77


def test_bad_files_show_message_and_app_stays_usable(qtbot, window, media):
    drop_file(window.source_panel, media["text"])
    wait_until(qtbot, lambda: window.error_banner.isVisible())
    assert window.error_banner.label.text() == "notes.png is not an image the studio can read; use a PNG, JPEG or WebP file"
    drop_file(window, media["corrupt"])
    wait_until(qtbot, lambda: "corrupt.mp4" in window.error_banner.label.text())
    assert window.error_banner.label.text().startswith("corrupt.mp4 is not a readable video")
    # still usable: good files load after the bad ones
    load_inputs(qtbot, window, media)
    assert window.model.timeline.frames == 20 and window.source_panel.thumbnail.has_image()


def test_no_person_warning_is_shown_under_the_thumbnail(qtbot, window, media):
    drop_file(window.source_panel, media["empty"])
    wait_until(qtbot, lambda: window.source_panel.warning_label.isVisible())
    assert window.source_panel.warning_label.text().startswith("No person found in empty-room.png")


def test_missing_model_shows_message_and_queue_row_can_resume(qtbot, window, media, fake_backend):
    load_inputs(qtbot, window, media)
    window.model.settings.set(model="not-installed", steps=2)
    window.settings_panel.refresh_models()
    assert window.settings_panel.model_combo.currentText() == "not-installed"
    window.preview_panel.preview_button.click()
    wait_until(qtbot, lambda: window.error_banner.isVisible())
    assert window.error_banner.label.text() == "Model 'not-installed' is not installed; pick demo or install it with Models ▸ Manage…"
    window.error_banner.hide()
    window.render_button.click()
    wait_until(qtbot, lambda: window.model.queue.entries and window.model.queue.entries[0].state == FAILED)
    row = window.queue_panel.rows[window.model.queue.entries[0].id]
    assert row.status.text() == "failed" and row.resume_button.isEnabled() and not row.cancel_button.isEnabled()
    assert window.error_banner.isVisible()


def test_render_rows_stream_frames_and_export(qtbot, window, media, tmp_path, videos_dir):
    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=2)
    window.model.timeline.set_range(2, 6)
    window.render_button.click()  # the render dialog is accepted as suggested: the Videos folder, preset web
    [entry] = window.model.queue.entries
    wait_until(qtbot, lambda: entry.state == DONE and entry.exports)
    row = window.queue_panel.rows[entry.id]
    assert (row.progress.value(), row.progress.maximum()) == (5, 5)
    assert row.progress.format() == "frame 7 of 3–7"  # driving-frame numbers, as the row title's range
    assert row.name.text().endswith("frames 3–7 → talk-animated.mp4")
    assert row.status.text().startswith("done · ") and row.status.text().endswith(" s/frame")
    assert json.loads((videos_dir / "talk-animated.mp4").read_text()) == {"frames": 5, "preset": "web", "audio": True}
    assert window.preview_panel.generated_view.has_image()
    assert window.model.preview.generated_image[0, 0, 0] == frame_value(6)
    dialog = window.export_dialog(entry.id)
    assert [dialog.preset_combo.itemText(i) for i in range(dialog.preset_combo.count())] == ["web", "png", "gif"]
    assert Path(dialog.path_edit.text()) == videos_dir / "talk-animated-2.mp4"  # never the existing file
    dialog.preset_combo.setCurrentText("png")
    assert Path(dialog.path_edit.text()).name == "talk-animated-2" and not dialog.audio_check.isEnabled()
    dialog.preset_combo.setCurrentText("web")
    dialog.path_edit.setText(str(tmp_path / "clip.mp4"))
    out, preset, audio = dialog.choice()
    with qtbot.waitSignal(window.model.export(entry.id, out, preset, audio).finished, timeout=5000):
        pass
    assert json.loads((tmp_path / "clip.mp4").read_text()) == {"frames": 5, "preset": "web", "audio": True}
    wait_until(qtbot, lambda: row.export_button.isEnabled())


def test_cancel_button_stops_render(qtbot, window, media, fake_backend):
    load_inputs(qtbot, window, media)
    fake_backend.delay = 0.01
    window.model.settings.set(steps=5)
    window.render_button.click()
    [entry] = window.model.queue.entries
    wait_until(qtbot, lambda: entry.frames_done >= 1)
    window.queue_panel.rows[entry.id].cancel_button.click()
    wait_until(qtbot, lambda: entry.state == "cancelled")
    assert entry.frames_done < 20 and window.queue_panel.rows[entry.id].resume_button.isEnabled()


def test_window_layout_and_prefs_persist(qtbot, fake_backend, private_data_dir):
    first = MainWindow(StudioModel(fake_backend, Prefs.load()))
    qtbot.addWidget(first)
    first.show()
    first.resize(611, 477)  # within the offscreen screen (800x600), which clamps larger windows
    first.model.preview.set_overlay(False)
    first.close()
    saved = json.loads((private_data_dir / "prefs.json").read_text())
    assert saved["window_geometry"] and saved["show_overlay"] is False
    second = MainWindow(StudioModel(fake_backend, Prefs.load()))
    qtbot.addWidget(second)
    # The platform may add frame margins on restore; the default size (clamped 1400x880) is far off.
    assert abs(second.width() - 611) <= 40 and abs(second.height() - 477) <= 40
    assert not second.overlay_action.isChecked()
    second.close()


def test_project_save_and_recent_menu(qtbot, window, media, tmp_path):
    load_inputs(qtbot, window, media)
    path = tmp_path / "talk.tpproj"
    assert window.model.save_project(path)
    assert [a.text() for a in window.recent_menu.actions()] == ["talk.tpproj"]
    assert [a.text() for a in window.recent_sources_menu.actions()] == ["portrait.png"]
    assert [a.text() for a in window.recent_drivings_menu.actions()] == ["talk.mp4"]
    assert window.windowTitle().startswith("talk.tpproj")
