"""Settings panel: one control per SettingsModel field, kept in sync both ways.

Number fields commit when the user presses Enter or leaves the field (not on every keystroke), so
typing ``2.5`` is never cut to ``2.0`` half-way. Enter/Escape hand focus back to the timeline.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QWidget,
)

from studio.gui.viewmodels.settings import (
    BETA_LABEL, BETA_RANGE, BETA_STEP, BETA_TOOLTIP, POSE_LABEL, POSE_TOOLTIP, SEED_MAX, SIZES, SettingsModel,
)
from studio.gui.widgets.keys import claim_keys

BETA_TICKS = round((BETA_RANGE[1] - BETA_RANGE[0]) / BETA_STEP)


class SettingsPanel(QWidget):
    def __init__(self, model: SettingsModel, choose_model: Callable[[str], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._choose_model = choose_model or (lambda name: model.set(model=name))
        form = QFormLayout(self)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(4)
        form.addRow(QLabel("<b>Settings</b>"))
        self._build_model_rows(form)
        self._build_number_rows(form)
        self._build_choice_rows(form)
        self.number_fields = (self.steps_spin, self.cfg_spin, self.seed_spin, self.smooth_spin)
        for spin in self.number_fields:
            spin.setKeyboardTracking(False)
        self._claim = claim_keys([self.beta_slider, self.model_combo, self.size_combo, self.device_combo, self.pose_combo,
                                  *self.choice_combos.values(), *self.number_fields])
        model.changed.connect(self.refresh)
        self.refresh_models()
        self.refresh()

    def _build_model_rows(self, form: QFormLayout) -> None:
        model = self._model
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The animation model: the bundled demo, or models installed with Models ▸ Manage…")
        self.model_combo.activated.connect(lambda index: self._choose_model(self.model_combo.itemText(index)))
        form.addRow("Model", self.model_combo)
        self.model_card = QLabel()
        self.model_card.setWordWrap(True)
        self.model_card.setStyleSheet("color: #a0a0a8; font-size: 11px;")
        form.addRow(self.model_card)

        self.beta_slider = QSlider(Qt.Orientation.Horizontal)
        self.beta_slider.setRange(0, BETA_TICKS)
        self.beta_slider.setSingleStep(1)
        self.beta_slider.setPageStep(5)
        self.beta_slider.setToolTip(BETA_TOOLTIP)
        self.beta_slider.valueChanged.connect(lambda tick: model.set(beta=BETA_RANGE[0] + tick * BETA_STEP))
        self.beta_value = QLabel()
        self.beta_value.setMinimumWidth(32)
        self.beta_value.setToolTip(BETA_TOOLTIP)
        self.beta_try_button = QPushButton("Try 3 frames")
        self.beta_try_button.setToolTip("Render 3 frames in a row from the playhead: one frame alone cannot show "
                                        "how a frame leans on the one before it")
        beta_row = QHBoxLayout()
        beta_row.addWidget(self.beta_slider, 1)
        beta_row.addWidget(self.beta_value)
        beta_row.addWidget(self.beta_try_button)
        self.beta_label = QLabel(BETA_LABEL)
        self.beta_label.setToolTip(BETA_TOOLTIP)
        form.addRow(self.beta_label, beta_row)

    def _build_number_rows(self, form: QFormLayout) -> None:
        model = self._model
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 200)
        self.steps_spin.setToolTip("Denoising steps per frame: more is slower and cleaner; 30 for released models")
        self.steps_spin.valueChanged.connect(lambda value: model.set(steps=value))
        form.addRow("Steps", self.steps_spin)

        self.cfg_spin = QDoubleSpinBox()
        self.cfg_spin.setRange(0.0, 20.0)
        self.cfg_spin.setSingleStep(0.5)
        self.cfg_spin.setDecimals(2)
        self.cfg_spin.setToolTip("Guidance: how strongly the source's look is followed; 3.5 for released models, "
                                 "1 = off (twice as fast)")
        self.cfg_spin.valueChanged.connect(lambda value: model.set(cfg=round(value, 2)))
        form.addRow("Guidance", self.cfg_spin)

        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setToolTip("The random start shared by all frames; the same seed gives the same video")
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
        self.size_combo.setToolTip("Output width x height in pixels (multiples of 8); each model has the size it was trained at")
        self.size_combo.currentTextChanged.connect(self._size_edited)
        form.addRow("Output size", self.size_combo)

        self.align_check = QCheckBox("Fit the driving pose to the source")
        self.align_check.setToolTip("Rescale and move the driver's skeleton to the source person's proportions and place")
        self.align_check.toggled.connect(lambda on: model.set(align=on))
        form.addRow(self.align_check)

        self.smooth_spin = QDoubleSpinBox()
        self.smooth_spin.setRange(0.0, 1.0)
        self.smooth_spin.setSingleStep(0.05)
        self.smooth_spin.setDecimals(2)
        self.smooth_spin.setToolTip("Temporal smoothing of the driving keypoints (0 = raw); steadier but laggier when higher")
        self.smooth_spin.valueChanged.connect(lambda value: model.set(smooth=round(value, 3)))
        form.addRow("Smoothing", self.smooth_spin)

    def _build_choice_rows(self, form: QFormLayout) -> None:
        model = self._model
        self.device_combo = QComboBox()
        self.device_combo.addItems(list(model.devices))
        self.device_combo.setToolTip("Where to run the model: auto picks a GPU when there is one")
        self.device_combo.currentTextChanged.connect(lambda text: model.set(device=text))
        form.addRow("Device", self.device_combo)

        self.pose_combo = QComboBox()
        for value, label in model.pose_backends():
            self.pose_combo.addItem(label, value)
        self.pose_combo.setToolTip(POSE_TOOLTIP)
        self.pose_combo.currentIndexChanged.connect(
            lambda index: index >= 0 and model.set(pose_backend=self.pose_combo.itemData(index)))
        form.addRow(POSE_LABEL, self.pose_combo)

        self.choice_combos: dict[str, QComboBox] = {}
        for name, (label, tooltip) in model.choice_fields().items():
            combo = QComboBox()
            combo.addItems(model.choices(name))
            combo.setToolTip(tooltip)
            combo.currentTextChanged.connect(lambda text, n=name: text and model.set(**{n: text}))
            form.addRow(label, combo)
            self.choice_combos[name] = combo

    def set_focus_home(self, widget: QWidget) -> None:
        """Where Enter/Escape in a number field sends the keyboard focus (the timeline)."""
        self._claim.home = widget

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
        controls = [
            (self.model_combo, lambda w: w.setCurrentText(values["model"])),
            (self.beta_slider, lambda w: w.setValue(round((values["beta"] - BETA_RANGE[0]) / BETA_STEP))),
            (self.steps_spin, lambda w: w.setValue(values["steps"])),
            (self.cfg_spin, lambda w: w.setValue(values["cfg"])),
            (self.seed_spin, lambda w: w.setValue(values["seed"])),
            (self.size_combo, lambda w: w.setCurrentText(self._model.size_text) if w.currentText() != self._model.size_text else None),
            (self.align_check, lambda w: w.setChecked(values["align"])),
            (self.smooth_spin, lambda w: w.setValue(values["smooth"])),
            (self.device_combo, lambda w: w.setCurrentText(values["device"])),
            (self.pose_combo, lambda w: w.setCurrentIndex(w.findData(values["pose_backend"]))),
        ]
        for field_name, combo in self.choice_combos.items():
            controls.append((combo, lambda w, n=field_name: w.setCurrentText(str(values[n]))))
        for widget, apply in controls:
            widget.blockSignals(True)
            apply(widget)
            widget.blockSignals(False)
        self.beta_value.setText(f"{values['beta']:.2f}")
        self.model_card.setText(self._model.model_card)
        self.model_card.setVisible(bool(self._model.model_card))
