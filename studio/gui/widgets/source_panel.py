"""Source picker: thumbnail, open button, drag-and-drop (routed by file type), and the no-person/face warning."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.gui.viewmodels.media import SourceModel
from studio.gui.widgets.images import ImageView

DROP_HIGHLIGHT = "#sourcePanel { border: 2px dashed #50a0ff; border-radius: 6px; background: rgba(80,160,255,30); }"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"


def dropped_paths(event) -> list[Path]:
    """Local files in a drag/drop event (URLs from browsers etc. are ignored)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class SourcePanel(QWidget):
    """Binds to SourceModel; ``open_source(path)`` is the studio's loader (records recent files too)."""

    def __init__(self, model: SourceModel, open_source: Callable[[Path], object], last_dir: Callable[[], str],
                 open_dropped: Callable[[Path], object] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model, self._open_source, self._last_dir = model, open_source, last_dir
        self._open_dropped = open_dropped or open_source  # the window routes a dropped video to the driving input
        self.setObjectName("sourcePanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAcceptDrops(True)
        self.title = QLabel("<b>Source image</b>")
        self.thumbnail = ImageView("Drop a portrait here\nor click “Open…”")
        self.thumbnail.setMinimumHeight(110)
        self.thumbnail.clicked.connect(self.browse)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Choose the image of the person to animate (PNG, JPEG, WebP)")
        self.open_button.clicked.connect(self.browse)
        self.path_label = QLabel("no image")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #f0a040;")
        self.warning_label.hide()
        row = QHBoxLayout()
        row.addWidget(self.path_label, 1)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.thumbnail, 1)
        layout.addLayout(row)
        layout.addWidget(self.warning_label)
        model.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        info = self._model.info
        self.thumbnail.set_image(info.image if info else None)
        if self._model.loading:
            self.path_label.setText("loading…")
        else:
            self.path_label.setText(Path(info.path).name if info else "no image")
        self.path_label.setToolTip(info.path if info else "")
        self.warning_label.setText(self._model.warning)
        self.warning_label.setVisible(bool(self._model.warning))

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open source image", self._last_dir(), IMAGE_FILTER)
        if path:
            self._open_source(Path(path))

    @property
    def highlighted(self) -> bool:
        return bool(self.styleSheet())

    def dragEnterEvent(self, event) -> None:
        if dropped_paths(event):
            self.setStyleSheet(DROP_HIGHLIGHT)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self.setStyleSheet("")

    def dropEvent(self, event) -> None:
        self.setStyleSheet("")
        paths = dropped_paths(event)
        if paths:
            self._open_dropped(paths[0])
            event.acceptProposedAction()
