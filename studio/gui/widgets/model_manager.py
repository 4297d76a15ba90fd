"""Models ▸ Manage…: the model library as a table, with Import folder…, Download…, Verify and Remove.

Every action is ModelLibraryModel's, which makes the same engine call as ``studio-cli models``.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QMessageBox,
    QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from studio.gui.viewmodels.models import KNOWN_DOWNLOADS, ModelLibraryModel

COLUMNS = ("Name", "Kind", "Resolution", "Size", "Verified")


class ModelManager(QDialog):
    def __init__(self, library: ModelLibraryModel, use_model: Callable[[str], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library, self._use_model = library, use_model
        self.setWindowTitle("Models")
        self.resize(760, 380)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.card = QLabel()
        self.card.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # the engine reports no byte counts: a moving bar while it works
        self.busy_label = QLabel()
        self.import_button = QPushButton("Import folder…")
        self.import_button.setToolTip("A released checkpoint folder (TalkingPose, Moore-AnimateAnyone) or a model folder")
        self.import_button.clicked.connect(self.browse_import)
        self.download_button = QPushButton("Download…")
        self.download_button.setToolTip("Download released weights from the Hugging Face Hub (needs the internet)")
        self.download_button.clicked.connect(self.choose_download)
        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip("Re-check every file of the selected model against its checksums")
        self.verify_button.clicked.connect(lambda: self._act(library.verify))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(lambda: self._act(self._use_model) if self._use_model else None)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.download_button, self.verify_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(close_button)
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_label, 1)
        busy_row.addWidget(self.busy)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.card)
        layout.addLayout(busy_row)
        layout.addLayout(buttons)
        self.confirm_remove = self._ask_remove  # tests replace the question
        self._download_timer = QTimer(self)
        self._download_timer.setInterval(500)
        self._download_timer.timeout.connect(self._show_busy)
        library.changed.connect(self.refresh)
        self.refresh()

    def selected_name(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else ""

    def refresh(self) -> None:
        selected = self.selected_name()
        self.table.setRowCount(len(self._library.cards))
        for row, card in enumerate(self._library.cards):
            verified = card.verified or ("damaged" if card.problem else "not checked")
            values = (card.name, card.kind or "?", "x".join(map(str, card.resolution)), card.size_text, verified)
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(card.problem or card.notes)
                self.table.setItem(row, column, item)
            if card.name == selected:
                self.table.selectRow(row)
        busy = self._library.busy
        self.busy.setVisible(bool(busy))
        self._show_busy()
        if busy.startswith("downloading"):
            self._download_timer.start()
        else:
            self._download_timer.stop()
        self.import_button.setEnabled(not busy)
        self.download_button.setEnabled(not busy)
        self._selection_changed()

    def _show_busy(self) -> None:
        busy = self._library.busy
        text = f"{busy[:1].upper()}{busy[1:]}…" if busy else ""
        done = self._library.downloaded_bytes()
        if done:
            text += f" {done / 2**20:.0f} MB so far"
        self.busy_label.setText(text)

    def _selection_changed(self) -> None:
        name = self.selected_name()
        card = self._library.card(name) if name else None
        idle = not self._library.busy
        self.verify_button.setEnabled(card is not None and idle)
        self.remove_button.setEnabled(card is not None and not card.bundled and idle)
        self.use_button.setEnabled(card is not None and not card.problem and self._use_model is not None)
        self.card.setText(card.text if card is not None else "Select a model to see what it is for.")

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.selectRow(row)

    def _act(self, action: Callable[[str], object]) -> None:
        name = self.selected_name()
        if name:
            action(name)

    def browse_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a model folder")
        if folder:
            self._library.import_folder(folder)

    def choose_download(self) -> None:
        name, ok = QInputDialog.getItem(self, "Download", "Released weights to download:", list(KNOWN_DOWNLOADS), 0, False)
        if ok and name:
            self._library.download(name)

    def _ask_remove(self, name: str) -> bool:
        answer = QMessageBox.question(self, "Remove model?", f"Delete the model {name} and its files from the library?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def remove_selected(self) -> None:
        name = self.selected_name()
        if name and self.confirm_remove(name):
            self._library.remove(name)
