"""Undo/redo for what the user decides: settings, the in/out range, and which source/driving is open.

Every user edit lands on one QUndoStack; a clean stack means "saved" (the window's unsaved marker).
Edits made while replaying (undo/redo, opening a project) are not recorded again. Input changes
finish asynchronously (files load in workers), so replayed loads are matched by path when they land.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.gui.viewmodels.settings import SettingsModel
from studio.gui.viewmodels.timeline import TimelineModel

MERGE_SECONDS = 1.0  # a slider drag or spin-button burst on one field is one undo step
SETTING_ID, RANGE_ID = 1, 2
LABELS = {"beta": "steadiness", "cfg": "guidance", "smooth": "smoothing", "width": "output size", "height": "output size"}


class SettingCommand(QUndoCommand):
    def __init__(self, history: "History", name: str, old, new) -> None:
        super().__init__(f"change {LABELS.get(name, name)}")
        self.history, self.name, self.old, self.new = history, name, old, new
        self.stamp = time.monotonic()

    def id(self) -> int:
        return SETTING_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SettingCommand) or other.name != self.name or other.stamp - self.stamp > MERGE_SECONDS:
            return False
        self.new, self.stamp = other.new, other.stamp
        return True

    def redo(self) -> None:
        self.history.replay(lambda: self.history.settings.set(**{self.name: self.new}))

    def undo(self) -> None:
        self.history.replay(lambda: self.history.settings.set(**{self.name: self.old}))


class RangeCommand(QUndoCommand):
    def __init__(self, history: "History", old: tuple[int, int], new: tuple[int, int]) -> None:
        super().__init__("change the in/out range")
        self.history, self.old, self.new = history, old, new

    def redo(self) -> None:
        self.history.replay(lambda: self.history.timeline.set_range(*self.new))

    def undo(self) -> None:
        self.history.replay(lambda: self.history.timeline.set_range(*self.old))


class InputCommand(QUndoCommand):
    def __init__(self, history: "History", kind: str, old: str, new: str) -> None:
        super().__init__(f"open another {'source image' if kind == 'source' else 'driving video'}")
        self.history, self.kind, self.old, self.new = history, kind, old, new

    def redo(self) -> None:
        self.history.reopen(self.kind, self.new)

    def undo(self) -> None:
        self.history.reopen(self.kind, self.old)


class History(QObject):
    """The studio's undo stack. ``open_input(kind, path)`` loads a file without recording it again."""

    clean_changed = Signal(bool)

    def __init__(self, settings: SettingsModel, timeline: TimelineModel, open_input: Callable[[str, str], object],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings, self.timeline, self._open_input = settings, timeline, open_input
        self.stack = QUndoStack(self)
        self._replaying = 0
        self._expected: set[tuple[str, str]] = set()
        self.stack.cleanChanged.connect(self._clean_changed)
        settings.edited.connect(self._setting_edited)
        timeline.range_edited.connect(self._range_edited)

    def _clean_changed(self, clean: bool) -> None:
        try:
            self.clean_changed.emit(clean)
        except RuntimeError:  # QUndoStack's destructor clears the stack (and says so) while this object dies
            pass

    # --- recording -----------------------------------------------------------------------------
    def _push(self, command: QUndoCommand) -> None:
        # QUndoStack.push runs redo(); the edit already happened, so that first redo is a no-op.
        with self.paused():
            self.stack.push(command)

    def _setting_edited(self, name: str, old, new) -> None:
        if not self._replaying and name in ("model", "beta", "steps", "cfg", "seed", "width", "height", "align",
                                            "smooth", "device", "sampler", "pose_backend"):
            self._push(SettingCommand(self, name, old, new))

    def _range_edited(self, old: tuple[int, int], new: tuple[int, int]) -> None:
        if not self._replaying:
            self._push(RangeCommand(self, old, new))

    def input_loaded(self, kind: str, path: str, previous: str) -> None:
        """A source or driving file finished loading (called by the studio)."""
        if (kind, path) in self._expected:
            self._expected.discard((kind, path))
            return
        if previous and previous != path and not self._replaying:
            self._push(InputCommand(self, kind, previous, path))

    # --- replaying -----------------------------------------------------------------------------
    @contextmanager
    def paused(self):
        self._replaying += 1
        try:
            yield
        finally:
            self._replaying -= 1

    def replay(self, action: Callable[[], None]) -> None:
        if self._replaying:
            return  # the push of a fresh command: the edit is already applied
        with self.paused():
            action()

    def reopen(self, kind: str, path: str) -> None:
        if self._replaying or not path:
            return
        self.expect(kind, path)
        self._open_input(kind, path)

    def expect(self, kind: str, path: str) -> None:
        """``path`` is about to load as ``kind`` by a replay or a project: do not record it."""
        self._expected.add((kind, str(path)))

    def reset(self) -> None:
        """A project was opened or saved: its state is the clean state (``clear`` keeps no undo across projects)."""
        self.stack.setClean()

    def clear(self) -> None:
        self.stack.clear()
