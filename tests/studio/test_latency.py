"""The UI thread stays responsive (< ~100 ms stalls) while a slow engine extracts poses and renders."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from studio.gui.project import Prefs
from studio.gui.viewmodels.render_queue import DONE
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.widgets.main_window import MainWindow
from studio_testkit import wait_until

TICK_MS = 10
MAX_STALL_MS = 100


class LatencyProbe:
    """A QTimer that should fire every TICK_MS; its worst lateness is how long the UI thread was blocked."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> list[float]:
        """Lateness of each tick in ms, worst first."""
        self.timer.stop()
        return sorted(((b - a) * 1000 - TICK_MS for a, b in zip(self.ticks, self.ticks[1:])), reverse=True)


def test_ui_thread_never_blocks_during_extraction_preview_and_render(qtbot, fake_backend, media, record_property):
    fake_backend.delay = 0.015
    fake_backend.busy_work = 20_000
    fake_backend.full_size = True  # 512x512 frames stream into the preview, as with the real engine
    model = StudioModel(fake_backend, Prefs())
    window = MainWindow(model)
    window.skip_close_question = True
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    probe = LatencyProbe()
    probe.start()
    model.open_source(media["source"])
    model.open_driving(media["video"])  # 20 frames of slow pose extraction
    wait_until(qtbot, lambda: model.driving.info is not None)
    model.settings.set(steps=6)
    model.timeline.set_range(0, 7)
    wait_until(qtbot, lambda: model.source.info is not None)
    entry = model.render()  # 8 frames x 6 slow steps, 512x512 frames streamed to the window
    model.preview.request_preview()
    for index in range(0, 20, 2):  # scrub while everything runs
        model.timeline.seek(index)
        qtbot.wait(20)
    model.settings.set(beta=0.1)  # live preview re-render, debounced
    wait_until(qtbot, lambda: entry.state == DONE and model.driving.poses is not None and not model.preview.previewing,
               timeout=20000)
    stalls = probe.stop()
    record_property("worst_ui_stalls_ms", [round(s, 1) for s in stalls[:3]])
    print(f"worst UI-thread stalls: {[round(s) for s in stalls[:3]]} ms over {len(probe.ticks)} ticks")
    assert len(probe.ticks) > 40, "the probe must have run during the work"
    assert fake_backend.ui_thread_calls == [], "engine calls must never run on the UI thread"
    # On the shared 2-core test machines the OS alone can delay one tick; a design fault (work on
    # the UI thread) delays many, so one outlier is forgiven but capped.
    assert stalls[1] < MAX_STALL_MS and stalls[0] < 3 * MAX_STALL_MS
    assert model.preview.generated_image.shape == (512, 512, 3)
    window.close()
