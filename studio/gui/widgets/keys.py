"""Keyboard focus rules shared by the window's widgets.

The window's single-key shortcuts (arrows, Home/End, I/O, J/K/L) belong to the timeline; a widget
that uses those keys itself (a slider, a list box, a number field) keeps them while it has focus.
Qt asks the focused widget first with a ShortcutOverride event; accepting it wins the key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

NAVIGATION_KEYS = frozenset({
    Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End,
    Qt.Key.Key_PageUp, Qt.Key.Key_PageDown,
})


class ClaimKeys(QObject):
    """Event filter: the watched widget keeps the navigation keys while focused; Escape or Enter in a
    number field hands focus back to ``home`` (the timeline) so the editing keys work again."""

    def __init__(self, home: QWidget | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in NAVIGATION_KEYS \
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier):
            event.accept()
            return False
        if event.type() == QEvent.Type.KeyPress and self.home is not None and isinstance(watched, QAbstractSpinBox) \
                and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            watched.interpretText()  # commit what was typed before leaving the field
            self.home.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return False


def claim_keys(widgets, home: QWidget | None = None) -> ClaimKeys:
    """Install one ClaimKeys filter on every widget in ``widgets``; returns it (keep it alive)."""
    widgets = list(widgets)
    claim = ClaimKeys(home, widgets[0] if widgets else None)
    for widget in widgets:
        widget.installEventFilter(claim)
    return claim
