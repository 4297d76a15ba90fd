"""Render settings as the settings panel edits them: one value per control, one ``changed`` signal.

Values are kept as typed; ``render_settings()`` builds the engine's frozen, validated
RenderSettings, so a bad value surfaces as the engine's SettingsError sentence.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.config import DEVICES, RenderSettings

BETA_RANGE = (0.0, 0.3)
BETA_STEP = 0.01
SIZES = ("256x256", "384x384", "512x512", "512x768", "768x512", "768x768")
BETA_TOOLTIP = (
    "Closed-loop control strength β (paper eq. 1). Each frame starts from the shared noise z_T "
    "nudged by β toward the previous frame's result, which keeps identity and background steady "
    "over long videos. 0 = no feedback; 0.05 is the paper's choice; above about 0.1 adds artifacts."
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


RENDER_FIELDS = ("beta", "steps", "cfg", "seed", "width", "height", "device")


class SettingsModel(QObject):
    """Holds SettingsState; ``changed(name)`` fires once per field whose value really changed."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = SettingsState()
        self.devices: tuple[str, ...] = DEVICES
        self.models: list[str] = ["demo"]

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
            if getattr(self._state, name) != value:
                setattr(self._state, name, value)
                self.changed.emit(name)

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
        """Apply a saved project's values (RenderSettings.to_dict() keys; unknown keys ignored)."""
        changes = {name: settings[name] for name in RENDER_FIELDS if name in settings}
        for name, value in (("model", model), ("align", align), ("smooth", smooth)):
            if value is not None:
                changes[name] = value
        self.set(**changes)
