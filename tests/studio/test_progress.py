"""Progress everywhere: h:mm:ss ETAs, typed positions, and the running job kept in view."""

from __future__ import annotations

import pytest

from studio.gui.project import Prefs
from studio.gui.viewmodels.render_queue import DONE, RUNNING
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.viewmodels.timeline import format_duration, parse_position
from studio.gui.widgets.main_window import MainWindow
from studio.gui.widgets.queue_panel import describe_speed
from studio_testkit import accept_dialog, wait_until
from test_window import load_inputs


def test_eta_reads_as_hours_minutes_seconds():
    assert [format_duration(s) for s in (0, 59.6, 61, 3600 * 2 + 7 * 60 + 5)] == ["0:00:00", "0:01:00", "0:01:01", "2:07:05"]


@pytest.mark.parametrize("text, frame", [("1", 0), ("120", 119), ("0:05", 125), ("1:00.5", 1512), ("0:01:00", 1500)])
def test_typed_positions_are_frames_or_times(text, frame):
    assert parse_position(text, 25.0) == frame


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "-5", "1.5"])
def test_other_text_is_not_a_position(text):
    assert parse_position(text, 25.0) is None


def test_the_running_job_is_scrolled_into_view(qtbot, fake_backend, media, videos_dir):
    window = MainWindow(StudioModel(fake_backend, Prefs.load()))
    window.skip_close_question = True
    window.run_dialog = accept_dialog
    qtbot.addWidget(window)
    window.show()
    load_inputs(qtbot, window, media)
    fake_backend.delay = 0.002
    window.model.settings.set(steps=1)
    for start in range(0, 15, 3):
        window.model.timeline.set_range(start, start + 1)
        window.render_button.click()
    last = window.model.queue.entries[-1]
    wait_until(qtbot, lambda: last.state in (RUNNING, DONE), timeout=10000)
    scroll = window.queue_panel.scroll
    row = window.queue_panel.rows[last.id]
    top = row.mapTo(scroll.widget(), row.rect().topLeft()).y() - scroll.verticalScrollBar().value()
    assert scroll.verticalScrollBar().maximum() > 0, "five rows do not fit: the list scrolls"
    assert 0 <= top < scroll.viewport().height(), "the newest running job is in view"
    running = window.model.queue.entries[0]
    running.state, running.seconds_per_frame, running.frames_done, running.frames_total = RUNNING, 2.0, 10, 3610
    assert describe_speed(running) == "running · 2.00 s/frame · ETA 2:00:00"
    window.close()
