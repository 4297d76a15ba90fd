"""The pinned packages: requirements.lock adjusted for the chosen torch, wheelhouse checks, and the
two ways of installing them (uv when it is on PATH, pip otherwise)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .machine import InstallError, TorchChoice

PROJECT = "talkingpose-studio"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lock: Path) -> dict[str, tuple[str, str]]:
    """``{normalized name: (name as written, version)}`` for every ``name==version`` line."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            pins[normalize(match[1])] = (match[1], match[2])
    return pins


def pins_for(pins: dict[str, tuple[str, str]], torch: TorchChoice) -> list[str]:
    """The lock's lines for this machine, torch left out (it is installed first, from its own index).

    A CUDA machine gets ``onnxruntime-gpu`` at the version the lock pins for ``onnxruntime``.
    """
    lines = []
    for key, (name, version) in pins.items():
        if key == "torch":
            continue
        if key == "onnxruntime" and torch.onnxruntime == "onnxruntime-gpu":
            name = "onnxruntime-gpu"
        lines.append(f"{name}=={version}")
    return lines


def torch_pin(pins: dict[str, tuple[str, str]]) -> str:
    if "torch" not in pins:
        raise InstallError("requirements.lock pins no torch version; the installer needs a complete lock file")
    return f"torch=={pins['torch'][1]}"


def _wheelhouse_entries(folder: Path) -> set[tuple[str, str]]:
    entries = set()
    for path in folder.iterdir():
        name = path.name
        if name.endswith(".whl"):
            dist, version = name.split("-")[:2]
        elif name.endswith((".tar.gz", ".zip")):
            stem = name.removesuffix(".tar.gz").removesuffix(".zip")
            dist, _, version = stem.rpartition("-")
        else:
            continue
        entries.add((normalize(dist), version.split("+")[0]))
    return entries


def missing_from_wheelhouse(folder: Path, requirements: list[str]) -> list[str]:
    """The ``name==version`` requirements (and the project) that ``folder`` has no file for."""
    if not folder.is_dir():
        raise InstallError(f"the wheelhouse {folder} does not exist; build one with install.py --make-wheelhouse {folder}")
    entries = _wheelhouse_entries(folder)
    missing = [req for req in requirements if (normalize(req.split("==")[0]), req.split("==")[1]) not in entries]
    if not any(dist == normalize(PROJECT) for dist, _ in entries):
        missing.append(f"{PROJECT} (the studio's own wheel)")
    return missing


@dataclass
class Backend:
    """Runs the package tools. Tests pass a fake with the same four methods."""

    tool: str  # "uv" or "pip"
    python: str = sys.executable

    @classmethod
    def detect(cls, path: str | None) -> "Backend":
        return cls("uv" if shutil.which("uv", path=path) else "pip")

    def create_venv(self, venv: Path) -> None:
        if (venv / "pyvenv.cfg").is_file():
            return  # re-run: upgrade in place
        if self.tool == "uv":
            _run(["uv", "venv", "--seed", "--python", self.python, str(venv)])
        else:
            _run([self.python, "-m", "venv", str(venv)])

    def install(self, venv: Path, args: list[str]) -> None:
        python = str(venv_python(venv))
        if self.tool == "uv":
            _run(["uv", "pip", "install", "--python", python, *args])
        else:
            _run([python, "-m", "pip", "install", "--disable-pip-version-check", *args])

    def download(self, dest: Path, args: list[str]) -> None:
        _run([self.python, "-m", "pip", "download", "--disable-pip-version-check", "-d", str(dest), *args])

    def build_wheel(self, project: Path, dest: Path) -> None:
        _run([self.python, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "-w", str(dest), str(project)])


def venv_python(venv: Path) -> Path:
    return venv / "Scripts" / "python.exe" if sys.platform == "win32" else venv / "bin" / "python"


def _run(command: list[str]) -> None:
    print("  $ " + " ".join(command), flush=True)
    try:
        result = subprocess.run(command)
    except OSError as error:
        raise InstallError(f"could not run {command[0]} ({error.strerror}); check your Python installation") from None
    if result.returncode != 0:
        raise InstallError(f"'{' '.join(command[:4])} ...' failed (exit {result.returncode}); "
                           "its messages are above, and re-running the installer resumes where it stopped")
