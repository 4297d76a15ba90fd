"""Render queue panel: a row per job with progress, s/frame, ETA and its actions."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from studio.gui.viewmodels.render_queue import DONE, RUNNING, JobEntry, RenderQueueModel
from studio.gui.viewmodels.timeline import format_time


def describe_speed(entry: JobEntry) -> str:
    parts = [entry.state]
    if entry.seconds_per_frame > 0:
        parts.append(f"{entry.seconds_per_frame:.2f} s/frame")
    if entry.state == RUNNING and entry.eta_seconds is not None:
        parts.append(f"ETA {format_time(entry.eta_seconds)}")
    return " · ".join(parts)


class JobRow(QFrame):
    def __init__(self, entry_id: str, queue: RenderQueueModel, export: Callable[[str], None],
                 open_folder: Callable[[Path], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry_id, self._queue = entry_id, queue
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name = QLabel()
        self.status = QLabel()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color: #a0a0a8;")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: queue.cancel(entry_id))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue after the last finished frame")
        self.resume_button.clicked.connect(lambda: queue.resume(entry_id))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the frames rendered so far as a video with a preset")
        self.export_button.clicked.connect(lambda: export(entry_id))
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(lambda: open_folder(queue.output_folder(entry_id)))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: queue.remove(entry_id))
        buttons = QHBoxLayout()
        for button in (self.cancel_button, self.resume_button, self.export_button, self.folder_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        header = QHBoxLayout()
        header.addWidget(self.name, 1)
        header.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.progress)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        entry = self._queue.entry(self.entry_id)
        self.name.setText(f"<b>{entry.name}</b> · frames {entry.start + 1}–{entry.end if entry.end else '…'}")
        self.status.setText(describe_speed(entry))
        self.detail.setText(entry.message + (" · exporting…" if entry.exporting else ""))
        self.progress.setRange(0, max(1, entry.frames_total))
        self.progress.setValue(entry.frames_done)
        self.cancel_button.setEnabled(entry.state in ("queued", RUNNING))
        self.resume_button.setEnabled(entry.resumable)
        self.export_button.setEnabled(entry.created and not entry.exporting)
        self.folder_button.setEnabled(entry.created)
        self.remove_button.setEnabled(entry.state != RUNNING)
        self.setToolTip(f"work folder: {entry.work_dir}" + (f"\nexports: {', '.join(entry.exports)}" if entry.exports else ""))
        self.progress.setStyleSheet("QProgressBar::chunk { background: #3c9; }" if entry.state == DONE else "")


def open_folder(path: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class QueuePanel(QWidget):
    """Binds to RenderQueueModel: rows are rebuilt when jobs come and go, refreshed when one changes."""

    def __init__(self, queue: RenderQueueModel, export: Callable[[str], None],
                 open_folder: Callable[[Path], None] = open_folder, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue, self._export, self._open_folder = queue, export, open_folder
        self.rows: dict[str, JobRow] = {}
        self.empty_label = QLabel("No renders yet. Set the range with I / O and press Render.")
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.addWidget(self.empty_label)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        queue.entries_changed.connect(self.rebuild)
        queue.entry_changed.connect(self._entry_changed)
        self.rebuild()

    def rebuild(self) -> None:
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows = {}
        for position, entry in enumerate(self._queue.entries):
            row = JobRow(entry.id, self._queue, self._export, self._open_folder)
            self._list_layout.insertWidget(position, row)
            self.rows[entry.id] = row
        self.empty_label.setVisible(not self.rows)

    def _entry_changed(self, entry_id: str) -> None:
        row = self.rows.get(entry_id)
        if row is not None:
            row.refresh()
