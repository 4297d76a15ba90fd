"""Export dialog: preset (from resources/presets and the user's presets), output path, audio on/off.

Used for "Render range…" (where the render will be written when it finishes) and for exporting a
job's frames. An existing file is only replaced after the user says so.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QMessageBox, QPushButton, QWidget,
)

from studio.gui.viewmodels.backend import PresetChoice


class ExportDialog(QDialog):
    """``choice()`` after ``exec()`` gives (path, preset, audio)."""

    def __init__(self, presets: dict[str, PresetChoice], default_path: Path, preset: str = "web", audio: bool = True,
                 parent: QWidget | None = None, title: str = "Export", ok_text: str = "Export") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self._presets = presets
        self._audio_wanted = audio  # kept while a preset without sound (GIF, PNG) is selected
        self.preset_combo = QComboBox()
        for name, choice in presets.items():
            self.preset_combo.addItem(name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, choice.description, Qt.ItemDataRole.ToolTipRole)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.path_edit = QLineEdit(str(default_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.audio_check = QCheckBox("Include the driving video's audio (cut to the rendered range)")
        self.audio_check.setChecked(audio)
        self.audio_check.toggled.connect(self._audio_toggled)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Preset", self.preset_combo)
        form.addRow("", self.description)
        form.addRow("Output", path_row)
        form.addRow(self.audio_check)
        form.addRow(buttons)
        self.preset_combo.currentTextChanged.connect(self._preset_changed)
        if preset in presets:
            self.preset_combo.setCurrentText(preset)
        self._preset_changed(self.preset_combo.currentText())

    def _audio_toggled(self, on: bool) -> None:
        if self.audio_check.isEnabled():
            self._audio_wanted = on

    def _preset_changed(self, name: str) -> None:
        choice = self._presets.get(name)
        if choice is None:
            return
        self.description.setText(choice.description)
        path = Path(self.path_edit.text())
        stem = path.with_suffix("") if path.suffix else path
        self.path_edit.setText(str(stem) + choice.extension)
        self.audio_check.setEnabled(choice.has_audio)
        self.audio_check.blockSignals(True)
        self.audio_check.setChecked(self._audio_wanted and choice.has_audio)
        self.audio_check.blockSignals(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(),
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path_edit.setText(path)
            self._preset_changed(self.preset_combo.currentText())

    def confirm_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(self, "Replace file?", f"{path.name} already exists in {path.parent}. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def accept(self) -> None:
        path = Path(self.path_edit.text()).expanduser()
        if path.exists() and not self.confirm_overwrite(path):
            return  # stay open: the user picks another name
        super().accept()

    def choice(self) -> tuple[Path, str, bool]:
        return Path(self.path_edit.text()).expanduser(), self.preset_combo.currentText(), \
            self.audio_check.isEnabled() and self.audio_check.isChecked()
