"""studio.gui.app: the qasync-driven screenshot flow, the `studio --screenshot` command, the crash guard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from studio.gui.app import example_inputs, install_excepthook, take_screenshot
from studio.gui.project import Prefs
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.widgets.images import qimage_to_array
from studio.gui.widgets.main_window import MainWindow
from studio_testkit import frame_value, wait_until

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot, fake_backend):
    win = MainWindow(StudioModel(fake_backend, Prefs()))
    win.skip_close_question = True
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    yield win
    win.close()


def test_take_screenshot_waits_for_the_example_and_saves_the_window(qtbot, qapp, window, media, tmp_path):
    loop = qasync.QEventLoop(qapp)
    try:
        path = loop.run_until_complete(take_screenshot(window, tmp_path / "shot.png", media["source"], media["video"], frame=6))
    finally:
        loop.close()
    image = QImage(str(path))
    assert (image.width(), image.height()) == (window.width(), window.height())
    assert window.model.timeline.playhead == 6 and window.model.driving.thumbnails_complete
    view = window.preview_panel.driving_view
    centre = view.mapTo(window, view.image_rect().center().toPoint())
    pixel = qimage_to_array(image)[centre.y(), centre.x()]
    assert abs(int(pixel[0]) - frame_value(6)) <= 2, "the screenshot shows driving frame 6"


def test_example_inputs_prefer_the_command_line(tmp_path):
    given = tmp_path / "me.png"
    assert example_inputs(given, None) == (given, None)


@pytest.mark.qt_no_exception_capture
def test_a_bug_in_a_slot_is_shown_not_fatal(qtbot, window):
    previous = sys.excepthook
    install_excepthook(window.model.error.emit)
    try:
        def buggy_slot():
            raise ZeroDivisionError("division by zero")

        with qtbot.waitSignal(window.model.error, timeout=2000) as blocker:
            QTimer.singleShot(0, buggy_slot)
    finally:
        sys.excepthook = previous
    assert blocker.args[0].startswith("unexpected error (ZeroDivisionError: division by zero)")
    wait_until(qtbot, window.error_banner.isVisible)
    window.model.timeline.set_video(5, 10.0)
    window.model.timeline.step(2)
    assert window.model.timeline.playhead == 2  # still working


@pytest.mark.slow
def test_studio_screenshot_command_writes_a_png(tmp_path, media):
    """The real entry point with the real engine adapter, no example video: exits 0 with a PNG."""
    out = tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TALKINGPOSE_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "studio.gui.app", "--screenshot", str(out), "--source", str(tmp_path / "missing.png"),
         "--timeout", "60"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"saved {out}" in result.stdout
    error_line = next(line for line in result.stderr.splitlines() if line.startswith("the window shows an error:"))
    assert "missing.png" in error_line and "Traceback" not in result.stderr
    image = qimage_to_array(QImage(str(out)))
    assert image.shape[0] > 300 and image.shape[1] > 500
    assert image.std() > 10, "the screenshot is not a blank image"
