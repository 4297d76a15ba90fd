"""Fixtures for the pose tests: the shared talk video (trimmed), synthetic videos and poses."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from engine.pose.keypoints import Pose

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
TED = SHARED / "data" / "ted"
CLIP_FRAMES = 60  # ~4-10 s of MediaPipe on these shared 2-core machines; bench/pose_bench.py measures the whole clip


def require_shared(name: str) -> Path:
    path = TED / name
    if not path.is_file():
        pytest.skip(f"shared test media {path} is absent (it lives beside the repo in ../shared)")
    return path


def write_video(path: Path, frames, fps: int = 25, codec: str = "libx264") -> Path:
    """Encode RGB uint8 frames (all the same even size) into ``path``."""
    with av.open(str(path), "w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=fps)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "crf": "10"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def first_frames(video: Path, count: int):
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= count:
                return
            yield frame.to_ndarray(format="rgb24")


@pytest.fixture(scope="session")
def talk_clip(tmp_path_factory) -> Path:
    """The first CLIP_FRAMES frames of talk2.mp4 (a real talk), re-encoded near-losslessly."""
    source = require_shared("talk2.mp4")
    return write_video(tmp_path_factory.mktemp("talk") / "talk_clip.mp4", first_frames(source, CLIP_FRAMES), fps=29)


@pytest.fixture(scope="session")
def talk_poses(talk_clip, tmp_path_factory):
    """Real MediaPipe keypoints of talk_clip, extracted once, with the cache folder used."""
    from engine.pose.extract import extract_poses

    cache = tmp_path_factory.mktemp("pose_cache")
    calls = []
    seq = extract_poses(talk_clip, cache_dir=cache, on_progress=lambda done, total: calls.append((done, total)))
    return SimpleNamespace(seq=seq, cache=cache, progress=calls)


def synthetic_pose(centre=(0.5, 0.4), size: float = 0.2) -> Pose:
    """A frontal upper body + legs, hands and face in normalised coordinates, every point confident.

    ``size`` is the shoulder width; the layout is proportional to it around the neck at ``centre``.
    """
    cx, cy = centre
    s = size
    offsets = {  # OpenPose-18 joint -> offset from the neck in shoulder widths
        0: (0.0, -0.6), 1: (0.0, 0.0), 2: (-0.5, 0.0), 3: (-0.6, 0.6), 4: (-0.5, 1.1),
        5: (0.5, 0.0), 6: (0.6, 0.6), 7: (0.55, 1.15), 8: (-0.3, 1.4), 9: (-0.32, 2.1),
        10: (-0.33, 2.8), 11: (0.3, 1.4), 12: (0.32, 2.1), 13: (0.33, 2.8), 14: (-0.1, -0.7),
        15: (0.1, -0.7), 16: (-0.2, -0.65), 17: (0.2, -0.65),
    }
    pose = Pose.empty()
    for joint, (dx, dy) in offsets.items():
        pose.body[joint] = (cx + dx * s, cy + dy * s, 1.0)
    rng = np.random.default_rng(7)
    for side, wrist in enumerate((7, 4)):  # hands are [left, right]; left hangs from joint 7
        wx, wy = pose.body[wrist, :2]
        pose.hands[side, :, :2] = (wx, wy) + rng.uniform(-0.15, 0.15, (21, 2)) * s + (0, 0.15 * s)
        pose.hands[side, 0, :2] = (wx, wy)
        pose.hands[side, :, 2] = 1.0
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    nose = pose.body[0, :2]
    pose.face[:, 0] = nose[0] + 0.25 * s * np.cos(angles)
    pose.face[:, 1] = nose[1] + 0.3 * s * np.sin(angles)
    pose.face[:, 2] = 1.0
    return pose
