"""Timeline state: frame count, playhead, in/out range, playback and shuttle; keyboard actions map here."""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, QTimer, Signal

SHUTTLE_SPEEDS = (1, 2, 4, 8)


def format_time(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{rest:05.2f}"


def format_duration(seconds: float) -> str:
    """h:mm:ss (``0:03:07``), as ETAs are read."""
    whole = int(round(max(0.0, seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def parse_position(text: str, fps: float) -> int | None:
    """A typed position -> 0-based frame: ``120`` is frame 120 (1-based, as shown), ``1:05.5`` /
    ``0:01:05`` are times (m:ss or h:mm:ss). None when the text is neither."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return max(0, int(text) - 1)
    match = re.fullmatch(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)", text)
    if match is None:
        return None
    hours, minutes, seconds = int(match.group(1) or 0), int(match.group(2)), float(match.group(3))
    return int(round((hours * 3600 + minutes * 60 + seconds) * fps))


class TimelineModel(QObject):
    """Frames are 0-based; the range ``[range_in, range_out]`` is inclusive (render end = range_out + 1).

    ``range_edited(old, new)`` fires for user edits of the range (for undo), with (in, out) pairs.
    """

    changed = Signal()
    playhead_changed = Signal(int)
    range_edited = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.frames = 0
        self.fps = 25.0
        self.playhead = 0
        self.range_in = 0
        self.range_out = -1
        self.speed = 0  # frames per tick while playing; negative plays backwards (J/K/L shuttle)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def range_frames(self) -> int:
        return max(0, self.range_out - self.range_in + 1)

    @property
    def range(self) -> tuple[int, int]:
        return self.range_in, self.range_out

    def set_video(self, frames: int, fps: float) -> None:
        """A new driving video: full range, playhead at 0."""
        self.stop()
        self.frames, self.fps = max(0, int(frames)), float(fps) if fps > 0 else 25.0
        self.range_in, self.range_out = 0, self.frames - 1
        self.changed.emit()
        self.seek(0, force=True)

    def set_range(self, range_in: int, range_out: int | None, record: bool = False) -> None:
        old = self.range
        last = self.frames - 1
        self.range_out = last if range_out is None else max(0, min(int(range_out), last))
        self.range_in = max(0, min(int(range_in), self.range_out))
        self.changed.emit()
        if record and self.range != old:
            self.range_edited.emit(old, self.range)

    def seek(self, frame: int, force: bool = False) -> None:
        frame = max(0, min(int(frame), max(0, self.frames - 1)))
        if frame != self.playhead or force:
            self.playhead = frame
            self.changed.emit()
            self.playhead_changed.emit(frame)

    def step(self, delta: int) -> None:
        self.seek(self.playhead + delta)

    def mark_in(self) -> None:
        self.set_range(self.playhead, max(self.range_out, self.playhead), record=True)

    def mark_out(self) -> None:
        self.set_range(min(self.range_in, self.playhead), self.playhead, record=True)

    def clear_range(self) -> None:
        """Alt+X: the whole video again."""
        self.set_range(0, self.frames - 1, record=True)

    def go_to(self, text: str) -> bool:
        """Jump to a typed frame number or time; False when the text is not a position."""
        frame = parse_position(text, self.fps)
        if frame is None or self.frames == 0:
            return False
        self.stop()
        self.seek(frame)
        return True

    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        elif self.frames > 1:
            if not self.range_in <= self.playhead < self.range_out:
                self.seek(self.range_in)
            self._play(1)

    def shuttle(self, direction: int) -> None:
        """L (+1) plays forward, faster on each press; J (-1) the same backwards; K (0) stops."""
        if direction == 0 or self.frames <= 1:
            self.stop()
            return
        if self.playing and self.speed * direction > 0:
            index = SHUTTLE_SPEEDS.index(abs(self.speed)) if abs(self.speed) in SHUTTLE_SPEEDS else 0
            self._play(direction * SHUTTLE_SPEEDS[min(index + 1, len(SHUTTLE_SPEEDS) - 1)])
        else:
            self._play(direction)

    def _play(self, speed: int) -> None:
        self.speed = speed
        self._timer.start(max(1, round(1000 / self.fps)))
        self.changed.emit()

    def stop(self) -> None:
        if self.playing:
            self._timer.stop()
            self.speed = 0
            self.changed.emit()

    def _advance(self) -> None:
        target = self.playhead + self.speed
        if self.speed > 0 and self.playhead >= self.range_out or self.speed < 0 and self.playhead <= 0:
            self.stop()
        elif self.speed > 0:
            self.seek(min(target, self.range_out))
        else:
            self.seek(max(target, 0))

    def readout(self) -> str:
        """E.g. ``frame 13 / 300 · 00:00.48 · in 0 out 299`` (frames shown 1-based like video editors)."""
        if self.frames == 0:
            return "no driving video"
        return (f"frame {self.playhead + 1} / {self.frames} · {format_time(self.playhead / self.fps)}"
                f" · range {self.range_in + 1}–{self.range_out + 1} ({self.range_frames} frames)")
