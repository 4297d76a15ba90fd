"""The bugs of issue 16, each driven the way a user meets it (keys, clicks, drops, menus)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle

from engine.errors import InputError
from studio.gui.app import SAMPLES, parse_args
from studio.gui.project import Prefs
from studio.gui.viewmodels.render_queue import DONE, FAILED
from studio.gui.viewmodels.studio import StudioModel
from studio_testkit import accept_dialog, wait_until
from test_window import load_inputs


def type_into(qtbot, spin, text: str) -> None:
    """Select the field's text, type ``text`` key by key and press Enter, as a user does."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


# 1 -------------------------------------------------------------------------------------------------
def test_number_fields_take_decimals_typed_key_by_key(qtbot, window):
    panel = window.settings_panel
    type_into(qtbot, panel.cfg_spin, "2.5")
    type_into(qtbot, panel.smooth_spin, "0.25")
    assert window.model.settings.get("cfg") == 2.5
    assert window.model.settings.get("smooth") == 0.25
    assert panel.cfg_spin.value() == 2.5 and panel.smooth_spin.value() == 0.25


# 2 -------------------------------------------------------------------------------------------------
def test_arrow_keys_move_the_focused_slider_not_the_playhead(qtbot, window, media):
    load_inputs(qtbot, window, media)
    window.model.timeline.seek(5)
    slider = window.settings_panel.beta_slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert window.model.settings.get("beta") == 0.07
    assert window.model.timeline.playhead == 5


def test_clicking_the_timeline_after_a_field_gives_the_keys_back(qtbot, window, media):
    load_inputs(qtbot, window, media)
    panel, strip = window.settings_panel, window.timeline_panel.strip
    panel.steps_spin.setFocus()
    panel.steps_spin.selectAll()
    qtbot.keyClicks(panel.steps_spin, "12")
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.x_for_frame(4)), strip.height() // 2))
    assert strip.hasFocus() and window.model.settings.get("steps") == 12  # leaving the field committed it
    qtbot.keyClick(strip, Qt.Key.Key_I)
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    qtbot.keyClick(strip, Qt.Key.Key_Right)
    qtbot.keyClick(strip, Qt.Key.Key_O)
    assert window.model.timeline.range == (4, 6)
    assert panel.steps_spin.value() == 12, "the keys did not go into the field"


def test_enter_in_a_field_returns_focus_to_the_timeline(qtbot, window, media):
    load_inputs(qtbot, window, media)
    type_into(qtbot, window.settings_panel.seed_spin, "7")
    assert window.timeline_panel.strip.hasFocus()
    qtbot.keyClick(window.timeline_panel.strip, Qt.Key.Key_End)
    assert window.model.timeline.playhead == 19 and window.model.settings.get("seed") == 7


# 3 and 4 -------------------------------------------------------------------------------------------
def test_a_picture_as_driving_video_is_refused_and_leaves_the_video_and_recent(qtbot, window, media):
    load_inputs(qtbot, window, media)
    window.model.timeline.set_range(3, 8)
    window.model.open_driving(media["source"])  # a PNG
    wait_until(qtbot, lambda: window.error_banner.isVisible())
    assert window.error_banner.label.text().startswith("portrait.png is a still image, not a video")
    assert window.model.driving.path == str(media["video"])
    assert window.model.timeline.frames == 20 and window.model.timeline.range == (3, 8)
    assert window.model.prefs.recent_drivings == [str(media["video"])]
    assert [a.text() for a in window.recent_drivings_menu.actions()] == ["talk.mp4"]


def test_files_that_failed_to_open_never_enter_recent(qtbot, window, media):
    window.model.open_source(media["text"])  # one after the other: both failures show in the one banner
    wait_until(qtbot, lambda: "notes.png" in window.error_banner.label.text())
    wait_until(qtbot, lambda: not window.model.source.loading)
    window.model.open_driving(media["corrupt"])
    wait_until(qtbot, lambda: "corrupt.mp4" in window.error_banner.label.text())
    assert window.model.prefs.recent_sources == [] and window.model.prefs.recent_drivings == []
    assert not window.recent_sources_menu.isEnabled() and not window.recent_drivings_menu.isEnabled()
    saved = json.loads(Prefs.path().read_text()) if Prefs.path().exists() else {}
    assert saved.get("recent_sources", []) == [] and saved.get("recent_drivings", []) == []


def test_a_job_failing_on_its_input_offers_no_resume_or_export(qtbot, window, media, fake_backend):
    load_inputs(qtbot, window, media)
    fake_backend.fail_prepare = InputError("talk.mp4 has no frames with a person; choose another driving video")
    window.model.settings.set(steps=1)
    window.render_button.click()
    [entry] = window.model.queue.entries
    wait_until(qtbot, lambda: entry.state == FAILED)
    row = window.queue_panel.rows[entry.id]
    assert not row.resume_button.isEnabled() and not row.export_button.isEnabled()
    assert not window.menu_actions["export"].isEnabled()


# 5 -------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not (SAMPLES / "source.png").is_file(), reason="the bundled samples (resources/samples) are not installed")
def test_the_bundled_puppet_is_not_reported_as_no_person(qtbot, window, fake_backend, tmp_path):
    fake_backend.person_detector_sees_puppets = False  # MediaPipe finds no person in a drawn puppet
    window.model.open_source(SAMPLES / "source.png")
    wait_until(qtbot, lambda: window.model.source.info is not None)
    assert window.model.source.warning == "" and not window.source_panel.warning_label.isVisible()
    assert window.model.source.info.pose.has_person
    # an edited copy is no longer the sample: real detection decides, and it says so
    edited = tmp_path / "samples"
    shutil.copytree(SAMPLES, edited, ignore=shutil.ignore_patterns("*.mp4", "*.npz"))
    import cv2

    picture = cv2.imread(str(edited / "source.png"))
    picture[:40, :40] = 255 - picture[:40, :40]
    cv2.imwrite(str(edited / "source.png"), picture)
    window.model.open_source(edited / "source.png")
    wait_until(qtbot, lambda: window.model.source.path == str(edited / "source.png"))
    assert window.model.source.warning.startswith("No person found in source.png")


# 6 -------------------------------------------------------------------------------------------------
def test_play_button_shows_play_and_pause_icons_not_glyphs(qtbot, window, media):
    load_inputs(qtbot, window, media)
    button, style = window.timeline_panel.play_button, window.timeline_panel.style()

    def shows(pixmap: QStyle.StandardPixmap) -> bool:
        return button.icon().pixmap(16).toImage() == style.standardIcon(pixmap).pixmap(16).toImage()

    assert button.text() == "" and shows(QStyle.StandardPixmap.SP_MediaPlay)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert shows(QStyle.StandardPixmap.SP_MediaPause) and not shows(QStyle.StandardPixmap.SP_MediaPlay)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert shows(QStyle.StandardPixmap.SP_MediaPlay)


# 7 -------------------------------------------------------------------------------------------------
def render_to(qtbot, window, path: Path, preset: str = "web"):
    def choose(dialog) -> bool:
        dialog.preset_combo.setCurrentText(preset)
        dialog.path_edit.setText(str(path))
        return accept_dialog(dialog)

    window.run_dialog = choose
    window.render_button.click()
    entry = window.model.queue.entries[-1]
    wait_until(qtbot, lambda: entry.state == DONE and entry.exports)
    return entry


def test_export_suggests_the_videos_folder_not_the_input_folder(qtbot, window, media, videos_dir):
    load_inputs(qtbot, window, media)
    dialog = window.render_dialog()
    assert Path(dialog.path_edit.text()) == videos_dir / "talk-animated.mp4"
    assert Path(dialog.path_edit.text()).parent != media["video"].parent


def test_export_asks_before_replacing_a_file(qtbot, window, media, tmp_path):
    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=1)
    existing = tmp_path / "keep.mp4"
    existing.write_text("the user's file")
    entry = render_to(qtbot, window, tmp_path / "first.mp4")
    dialog = window.export_dialog(entry.id)
    dialog.path_edit.setText(str(existing))
    asked = []
    dialog.confirm_overwrite = lambda path: asked.append(path) or False
    dialog.accept()
    assert asked == [existing] and dialog.result() != dialog.DialogCode.Accepted
    assert existing.read_text() == "the user's file"
    dialog.confirm_overwrite = lambda path: True
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted


def test_a_gif_export_does_not_turn_audio_off_for_the_next_mp4(qtbot, window, media, tmp_path):
    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=1)
    entry = render_to(qtbot, window, tmp_path / "clip.gif", preset="gif")
    assert json.loads((tmp_path / "clip.gif").read_text())["audio"] is False
    dialog = window.export_dialog(entry.id)
    assert dialog.preset_combo.currentText() == "gif" and not dialog.audio_check.isEnabled()
    dialog.preset_combo.setCurrentText("web")
    assert dialog.audio_check.isEnabled() and dialog.audio_check.isChecked()
    assert window.model.prefs.export_audio is True


def test_open_folder_without_a_launcher_says_where_the_folder_is(qtbot, window, media, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=1)
    entry = render_to(qtbot, window, tmp_path / "out.mp4")
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    window.queue_panel.rows[entry.id].folder_button.click()
    assert window.error_banner.isVisible()
    assert window.error_banner.label.text() == f"No program to open it was found; it is at {tmp_path}"


# 8 -------------------------------------------------------------------------------------------------
def test_switching_inputs_clears_the_old_render(qtbot, window, media):
    load_inputs(qtbot, window, media)
    window.model.settings.set(steps=1)
    window.preview_panel.preview_button.click()
    wait_until(qtbot, lambda: window.model.preview.generated_image is not None)
    window.model.open_source(media["empty"])
    wait_until(qtbot, lambda: window.model.source.path == str(media["empty"]))
    assert window.model.preview.generated_image is None
    assert not window.preview_panel.generated_view.has_image()


def test_the_error_banner_goes_when_the_problem_is_fixed(qtbot, window, media):
    window.model.open_source(media["text"])
    wait_until(qtbot, lambda: window.error_banner.isVisible())
    window.model.open_source(media["source"])
    wait_until(qtbot, lambda: window.model.source.info is not None)
    assert not window.error_banner.isVisible() and window.model.last_error == ""


# 9 -------------------------------------------------------------------------------------------------
def test_files_on_the_command_line_keep_the_last_settings(qtbot, fake_backend, media):
    from studio.gui.app import start_session

    first = StudioModel(fake_backend, Prefs.load())
    first.settings.set(cfg=2.5, steps=12, beta=0.1)
    first.save_prefs()
    second = StudioModel(fake_backend, Prefs.load())
    start_session(second, parse_args([str(media["video"])]))
    assert (second.settings.get("cfg"), second.settings.get("steps"), second.settings.get("beta")) == (2.5, 12, 0.1)
    wait_until(qtbot, lambda: second.driving.info is not None)
    assert second.driving.path == str(media["video"])
    for model in (first, second):
        model.shutdown()


def test_a_screenshot_session_never_rewrites_recent_or_the_last_session(qtbot, fake_backend, media):
    user = Prefs.load()
    user.recent_sources, user.last_project = ["/home/me/me.png"], {"source": "/home/me/me.png"}
    user.save()
    before = Prefs.path().read_text()
    model = StudioModel(fake_backend, Prefs.load(), persist=False)
    model.open_source(media["source"])
    model.open_driving(media["video"])
    wait_until(qtbot, lambda: model.source.info is not None and model.driving.info is not None)
    model.save_prefs()
    model.shutdown()
    assert Prefs.path().read_text() == before


def test_the_screenshot_command_builds_a_model_that_does_not_persist(qtbot, monkeypatch, fake_backend, media, tmp_path):
    import studio.gui.viewmodels.studio as studio_module
    from studio.gui import app

    made = []
    monkeypatch.setattr(studio_module, "EngineBackend", lambda: fake_backend)
    monkeypatch.setattr(studio_module.StudioModel, "shutdown",
                        lambda self, real=studio_module.StudioModel.shutdown: (made.append(self), real(self)))
    Prefs(recent_sources=["/home/me/me.png"]).save()
    before = Prefs.path().read_text()
    assert app.main(["--screenshot", str(tmp_path / "shot.png"), "--source", str(media["source"]),
                     "--driving", str(media["video"]), "--timeout", "20"]) == 0
    assert (tmp_path / "shot.png").is_file() and made and made[0].persist is False
    assert Prefs.path().read_text() == before


# 10 ------------------------------------------------------------------------------------------------
def test_engine_messages_are_worded_for_the_window(qtbot, window, media):
    load_inputs(qtbot, window, media)
    window.model.settings.set(device="cuda", steps=1)
    window.preview_panel.preview_button.click()
    wait_until(qtbot, lambda: window.error_banner.isVisible())
    text = window.error_banner.label.text()
    assert "--" not in text
    assert text == "Device: cuda was requested but no CUDA GPU is available; choose cpu or auto under Device in Settings"

