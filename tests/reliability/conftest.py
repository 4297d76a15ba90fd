"""Fixtures for the hostile-user tests: a tiny model folder to tamper with, and the CLI run in-process."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest


def rehash(folder: Path, extra: dict[str, str] | None = None) -> None:
    """Rewrite model.json's checksums to match the files as they are now, as a forger would."""
    model_json = folder / "model.json"
    data = json.loads(model_json.read_text())
    data["files"] = {key: hashlib.sha256((folder / key).read_bytes()).hexdigest() for key in data["files"]}
    data["files"].update(extra or {})
    model_json.write_text(json.dumps(data, indent=2))


def edit_model_json(folder: Path, **changes) -> None:
    model_json = folder / "model.json"
    data = json.loads(model_json.read_text())
    data.update(changes)
    model_json.write_text(json.dumps(data))


@pytest.fixture(scope="session")
def _saved_tiny_model(tmp_path_factory) -> Path:
    from engine.models.components import tiny_components
    from engine.weights.modelfolder import save_model_folder

    folder = tmp_path_factory.mktemp("saved") / "tiny"
    save_model_folder(tiny_components(seed=0), folder, "tiny", resolution=(32, 32), defaults={"steps": 2, "cfg": 1.5})
    return folder


@pytest.fixture
def model_folder(_saved_tiny_model, tmp_path) -> Path:
    """A fresh copy of a valid tiny model folder (model.json + five components) to damage."""
    return Path(shutil.copytree(_saved_tiny_model, tmp_path / "src" / "tiny"))


@pytest.fixture
def cli(capsys):
    """Run studio-cli in-process; returns (exit code, stdout, the `error:` lines of stderr)."""
    from studio.cli.main import main

    def run(*argv: str) -> tuple[int, str, list[str]]:
        capsys.readouterr()
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, [line for line in err.splitlines() if line.startswith("error:")]

    return run


@pytest.fixture
def valid_inputs(tmp_path) -> tuple[Path, Path]:
    """A source image and a pose file with a person in every frame: both pass the input checks,
    so whatever a test breaks besides them is what gets reported."""
    import cv2
    import numpy as np

    source, poses = tmp_path / "src.png", tmp_path / "poses.npz"
    cv2.imwrite(str(source), np.full((96, 96, 3), 128, np.uint8))
    np.savez(poses, body=np.full((2, 18, 3), 0.5, np.float32), hands=np.zeros((2, 2, 21, 3), np.float32),
             face=np.zeros((2, 68, 3), np.float32), fps=np.float64(25), width=np.int64(64), height=np.int64(64))
    return source, poses
