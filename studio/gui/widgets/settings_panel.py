"""Settings panel: one control per SettingsModel field, kept in sync both ways."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QWidget,
)

from studio.gui.viewmodels.settings import BETA_RANGE, BETA_STEP, BETA_TOOLTIP, SEED_MAX, SIZES, SettingsModel

BETA_TICKS = round((BETA_RANGE[1] - BETA_RANGE[0]) / BETA_STEP)


class SettingsPanel(QWidget):
    def __init__(self, model: SettingsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        form = QFormLayout(self)
        form.addRow(QLabel("<b>Settings</b>"))

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The animation model: the bundled demo, or models installed in the library")
        self.model_combo.currentTextChanged.connect(lambda text: text and model.set(model=text))
        form.addRow("Model", self.model_combo)

        self.beta_slider = QSlider(Qt.Orientation.Horizontal)
        self.beta_slider.setRange(0, BETA_TICKS)
        self.beta_slider.setSingleStep(1)
        self.beta_slider.setPageStep(5)
        self.beta_slider.setToolTip(BETA_TOOLTIP)
        self.beta_slider.valueChanged.connect(lambda tick: model.set(beta=BETA_RANGE[0] + tick * BETA_STEP))
        self.beta_value = QLabel()
        self.beta_value.setMinimumWidth(36)
        self.beta_value.setToolTip(BETA_TOOLTIP)
        beta_row = QHBoxLayout()
        beta_row.addWidget(self.beta_slider, 1)
        beta_row.addWidget(self.beta_value)
        beta_label = QLabel("β (CLC)")
        beta_label.setToolTip(BETA_TOOLTIP)
        form.addRow(beta_label, beta_row)

        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 200)
        self.steps_spin.setToolTip("DDIM denoising steps per frame; 30 in the paper, fewer is faster and rougher")
        self.steps_spin.valueChanged.connect(lambda value: model.set(steps=value))
        form.addRow("Steps", self.steps_spin)

        self.cfg_spin = QDoubleSpinBox()
        self.cfg_spin.setRange(0.0, 20.0)
        self.cfg_spin.setSingleStep(0.5)
        self.cfg_spin.setDecimals(1)
        self.cfg_spin.setToolTip("Classifier-free guidance: how strongly the source's appearance is followed; 3.5 in the paper, 1 = off (faster)")
        self.cfg_spin.valueChanged.connect(lambda value: model.set(cfg=round(value, 2)))
        form.addRow("CFG", self.cfg_spin)

        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setToolTip("Seeds the one noise z_T shared by all frames; the same seed gives the same video")
        self.seed_spin.valueChanged.connect(lambda value: model.set(seed=value))
        self.randomise_button = QPushButton("Random")
        self.randomise_button.setToolTip("Pick a random seed")
        self.randomise_button.clicked.connect(lambda: model.randomise_seed())
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.randomise_button)
        form.addRow("Seed", seed_row)

        self.size_combo = QComboBox()
        self.size_combo.setEditable(True)
        self.size_combo.addItems(SIZES)
        self.size_combo.setToolTip("Output width x height in pixels (multiples of 8); the models were trained at 512x512")
        self.size_combo.currentTextChanged.connect(self._size_edited)
        form.addRow("Output size", self.size_combo)

        self.align_check = QCheckBox("Align driving pose to the source")
        self.align_check.setToolTip("Rescale and move the driver's skeleton to the source person's proportions and place")
        self.align_check.toggled.connect(lambda on: model.set(align=on))
        form.addRow(self.align_check)

        self.smooth_spin = QDoubleSpinBox()
        self.smooth_spin.setRange(0.0, 1.0)
        self.smooth_spin.setSingleStep(0.1)
        self.smooth_spin.setDecimals(2)
        self.smooth_spin.setToolTip("Temporal smoothing of the driving keypoints (0 = raw); steadier but laggier when higher")
        self.smooth_spin.valueChanged.connect(lambda value: model.set(smooth=round(value, 3)))
        form.addRow("Smoothing", self.smooth_spin)

        self.device_combo = QComboBox()
        self.device_combo.addItems(list(model.devices))
        self.device_combo.setToolTip("Where to run the model: auto picks a GPU when there is one")
        self.device_combo.currentTextChanged.connect(lambda text: model.set(device=text))
        form.addRow("Device", self.device_combo)

        model.changed.connect(self.refresh)
        self.refresh_models()
        self.refresh()

    def refresh_models(self) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        names = list(self._model.models)
        if self._model.get("model") not in names:
            names.append(self._model.get("model"))  # a project's model that is not installed: show it, renders say why
        self.model_combo.addItems(names)
        self.model_combo.blockSignals(False)
        self.refresh()

    def _size_edited(self, text: str) -> None:
        parts = text.lower().replace(" ", "").split("x")
        if len(parts) == 2 and all(part.isdigit() and int(part) > 0 for part in parts):
            self._model.set_size(text.replace(" ", ""))  # validity (multiples of 8) is checked when rendering

    def refresh(self, name: str = "") -> None:
        values = self._model.values()
        controls = (
            (self.model_combo, lambda w: w.setCurrentText(values["model"])),
            (self.beta_slider, lambda w: w.setValue(round((values["beta"] - BETA_RANGE[0]) / BETA_STEP))),
            (self.steps_spin, lambda w: w.setValue(values["steps"])),
            (self.cfg_spin, lambda w: w.setValue(values["cfg"])),
            (self.seed_spin, lambda w: w.setValue(values["seed"])),
            (self.size_combo, lambda w: w.setCurrentText(self._model.size_text) if w.currentText() != self._model.size_text else None),
            (self.align_check, lambda w: w.setChecked(values["align"])),
            (self.smooth_spin, lambda w: w.setValue(values["smooth"])),
            (self.device_combo, lambda w: w.setCurrentText(values["device"])),
        )
        for widget, apply in controls:
            widget.blockSignals(True)
            apply(widget)
            widget.blockSignals(False)
        self.beta_value.setText(f"{values['beta']:.2f}")
