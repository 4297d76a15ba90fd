"""View-models: observable state + signals the widgets bind to; they reach the engine only via studio.gui.worker."""

from studio.gui.viewmodels.backend import Backend, DrivingInfo, EngineBackend, PresetChoice, SourceInfo
from studio.gui.viewmodels.studio import StudioModel

__all__ = ["Backend", "DrivingInfo", "EngineBackend", "PresetChoice", "SourceInfo", "StudioModel"]
