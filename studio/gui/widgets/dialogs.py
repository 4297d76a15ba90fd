"""Small windows: the log (View ▸ Log), the keyboard shortcut sheet and About (Help menu)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

LOG_TAIL_BYTES = 200_000  # the end of a long log is what an error message points to

SHORTCUTS = (
    ("Space", "play / pause"),
    ("J / K / L", "play backwards (faster on each press) / stop / play forwards (faster on each press)"),
    ("← / →", "one frame back / forward"),
    ("Shift+← / Shift+→", "ten frames back / forward"),
    ("Home / End", "first / last frame"),
    ("I / O", "set the render range start / end at the playhead"),
    ("Alt+X", "clear the range (the whole video)"),
    ("+ / - , Ctrl+wheel", "zoom the timeline in / out"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo settings, range and input changes"),
    ("Ctrl+P", "preview the frame under the playhead"),
    ("Ctrl+R", "render the range to a file"),
    ("Ctrl+E", "export a render's frames"),
    ("Ctrl+S / Ctrl+O", "save / open a project"),
    ("Enter or Esc in a field", "back to the timeline, so the keys above work again"),
)


def shortcut_sheet_html() -> str:
    rows = "".join(f"<tr><td style='padding-right:16px'><b>{keys}</b></td><td>{what}</td></tr>" for keys, what in SHORTCUTS)
    return f"<table>{rows}</table><p>Keys act on the timeline unless a text or number field has the focus.</p>"


class TextWindow(QDialog):
    """A read-only text with a Close button (the shortcut sheet and About use it too)."""

    def __init__(self, title: str, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.label = QLabel(html)
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)


def about_html(version: str) -> str:
    return (f"<h3>TalkingPose Studio {version}</h3>"
            "<p>Animates a portrait with the motion of a driving video (pose-guided diffusion with "
            "frame-to-frame feedback for long, steady videos).</p>"
            "<p>The bundled demo model is made for the bundled puppets; import or download released weights "
            "with Models ▸ Manage… for real people.</p>")


class LogWindow(QDialog):
    """The end of the studio's log file (the one error messages point to), with Open log folder."""

    def __init__(self, log_file: Path, open_path: Callable[[Path], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log")
        self.resize(820, 480)
        self.log_file = Path(log_file)
        self.path_label = QLabel(str(self.log_file))
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        reload_button = QPushButton("Reload")
        reload_button.clicked.connect(self.reload)
        folder_button = QPushButton("Open log folder")
        folder_button.clicked.connect(lambda: open_path(self.log_file.parent))
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.path_label, 1)
        for button in (reload_button, folder_button, close_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        self.reload()

    def reload(self) -> None:
        try:
            with self.log_file.open("rb") as stream:
                stream.seek(max(0, self.log_file.stat().st_size - LOG_TAIL_BYTES))
                text = stream.read().decode("utf-8", "replace")
        except OSError:
            text = f"No log yet: {self.log_file} is written when the studio has something to report."
        self.text.setPlainText(text)
        self.text.verticalScrollBar().setValue(self.text.verticalScrollBar().maximum())
