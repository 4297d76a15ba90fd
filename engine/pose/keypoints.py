"""The canonical keypoint format (docs/architecture.md, "Pose format") and its ``.npz`` file.

Per frame: body OpenPose-18 (18, 3), hands [left, right] x 21 (2, 21, 3), face iBUG-68 (68, 3);
each point (x, y, confidence) with x, y normalised to [0, 1] of the frame and confidence 0
where not found. The file layout is public (users and other tools read it): keep it stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.textfiles import parse_json

FORMAT_VERSION = 1
MAX_META_CHARS = 65536  # meta is a few short facts (which extractor made the poses); more means a bad file
BODY_POINTS, HAND_POINTS, FACE_POINTS = 18, 21, 68


@dataclass
class Pose:
    """One frame's keypoints."""

    body: np.ndarray  # (18, 3)
    hands: np.ndarray  # (2, 21, 3) [left, right]
    face: np.ndarray  # (68, 3)

    @classmethod
    def empty(cls) -> "Pose":
        return cls(
            np.zeros((BODY_POINTS, 3), np.float32),
            np.zeros((2, HAND_POINTS, 3), np.float32),
            np.zeros((FACE_POINTS, 3), np.float32),
        )

    def copy(self) -> "Pose":
        return Pose(self.body.copy(), self.hands.copy(), self.face.copy())

    @property
    def has_person(self) -> bool:
        return bool((self.body[:, 2] > 0).any() or (self.face[:, 2] > 0).any())


@dataclass
class PoseSequence:
    """A driving video's keypoints: arrays with a leading time axis, plus fps and frame size."""

    body: np.ndarray  # (T, 18, 3) float32
    hands: np.ndarray  # (T, 2, 21, 3) float32
    face: np.ndarray  # (T, 68, 3) float32
    fps: float
    width: int = 0  # size of the analysed frames (after rotation); 0 = unknown
    height: int = 0
    fingerprint: str = ""  # of the source video; "" for synthetic sequences
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.body = np.asarray(self.body, np.float32)
        self.hands = np.asarray(self.hands, np.float32)
        self.face = np.asarray(self.face, np.float32)
        t = self.body.shape[0]
        if (
            self.body.shape != (t, BODY_POINTS, 3)
            or self.hands.shape != (t, 2, HAND_POINTS, 3)
            or self.face.shape != (t, FACE_POINTS, 3)
        ):
            raise InputError(
                "pose arrays have the wrong shapes: expected body (T, 18, 3), hands (T, 2, 21, 3), "
                f"face (T, 68, 3), got {self.body.shape}, {self.hands.shape}, {self.face.shape}"
            )

    def __len__(self) -> int:
        return int(self.body.shape[0])

    def __getitem__(self, index: int) -> Pose:
        return Pose(self.body[index], self.hands[index], self.face[index])

    @classmethod
    def from_poses(cls, poses: list[Pose], fps: float, **kwargs) -> "PoseSequence":
        if not poses:
            z = np.zeros
            return cls(z((0, 18, 3)), z((0, 2, 21, 3)), z((0, 68, 3)), fps, **kwargs)
        return cls(
            np.stack([p.body for p in poses]),
            np.stack([p.hands for p in poses]),
            np.stack([p.face for p in poses]),
            fps,
            **kwargs,
        )

    def slice(self, start: int, end: int) -> "PoseSequence":
        return PoseSequence(
            self.body[start:end], self.hands[start:end], self.face[start:end], self.fps,
            self.width, self.height, self.fingerprint, dict(self.meta),
        )

    def save(self, path: str | Path) -> None:
        """Write the ``.npz`` atomically (temp name, then rename)."""
        import io

        from engine.fsutil import atomic_write_bytes

        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            body=self.body,
            hands=self.hands,
            face=self.face,
            fps=np.float64(self.fps),
            width=np.int64(self.width),
            height=np.int64(self.height),
            fingerprint=np.array(self.fingerprint),
            format_version=np.int64(FORMAT_VERSION),
            meta=np.array(json.dumps(self.meta, sort_keys=True, default=str)),
        )
        atomic_write_bytes(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "PoseSequence":
        path = Path(path)
        if not path.is_file():
            raise InputError(f"pose file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    data["body"], data["hands"], data["face"], float(data["fps"]),
                    int(data["width"]) if "width" in data else 0,
                    int(data["height"]) if "height" in data else 0,
                    str(data["fingerprint"]) if "fingerprint" in data else "",
                    _meta(data),
                )
        except InputError:
            raise
        except Exception as exc:  # zip/npz errors come in many types
            raise InputError(f"{path} is not a valid pose file ({type(exc).__name__}); make a new one from the video") from None


def _meta(data) -> dict:
    """The optional ``meta`` entry (a JSON object: pose_backend, pose_provider, ...); {} when absent."""
    if "meta" not in data:
        return {}
    text = str(data["meta"])
    meta = parse_json(text, origin="the pose file's meta entry", what="pose metadata") if len(text) <= MAX_META_CHARS else None
    if not isinstance(meta, dict):
        raise ValueError("meta is not a small JSON object")
    return meta
