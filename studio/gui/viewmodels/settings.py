"""Render settings as the settings panel edits them: one value per control, one ``changed`` signal.

Values are kept as typed; ``render_settings()`` builds the engine's frozen, validated
RenderSettings, so a bad value surfaces as the engine's SettingsError sentence.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from PySide6.QtCore import QObject, Signal

import engine.config
from engine.config import DEVICES, RenderSettings
from engine.weights.pose_models import BACKENDS as POSE_BACKENDS

BETA_RANGE = (0.0, 0.3)
BETA_STEP = 0.01
SIZES = ("256x256", "384x384", "512x512", "512x768", "768x512", "768x768")
BETA_LABEL = "Steadiness"
BETA_TOOLTIP = (
    "How much each frame leans on the frame before it. Higher keeps the face, clothes and background "
    "steadier over a long video; too high (above about 0.10) smears motion and adds artifacts. "
    "0 turns it off; 0.05 is a good start. Use “Try 3 frames” to see the effect."
)
SEED_MAX = 2**31 - 1


@dataclass
class SettingsState:
    """What the panel shows; field names are the binding keys widgets use."""

    model: str = "demo"
    beta: float = 0.05
    steps: int = 30
    cfg: float = 3.5
    seed: int = 42
    width: int = 512
    height: int = 512
    align: bool = True
    smooth: float = 0.0
    device: str = "auto"
    sampler: str = "ddim"
    pose_backend: str = "auto"


# Choices the engine may or may not offer yet: shown (and sent) only when RenderSettings has the field.
CHOICES = {
    "sampler": ("Sampler", "How each frame is denoised: ddim is the reference; the others reach similar "
                "quality in fewer steps", "SAMPLERS", ("ddim", "dpmpp-2m", "unipc")),
}
POSE_LABEL = "Pose detector"
POSE_TOOLTIP = ("What finds the body and face in the source and the driving video: Auto uses DWPose when its "
                "model files are installed, else MediaPipe; DWPose is more accurate on hands and faces")
POSE_NAMES = {"auto": "Auto", "mediapipe": "MediaPipe", "dwpose": "DWPose"}
ENGINE_FIELDS = {f.name for f in fields(RenderSettings)}
RENDER_FIELDS = ("beta", "steps", "cfg", "seed", "width", "height", "device") + tuple(
    name for name in CHOICES if name in ENGINE_FIELDS)


class SettingsModel(QObject):
    """Holds SettingsState; ``changed(name)`` fires once per field whose value really changed."""

    changed = Signal(str)
    edited = Signal(str, object, object)  # name, old value, new value: for undo

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = SettingsState()
        self.devices: tuple[str, ...] = DEVICES
        self.models: list[str] = ["demo"]
        self.model_card = ""  # what the chosen model is for, in a sentence or two

    def choice_fields(self) -> dict[str, tuple[str, str]]:
        """Optional list settings the engine supports: name -> (label, tooltip)."""
        return {name: spec[:2] for name, spec in CHOICES.items() if name in ENGINE_FIELDS}

    def choices(self, name: str) -> list[str]:
        label, tooltip, constant, fallback = CHOICES[name]
        return list(getattr(engine.config, constant, fallback))

    @staticmethod
    def pose_backends() -> list[tuple[str, str]]:
        """(value, label) of each pose detector the engine offers, "auto" first."""
        return [(name, POSE_NAMES.get(name, name)) for name in POSE_BACKENDS]

    def set_model_card(self, text: str) -> None:
        if text != self.model_card:
            self.model_card = text
            self.changed.emit("model_card")

    def get(self, name: str) -> Any:
        return getattr(self._state, name)

    def values(self) -> dict[str, Any]:
        return asdict(self._state)

    def set(self, **changes: Any) -> None:
        """Set fields by name (``set(beta=0.1)``); unknown names raise, as they are programming errors."""
        known = {f.name for f in fields(SettingsState)}
        for name, value in changes.items():
            if name not in known:
                raise AttributeError(f"no setting named {name!r}")
            if name == "beta":
                value = round(min(max(float(value), BETA_RANGE[0]), BETA_RANGE[1]), 4)
            old = getattr(self._state, name)
            if old != value:
                setattr(self._state, name, value)
                self.changed.emit(name)
                self.edited.emit(name, old, value)

    def set_size(self, text: str) -> None:
        width, height = (int(part) for part in text.lower().split("x"))
        self.set(width=width, height=height)

    @property
    def size_text(self) -> str:
        return f"{self._state.width}x{self._state.height}"

    def randomise_seed(self, rng: random.Random | None = None) -> int:
        seed = (rng or random.Random()).randint(0, SEED_MAX)
        self.set(seed=seed)
        return seed

    def render_settings(self) -> RenderSettings:
        """The engine's settings object; raises SettingsError (one sentence) for a bad value."""
        return RenderSettings(**{name: getattr(self._state, name) for name in RENDER_FIELDS})

    def load(self, settings: dict[str, Any], model: str | None = None, align: bool | None = None,
             smooth: float | None = None) -> None:
        """Apply a saved project's values (RenderSettings.to_dict() keys and ``pose_backend``; unknown keys ignored)."""
        changes = {name: settings[name] for name in RENDER_FIELDS if name in settings}
        if settings.get("pose_backend") in POSE_BACKENDS:  # a hand-edited project's unknown name keeps the current one
            changes["pose_backend"] = settings["pose_backend"]
        for name, value in (("model", model), ("align", align), ("smooth", smooth)):
            if value is not None:
                changes[name] = value
        self.set(**changes)
