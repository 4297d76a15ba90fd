"""Timeline state: frame count, playhead, in/out range and playback; keyboard actions map here."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal


def format_time(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{rest:05.2f}"


class TimelineModel(QObject):
    """Frames are 0-based; the range ``[range_in, range_out]`` is inclusive (render end = range_out + 1)."""

    changed = Signal()
    playhead_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.frames = 0
        self.fps = 25.0
        self.playhead = 0
        self.range_in = 0
        self.range_out = -1
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def range_frames(self) -> int:
        return max(0, self.range_out - self.range_in + 1)

    def set_video(self, frames: int, fps: float) -> None:
        """A new driving video: full range, playhead at 0."""
        self.stop()
        self.frames, self.fps = max(0, int(frames)), float(fps) if fps > 0 else 25.0
        self.range_in, self.range_out = 0, self.frames - 1
        self.changed.emit()
        self.seek(0, force=True)

    def set_range(self, range_in: int, range_out: int | None) -> None:
        last = self.frames - 1
        self.range_out = last if range_out is None else max(0, min(int(range_out), last))
        self.range_in = max(0, min(int(range_in), self.range_out))
        self.changed.emit()

    def seek(self, frame: int, force: bool = False) -> None:
        frame = max(0, min(int(frame), max(0, self.frames - 1)))
        if frame != self.playhead or force:
            self.playhead = frame
            self.changed.emit()
            self.playhead_changed.emit(frame)

    def step(self, delta: int) -> None:
        self.seek(self.playhead + delta)

    def mark_in(self) -> None:
        self.range_in = self.playhead
        self.range_out = max(self.range_out, self.playhead)
        self.changed.emit()

    def mark_out(self) -> None:
        self.range_out = self.playhead
        self.range_in = min(self.range_in, self.playhead)
        self.changed.emit()

    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        elif self.frames > 1:
            if not self.range_in <= self.playhead < self.range_out:
                self.seek(self.range_in)
            self._timer.start(max(1, round(1000 / self.fps)))
            self.changed.emit()

    def stop(self) -> None:
        if self.playing:
            self._timer.stop()
            self.changed.emit()

    def _advance(self) -> None:
        if self.playhead >= self.range_out:
            self.stop()
        else:
            self.step(1)

    def readout(self) -> str:
        """E.g. ``frame 13 / 300 · 00:00.48 · in 0 out 299`` (frames shown 1-based like video editors)."""
        if self.frames == 0:
            return "no driving video"
        return (f"frame {self.playhead + 1} / {self.frames} · {format_time(self.playhead / self.fps)}"
                f" · range {self.range_in + 1}–{self.range_out + 1} ({self.range_frames} frames)")
