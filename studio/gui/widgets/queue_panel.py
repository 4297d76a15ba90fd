"""Render queue panel: a row per job with progress in driving-frame numbers, s/frame, ETA and actions.

A finished job offers Open (the written file) and Reveal (its folder); Remove asks before it deletes
the job's work folder. The running job is scrolled into view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from studio.gui.viewmodels.render_queue import DONE, RUNNING, JobEntry, RenderQueueModel
from studio.gui.viewmodels.timeline import format_duration


def describe_speed(entry: JobEntry) -> str:
    parts = [entry.state]
    if entry.seconds_per_frame > 0:
        parts.append(f"{entry.seconds_per_frame:.2f} s/frame")
    if entry.state == RUNNING and entry.eta_seconds is not None:
        parts.append(f"ETA {format_duration(entry.eta_seconds)}")
    return " · ".join(parts)


def open_url(path: Path) -> bool:
    """Ask the desktop to open ``path`` (a file or a folder); False when no launcher could."""
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))


class JobRow(QFrame):
    def __init__(self, entry_id: str, queue: RenderQueueModel, export: Callable[[str], None],
                 open_path: Callable[[Path], None], remove: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry_id, self._queue = entry_id, queue
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name = QLabel()
        self.status = QLabel()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color: #a0a0a8;")
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: queue.cancel(entry_id))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue after the last finished frame")
        self.resume_button.clicked.connect(lambda: queue.resume(entry_id))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the frames rendered so far as a file with a preset")
        self.export_button.clicked.connect(lambda: export(entry_id))
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the written file")
        self.open_button.clicked.connect(lambda: open_path(queue.output_file(entry_id)))
        self.folder_button = QPushButton("Reveal in folder")
        self.folder_button.clicked.connect(lambda: open_path(queue.output_folder(entry_id)))
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove from the queue and delete its rendered frames (written files stay)")
        self.remove_button.clicked.connect(lambda: remove(entry_id))
        buttons = QHBoxLayout()
        for button in (self.cancel_button, self.resume_button, self.export_button, self.open_button,
                       self.folder_button, self.remove_button):
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
        target = f" → {Path(entry.output).name}" if entry.output else ""
        self.name.setText(f"<b>{entry.name}</b> · {entry.range_text}{target}")
        self.status.setText(describe_speed(entry))
        self.detail.setText(entry.message + (" · exporting…" if entry.exporting else ""))
        self.progress.setRange(0, max(1, entry.frames_total))
        self.progress.setValue(entry.frames_done)
        last = entry.start + entry.frames_total
        self.progress.setFormat(f"frame {entry.current_frame} of {entry.start + 1}–{last}" if entry.frames_done
                                else f"{entry.range_text}")
        self.cancel_button.setEnabled(entry.state in ("queued", RUNNING))
        self.resume_button.setEnabled(entry.resumable)
        self.export_button.setEnabled(entry.created and entry.frames_done > 0 and not entry.exporting)
        has_file = self._queue.output_file(self.entry_id) is not None
        self.open_button.setEnabled(has_file)
        self.folder_button.setEnabled(has_file or entry.created)
        self.remove_button.setEnabled(entry.state != RUNNING and not entry.exporting)
        self.setToolTip(f"work folder: {entry.work_dir}" + (f"\nwritten: {', '.join(entry.exports)}" if entry.exports else ""))
        self.progress.setStyleSheet("QProgressBar::chunk { background: #3c9; }" if entry.state == DONE else "")


class QueuePanel(QWidget):
    """Binds to RenderQueueModel: rows are rebuilt when jobs come and go, refreshed when one changes."""

    def __init__(self, queue: RenderQueueModel, export: Callable[[str], None],
                 open_path: Callable[[Path], None], remove: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue, self._export, self._open_path, self._remove = queue, export, open_path, remove
        self.rows: dict[str, JobRow] = {}
        self.empty_label = QLabel("No renders yet. Set the range with I / O and press Render.")
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.addWidget(self.empty_label)
        self._list_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        queue.entries_changed.connect(self.rebuild)
        queue.entry_changed.connect(self._entry_changed)
        self._shown_running = ""
        self.rebuild()

    def rebuild(self) -> None:
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows = {}
        for position, entry in enumerate(self._queue.entries):
            row = JobRow(entry.id, self._queue, self._export, self._open_path, self._remove)
            self._list_layout.insertWidget(position, row)
            self.rows[entry.id] = row
        self.empty_label.setVisible(not self.rows)

    def _entry_changed(self, entry_id: str) -> None:
        row = self.rows.get(entry_id)
        if row is None:
            return
        row.refresh()
        running = self._queue.running_entry
        if running is not None and running.id == entry_id and self._shown_running != entry_id:
            self._shown_running = entry_id  # once per job: the user may scroll away while it runs
            self.scroll.ensureWidgetVisible(row)
