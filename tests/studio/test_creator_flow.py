"""Issue 16's flows for creators: a render ends in a file, undo/redo, the model manager, input you
can trust, drops routed by type, the timeline's editor keys, progress in the title, the log window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from studio.gui.project import Prefs
from studio.gui.viewmodels.models import ModelLibraryModel
from studio.gui.viewmodels.render_queue import DONE
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.widgets.model_manager import ModelManager
from studio_testkit import accept_dialog, wait_until
from test_window import drop_file, load_inputs


def test_a_queued_render_ends_in_the_chosen_file_and_preset(qtbot, window, media, tmp_path, private_data_dir):
    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=2)
    window.model.timeline.set_range(4, 9)
    chosen = tmp_path / "out" / "talk.gif"
    chosen.parent.mkdir()

    def choose(dialog) -> bool:
        assert dialog.windowTitle() == "Render to a file"
        dialog.preset_combo.setCurrentText("gif")
        dialog.path_edit.setText(str(chosen))
        return accept_dialog(dialog)

    window.run_dialog = choose
    window.menu_actions["render"].trigger()
    [entry] = window.model.queue.entries
    wait_until(qtbot, lambda: entry.state == DONE and entry.exports)
    assert json.loads(chosen.read_text()) == {"frames": 6, "preset": "gif", "audio": False}
    assert entry.message == f"written to {chosen}"
    row = window.queue_panel.rows[entry.id]
    assert row.open_button.isEnabled() and row.folder_button.isEnabled()
    opened = []
    window.open_path = opened.append  # what the buttons hand to the desktop
    window.queue_panel._open_path = opened.append
    window.queue_panel.rebuild()
    window.queue_panel.rows[entry.id].open_button.click()
    window.queue_panel.rows[entry.id].folder_button.click()
    assert opened == [chosen, chosen.parent]
    assert window.model.prefs.last_export_dir == str(chosen.parent)
    assert Path(window.render_dialog().path_edit.text()).parent == chosen.parent  # next time: the last folder

    work_dir = Path(entry.work_dir)
    assert work_dir.is_dir() and work_dir.parent == private_data_dir / "jobs"
    questions = []
    window.ask = lambda title, text: questions.append(text) or False
    window.queue_panel.rows[entry.id].remove_button.click()
    assert len(questions) == 1 and work_dir.is_dir() and window.model.queue.entries == [entry]
    window.ask = lambda title, text: True
    window.queue_panel.rows[entry.id].remove_button.click()
    assert not work_dir.exists() and window.model.queue.entries == []
    assert chosen.is_file(), "the written file is the user's and stays"


def test_undo_and_redo_settings_range_and_inputs(qtbot, window, media, tmp_path):
    load_inputs(qtbot, window, media)
    model, panel = window.model, window.settings_panel
    assert not window.menu_actions["undo"].isEnabled()
    panel.steps_spin.setValue(12)
    panel.beta_slider.setValue(9)
    window.timeline_panel.strip.setFocus()
    model.timeline.seek(5)
    qtbot.keyClick(window.timeline_panel.strip, Qt.Key.Key_I)
    model.timeline.seek(11)
    qtbot.keyClick(window.timeline_panel.strip, Qt.Key.Key_O)
    assert model.timeline.range == (5, 11)
    qtbot.keyClick(window, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier)
    assert model.timeline.range == (0, 19)
    undo, redo = window.menu_actions["undo"], window.menu_actions["redo"]
    undo.trigger()
    assert model.timeline.range == (5, 11)
    undo.trigger()
    assert model.timeline.range == (5, 19)
    undo.trigger()
    assert model.timeline.range == (0, 19)
    undo.trigger()
    assert model.settings.get("beta") == 0.05 and panel.beta_slider.value() == 5
    undo.trigger()
    assert model.settings.get("steps") == 30 and panel.steps_spin.value() == 30
    assert not undo.isEnabled()
    for _ in range(5):
        redo.trigger()
    assert (model.settings.get("steps"), model.settings.get("beta"), model.timeline.range) == (12, 0.09, (0, 19))

    other = media["empty"]
    model.open_source(other)
    wait_until(qtbot, lambda: model.source.path == str(other))
    assert undo.text() == "&Undo open another source image"
    undo.trigger()
    wait_until(qtbot, lambda: model.source.path == str(media["source"]))
    redo.trigger()
    wait_until(qtbot, lambda: model.source.path == str(other))
    assert redo.isEnabled() is False and undo.isEnabled()


def write_tiny_model_folder(root: Path, components) -> Path:
    from engine.weights.modelfolder import save_model_folder

    return save_model_folder(components, root / "tinyone", "tinyone", resolution=(64, 96),
                             defaults={"steps": 3, "cfg": 2.0}, notes="A tiny model for tests. Random weights.")


def test_model_manager_imports_verifies_and_removes_a_model(qtbot, tmp_path, tiny_components):
    library = ModelLibraryModel(root=tmp_path / "library")
    manager = ModelManager(library)
    qtbot.addWidget(manager)
    with qtbot.waitSignal(library.changed, timeout=20000):
        library.refresh()
    names = [manager.table.item(row, 0).text() for row in range(manager.table.rowCount())]
    assert "tinyone" not in names
    source = write_tiny_model_folder(tmp_path / "downloads", tiny_components)
    library.import_folder(source)
    wait_until(qtbot, lambda: library.card("tinyone") is not None and not library.busy, timeout=60000)
    assert (tmp_path / "library" / "tinyone" / "model.json").is_file()
    manager.select("tinyone")
    row = manager.table.selectionModel().selectedRows()[0].row()
    cells = [manager.table.item(row, column).text() for column in range(5)]
    assert cells[0] == "tinyone" and cells[2] == "64x96" and cells[4] == "not checked"
    assert cells[3].endswith(("KB", "MB")) and manager.card.text() == "A tiny model for tests."
    manager.verify_button.click()
    wait_until(qtbot, lambda: library.card("tinyone").verified == "intact" and not library.busy, timeout=60000)
    manager.select("tinyone")
    assert manager.table.item(manager.table.selectionModel().selectedRows()[0].row(), 4).text() == "intact"
    # a damaged file is found by Verify
    weights = next((tmp_path / "library" / "tinyone" / "vae").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    errors = []
    library.error.connect(errors.append)
    manager.select("tinyone")
    manager.verify_button.click()
    wait_until(qtbot, lambda: errors and not library.busy, timeout=60000)
    assert errors[0].startswith("tinyone has 1 damaged or missing files")
    manager.confirm_remove = lambda name: name == "tinyone"
    manager.select("tinyone")
    assert manager.remove_button.isEnabled(), "idle again: the buttons are back"
    manager.remove_button.click()
    wait_until(qtbot, lambda: library.card("tinyone") is None and not library.busy, timeout=60000)
    assert not (tmp_path / "library" / "tinyone").exists()


def test_download_offline_says_so_in_one_sentence(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    library = ModelLibraryModel(root=tmp_path / "library")
    with qtbot.waitSignal(library.error, timeout=20000) as blocker:
        library.download("talkingpose")
    assert blocker.args[0].startswith("cannot fetch while offline (HF_HUB_OFFLINE is set)")
    wait_until(qtbot, lambda: not library.busy)


def test_choosing_a_model_applies_its_defaults_and_shows_its_card(qtbot, window):
    model, panel = window.model, window.settings_panel
    wait_until(qtbot, lambda: model.library.card("tiny") is not None and panel.model_combo.findText("tiny") >= 0)
    panel.model_combo.setCurrentIndex(panel.model_combo.findText("tiny"))
    panel.model_combo.activated.emit(panel.model_combo.findText("tiny"))
    values = model.settings.values()
    assert (values["model"], values["steps"], values["cfg"], values["width"], values["height"]) == ("tiny", 4, 2.0, 64, 96)
    assert panel.model_card.text() == "A tiny test model. License: MIT."
    panel.model_combo.activated.emit(panel.model_combo.findText("demo"))
    values = model.settings.values()
    assert (values["model"], values["width"], values["height"]) == ("demo", 512, 512)
    assert panel.model_card.text() == ("Made for the bundled puppets; real people need released weights — "
                                       "see Models ▸ Manage.")
    window.menu_actions["undo"].trigger()  # one undo step per model choice
    assert (model.settings.get("model"), model.settings.get("width"), model.settings.get("steps")) == ("tiny", 64, 4)


def test_a_fresh_start_uses_the_demo_models_own_defaults(qtbot, fake_backend):
    fake_backend.demo_defaults = {"steps": 15, "cfg": 1.5, "beta": 0.05, "resolution": (128, 128)}
    fresh = StudioModel(fake_backend, Prefs())
    wait_until(qtbot, lambda: fresh.library.cards)
    values = fresh.settings.values()
    assert (values["steps"], values["cfg"], values["width"], values["height"]) == (15, 1.5, 128, 128)
    assert not fresh.dirty and fresh.history.stack.count() == 0
    fresh.shutdown()
    restored = StudioModel(fake_backend, Prefs())
    restored.settings.set(steps=40)  # a session's own settings are never replaced by the model's defaults
    wait_until(qtbot, lambda: restored.library.cards)
    assert (restored.settings.get("steps"), restored.settings.get("width")) == (40, 512)
    restored.shutdown()


def test_a_video_dropped_on_the_source_panel_becomes_the_driving_video(qtbot, window, media):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(media["video"]))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.source_panel, enter)
    assert window.source_panel.highlighted
    drop_file(window.source_panel, media["video"])
    assert not window.source_panel.highlighted
    wait_until(qtbot, lambda: window.model.driving.info is not None)
    assert window.model.driving.path == str(media["video"]) and window.model.source.info is None
    QApplication.sendEvent(window, QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                                                   Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert window.preview_panel.styleSheet(), "a drag over the window highlights where the file goes"
    drop_file(window, media["source"])  # a picture dropped on the window becomes the source
    wait_until(qtbot, lambda: window.model.source.info is not None)
    assert window.model.source.path == str(media["source"]) and not window.preview_panel.styleSheet()


def test_timeline_keys_shuttle_jump_and_zoom(qtbot, window, media):
    load_inputs(qtbot, window, media)
    timeline, strip, panel = window.model.timeline, window.timeline_panel.strip, window.timeline_panel
    strip.setFocus()
    qtbot.keyClick(strip, Qt.Key.Key_L)
    assert timeline.playing and timeline.speed == 1
    qtbot.keyClick(strip, Qt.Key.Key_L)
    assert timeline.speed == 2
    qtbot.keyClick(strip, Qt.Key.Key_J)
    assert timeline.speed == -1
    qtbot.keyClick(strip, Qt.Key.Key_K)
    assert not timeline.playing
    panel.goto_edit.setText("0:01.5")  # 1.5 s at 10 fps
    qtbot.keyClick(panel.goto_edit, Qt.Key.Key_Return)
    assert timeline.playhead == 15 and strip.hasFocus()
    panel.goto_edit.setText("4")
    qtbot.keyClick(panel.goto_edit, Qt.Key.Key_Return)
    assert timeline.playhead == 3
    width_before = strip.x_for_frame(1) - strip.x_for_frame(0)
    qtbot.keyClick(strip, Qt.Key.Key_Plus)
    assert strip.zoom == 2.0 and strip.x_for_frame(1) - strip.x_for_frame(0) == pytest.approx(2 * width_before)
    assert 0 <= strip.x_for_frame(3) <= strip.width(), "the playhead stays in view"
    qtbot.keyClick(strip, Qt.Key.Key_Minus)
    assert strip.zoom == 1.0


def test_one_frame_range_stays_visible_when_zoomed_out(qtbot, window, tmp_path, media):
    from studio.gui.widgets.images import qimage_to_array
    from studio_testkit import write_fake_video

    long_video = write_fake_video(tmp_path / "long.mp4", frames=5000, fps=25.0)
    window.model.open_driving(long_video)
    wait_until(qtbot, lambda: window.model.timeline.frames == 5000)
    window.model.timeline.set_range(2500, 2500)
    strip = window.timeline_panel.strip
    shown = qimage_to_array(strip.grab().toImage())
    left = round(strip.x_for_frame(2499.5))
    band = shown[strip.height() // 2, left:left + 4]
    assert (band[:, 2] > band[:, 0]).all(), "a blue band at least 4 px wide marks the range"


def test_title_shows_unsaved_changes_and_render_progress(qtbot, window, media, tmp_path, fake_backend):
    load_inputs(qtbot, window, media)
    assert window.windowTitle() == "untitled — TalkingPose Studio"
    window.settings_panel.steps_spin.setValue(2)
    assert window.windowTitle() == "untitled* — TalkingPose Studio"
    assert window.model.save_project(tmp_path / "clip.tpproj")
    assert window.windowTitle() == "clip.tpproj — TalkingPose Studio"
    fake_backend.delay = 0.01
    titles = []
    window.windowTitleChanged.connect(titles.append)
    window.render_button.click()
    entry = window.model.queue.entries[-1]
    wait_until(qtbot, lambda: entry.state == DONE)
    assert any(" — rendering " in title and title.startswith("clip.tpproj") for title in titles)
    assert window.windowTitle() == "clip.tpproj — TalkingPose Studio"


def test_restored_session_remembers_its_project_file(qtbot, fake_backend, media, tmp_path):
    first = StudioModel(fake_backend, Prefs.load())
    first.open_source(media["source"])
    first.open_driving(media["video"])
    wait_until(qtbot, lambda: first.source.info is not None and first.driving.info is not None)
    assert first.save_project(tmp_path / "talk.tpproj")
    first.save_prefs()
    first.shutdown()
    second = StudioModel(fake_backend, Prefs.load())
    assert second.restore_last_session()
    assert second.project_path == tmp_path / "talk.tpproj" and not second.dirty
    wait_until(qtbot, lambda: second.driving.info is not None)
    assert not second.dirty, "loading the session's inputs is not an unsaved change"
    second.shutdown()


def test_steadiness_preview_renders_three_frames_in_a_row(qtbot, window, media):
    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=1, width=64, height=64, beta=0.1)
    window.model.timeline.seek(6)
    window.settings_panel.beta_try_button.click()
    wait_until(qtbot, lambda: window.model.preview.generated_image is not None and not window.model.preview.previewing)
    strip = window.model.preview.generated_image
    assert strip.shape == (8, 24, 3)  # three 8x8 fake frames side by side
    assert [int(strip[0, 8 * k, 0]) for k in range(3)] == [(i * 7 + 3) % 256 for i in (6, 7, 8)]
    assert window.model.preview.generated_caption.startswith("Frames 7–9 in a row at steadiness 0.10")
    assert "β" not in window.settings_panel.beta_label.text() + window.settings_panel.beta_slider.toolTip()


def test_log_window_shows_the_log_file(qtbot, window, private_data_dir):
    from studio.gui.widgets.dialogs import LogWindow

    (private_data_dir / "studio.log").write_text("first line\nERROR the thing that went wrong\n")
    log = window.show_log()
    assert log.text.toPlainText().endswith("ERROR the thing that went wrong\n")
    assert window.show_log() is log, "one log window, raised again"
    opened = []
    standalone = LogWindow(private_data_dir / "studio.log", opened.append)
    qtbot.addWidget(standalone)
    [folder_button] = [b for b in standalone.findChildren(type(window.render_button)) if b.text() == "Open log folder"]
    folder_button.click()
    assert opened == [private_data_dir]


def test_pose_extraction_shows_rate_eta_and_can_be_cancelled(qtbot, window, media, fake_backend):
    fake_backend.delay = 0.02
    window.model.open_driving(media["video"])
    panel = window.timeline_panel
    wait_until(qtbot, lambda: window.model.driving.pose_progress[0] >= 12)
    assert panel.pose_cancel.isVisible()
    assert panel.pose_detail.text().startswith(f"{window.model.driving.pose_progress[0]}/20 · ")
    assert " fps · ETA 0:00:0" in panel.pose_detail.text()
    panel.pose_cancel.click()
    wait_until(qtbot, lambda: not window.model.driving.extracting)
    assert window.model.driving.poses is None and not panel.pose_cancel.isVisible()


def test_menus_hold_edit_help_and_export_and_disable_what_cannot_act(qtbot, window, media):
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&Render", "&View", "&Models", "&Help"]
    for key in ("render", "preview", "strip", "export", "undo", "redo"):
        assert not window.menu_actions[key].isEnabled(), key
    load_inputs(qtbot, window, media)
    assert window.menu_actions["render"].isEnabled() and window.menu_actions["preview"].isEnabled()
    assert not window.menu_actions["export"].isEnabled()
    sheet = window.show_shortcuts()
    assert "Alt+X" in sheet.label.text() and "J / K / L" in sheet.label.text()
    assert "TalkingPose Studio" in window.show_about().label.text()


def test_quitting_with_unsaved_changes_offers_to_save(qtbot, window, media, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.skip_close_question = False
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *args, **kwargs: asked.append(args[1]) or QMessageBox.StandardButton.Cancel))
    window.close()
    assert asked == [] and not window.isVisible()  # nothing changed: no question
    window.show()
    window.settings_panel.steps_spin.setValue(9)
    window.close()
    assert asked == ["Unsaved changes"] and window.isVisible(), "Cancel keeps the window open"
    window.model.project_path = tmp_path / "kept.tpproj"
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *args, **kwargs: QMessageBox.StandardButton.Save))
    window.close()
    assert not window.isVisible() and json.loads((tmp_path / "kept.tpproj").read_text())["settings"]["steps"] == 9


def test_download_shows_how_much_has_arrived(qtbot, tmp_path, monkeypatch):
    import threading

    import engine.weights.fetch as fetch_module

    release = threading.Event()

    def slow_fetch(name, library=None, **kwargs):  # the engine's fetch, minus the network
        partial = library.root / ".downloads" / name / "x" / "unet.pth.incomplete"
        partial.parent.mkdir(parents=True)
        partial.write_bytes(b"\0" * (3 * 2**20))
        release.wait(10)
        return library.root / name

    monkeypatch.setattr(fetch_module, "fetch", slow_fetch)
    library = ModelLibraryModel(root=tmp_path / "library")
    manager = ModelManager(library)
    qtbot.addWidget(manager)
    library.download("talkingpose")
    wait_until(qtbot, lambda: manager.busy_label.text() == "Downloading talkingpose… 3 MB so far", timeout=10000)
    assert not manager.download_button.isEnabled()
    release.set()
    wait_until(qtbot, lambda: not library.busy)
