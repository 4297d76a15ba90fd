"""View-models: observable state + signals the widgets bind to; they reach the engine only via studio.worker."""

from studio.viewmodels.backend import Backend, DrivingInfo, EngineBackend, PresetChoice, SourceInfo
from studio.viewmodels.studio import StudioModel

__all__ = ["Backend", "DrivingInfo", "EngineBackend", "PresetChoice", "SourceInfo", "StudioModel"]
