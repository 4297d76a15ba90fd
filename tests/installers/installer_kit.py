"""Shared by the installer tests: the installer's package on sys.path, a fake package backend,
fake programs for PATH and a file listing."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "installers") not in sys.path:
    sys.path.insert(0, str(REPO / "installers"))


class FakeBackend:
    """Records the package commands and makes the files a real venv would have, instantly."""

    tool = "fake"

    def __init__(self):
        self.calls: list[tuple] = []

    def create_venv(self, venv: Path) -> None:
        self.calls.append(("venv", str(venv)))
        (venv / "bin").mkdir(parents=True, exist_ok=True)
        (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")

    def install(self, venv: Path, args: list[str]) -> None:
        self.calls.append(("install", *args))
        for name in ("studio", "studio-cli"):
            script = venv / "bin" / name
            script.write_text(f'#!/bin/sh\necho "{name}" "$@"\n')
            script.chmod(0o755)

    def download(self, dest: Path, args: list[str]) -> None:
        """Writes an empty wheel for each requirement, as ``pip download`` would write real ones."""
        self.calls.append(("download", *args))
        requirements = [arg for arg in args if "==" in arg]
        if "-r" in args:
            requirements += Path(args[args.index("-r") + 1]).read_text().split()
        for requirement in requirements:
            name, version = requirement.split("==")
            (dest / f"{name.replace('-', '_')}-{version}-py3-none-any.whl").write_bytes(b"")

    def build_wheel(self, project: Path, dest: Path) -> None:
        self.calls.append(("wheel", str(project)))
        (dest / "talkingpose_studio-0.1.0-py3-none-any.whl").write_bytes(b"")


def fake_program(folder: Path, name: str, script: str) -> Path:
    """An executable ``name`` in ``folder`` running the shell ``script`` (a probe put on PATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return path


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) + ("/" if path.is_dir() else "") for path in root.rglob("*")}
