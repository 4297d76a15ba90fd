"""Helpers for the studio-cli tests: run the real entry point, make tiny inputs, read JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
TINY = ["--model", "builtin:tiny", "--steps", "2", "--no-align"]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)  # carries the isolated TALKINGPOSE_CONFIG_DIR/DATA_DIR of tests/conftest.py
    # One thread per process: the tiny model is 10x faster without thread contention on small CPUs.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(REPO), **extra)
    env.pop("TALKINGPOSE_DEBUG", None)
    return env


def run_cli(*args, timeout: float = 240, cwd: Path = REPO, **env) -> subprocess.CompletedProcess:
    """``python -m studio.cli ARGS`` as a user would run it; text stdout/stderr."""
    return subprocess.run([sys.executable, "-m", "studio.cli", *map(str, args)], cwd=cwd, env=cli_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def popen_cli(*args, cwd: Path = REPO, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio.cli", *map(str, args)], cwd=cwd, env=cli_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def json_events(stdout: str) -> list[dict]:
    """Every stdout line must be one JSON object with an "event" field."""
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert all(isinstance(e, dict) and "event" in e for e in events), stdout[:500]
    return events


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Exit ``code``, no traceback, exactly one ``error:`` line on stderr containing ``fragments``."""
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def write_source_png(path: Path, seed: int = 0, size: int = 64) -> Path:
    import cv2

    image = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)
    return path


def write_pose_npz(path: Path, frames: int = 6, fps: float = 10.0, seed: int = 0) -> Path:
    """A synthetic driving: a body that wanders a little, no hands or face."""
    from engine.pose.keypoints import PoseSequence

    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, (1, 18, 2))
    xy = base + np.cumsum(rng.normal(0, 0.01, (frames, 18, 2)), axis=0)
    body = np.concatenate([xy, np.ones((frames, 18, 1))], axis=-1)
    PoseSequence(body, np.zeros((frames, 2, 21, 3)), np.zeros((frames, 68, 3)), fps=fps, width=32, height=32).save(path)
    return path


def write_video(path: Path, frames, fps: int = 10) -> Path:
    """Encode RGB uint8 frames (all one size, even sides) as H.264 with PyAV."""
    import av

    frames = list(frames)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def noise_video(path: Path, frames: int = 4, size: int = 64) -> Path:
    rng = np.random.default_rng(1)
    return write_video(path, (rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(frames)))


def video_frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def png_count(folder: Path) -> int:
    return len(list(Path(folder).glob("*.png")))
