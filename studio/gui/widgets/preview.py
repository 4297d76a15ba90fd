"""Preview area: the driving frame (pose overlay toggle) beside the generated frame."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

from studio.gui.viewmodels.preview import PreviewModel
from studio.gui.widgets.images import ImageView


class PreviewPanel(QWidget):
    def __init__(self, model: PreviewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.driving_view = ImageView("Open a driving video (File ▸ Open driving video, or drop it here)")
        self.generated_view = ImageView("The generated frame appears here")
        self.driving_caption = QLabel("Driving video")
        self.generated_caption = QLabel()
        self.generated_caption.setWordWrap(True)
        for caption in (self.driving_caption, self.generated_caption):  # long captions wrap, never widen the window
            caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.overlay_check = QCheckBox("Pose overlay")
        self.overlay_check.setToolTip("Draw the extracted pose over the driving frame")
        self.overlay_check.toggled.connect(model.set_overlay)
        self.preview_button = QPushButton("Preview frame")
        self.preview_button.setToolTip("Render the frame under the playhead with the current settings; "
                                       "after that, changing a setting re-renders it")
        self.preview_button.clicked.connect(model.request_preview)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop the preview and stop re-rendering on changes")
        self.cancel_button.clicked.connect(model.stop_live)
        self.progress = QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.progress.setMaximumWidth(160)

        left = QVBoxLayout()
        left_header = QHBoxLayout()
        left_header.addWidget(self.driving_caption, 1)
        left_header.addWidget(self.overlay_check)
        left.addLayout(left_header)
        left.addWidget(self.driving_view, 1)
        right = QVBoxLayout()
        right_header = QHBoxLayout()
        right_header.addWidget(self.generated_caption, 1)
        right_header.addWidget(self.progress)
        right_header.addWidget(self.preview_button)
        right_header.addWidget(self.cancel_button)
        right.addLayout(right_header)
        right.addWidget(self.generated_view, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)
        model.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        model = self._model
        self.overlay_check.blockSignals(True)
        self.overlay_check.setChecked(model.show_overlay)
        self.overlay_check.blockSignals(False)
        self.driving_view.set_image(model.driving_image)
        if model.driving_index >= 0:
            self.driving_caption.setText(f"Driving frame {model.driving_index + 1}")
        self.generated_view.set_image(model.generated_image)
        self.generated_caption.setText(model.generated_caption)
        step, total = model.preview_progress
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        self.progress.setVisible(model.previewing)
        self.cancel_button.setEnabled(model.previewing or model.live)
