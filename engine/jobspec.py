"""What a render job renders (``JobSpec``), kept apart from ``engine.jobs`` so the record's format reads
in one place; import it from ``engine.jobs``."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import RenderSettings


@dataclass(frozen=True)
class JobSpec:
    """What a job renders; equal specs mean a work dir can be resumed."""

    source: str
    driving: str
    settings: RenderSettings
    model: str = "demo"
    start: int = 0  # first driving frame
    end: int | None = None  # one past the last driving frame (None = to the end)
    align: bool = True
    smooth: float = 0.0
    fps: float | None = None  # output frame rate (None = the driving video's)
    # the pose extractor, resolved ("auto" is never stored) so a resume analyses with the same one;
    # jobs from before the choice existed were made with MediaPipe
    pose_backend: str = "mediapipe"
    pose_model: str | None = None  # a folder with the DWPose files (None: the model library's)

    def to_dict(self) -> dict:
        """The spec as JSON-ready values (job.json's ``spec``)."""
        return {
            "source": self.source, "driving": self.driving, "settings": self.settings.to_dict(),
            "model": self.model, "start": self.start, "end": self.end, "align": self.align,
            "smooth": self.smooth, "fps": self.fps, "pose_backend": self.pose_backend, "pose_model": self.pose_model,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "JobSpec":
        """The spec :meth:`to_dict` wrote (KeyError/TypeError/ValueError or SettingsError when damaged)."""
        return cls(
            source=data["source"], driving=data["driving"], settings=RenderSettings.from_dict(data["settings"]),
            model=data.get("model", "demo"), start=int(data.get("start", 0)), end=data.get("end"),
            align=bool(data.get("align", True)), smooth=float(data.get("smooth", 0.0)), fps=data.get("fps"),
            pose_backend=str(data.get("pose_backend", "mediapipe")), pose_model=data.get("pose_model"),
        )
