"""The record of what an install created, and the uninstall that removes exactly that.

Three kinds of entries: ``files`` (shims, the desktop entry, icons), ``trees`` (the virtual
environment, the macOS .app: removed whole) and ``dirs`` (folders the installer had to create:
removed only when empty, so a user's files in them survive). A re-run merges into the record
of the earlier run, so an upgrade never forgets what the first install made.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "install-manifest.json"
_MARKER = "talkingpose-studio-installer"  # written into every file we create, to recognise ours


@dataclass
class Manifest:
    prefix: Path
    files: list[str] = field(default_factory=list)
    trees: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.prefix / MANIFEST_NAME

    @classmethod
    def load(cls, prefix: Path) -> "Manifest | None":
        path = prefix / MANIFEST_NAME
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(prefix, data.get("files", []), data.get("trees", []), data.get("dirs", []), data.get("info", {}))

    def save(self) -> None:
        self.make_dirs(self.prefix)
        data = {"created_by": _MARKER, "files": self.files, "trees": self.trees, "dirs": self.dirs, "info": self.info}
        self.path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def make_dirs(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents, recording each one created."""
        missing = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for path in reversed(missing):
            path.mkdir()
            _add(self.dirs, path)

    def owns(self, path: Path) -> bool:
        return str(path) in self.files or str(path) in self.trees

    def write_file(self, path: Path, text: str | bytes, executable: bool = False) -> bool:
        """Write ``path`` unless someone else's file is already there; True when written."""
        if path.exists() and not self.owns(path) and not _is_ours(path):
            print(f"  ! kept {path}: it exists and was not made by this installer")
            return False
        self.make_dirs(path.parent)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        if executable:
            path.chmod(0o755)
        _add(self.files, path)
        return True

    def add_tree(self, path: Path) -> None:
        _add(self.trees, path)

    def add_file(self, path: Path) -> None:
        _add(self.files, path)


def _add(entries: list[str], path: Path) -> None:
    if str(path) not in entries:
        entries.append(str(path))


def _is_ours(path: Path) -> bool:
    try:
        return _MARKER in path.read_text(encoding="utf-8", errors="ignore")[:4096]
    except OSError:
        return False


def marker_comment(prefix: str = "#") -> str:
    return f"{prefix} Created by {_MARKER}; removed by install.py --uninstall."


def uninstall(manifest: Manifest, purge_dirs: list[Path] = ()) -> list[str]:
    """Remove what ``manifest`` lists (and ``purge_dirs``); return the paths removed."""
    removed = []
    for entry in manifest.files:
        path = Path(entry)
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(entry)
    for entry in manifest.trees:
        path = Path(entry)
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(entry)
    for folder in purge_dirs:
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(str(folder))
    if manifest.path.is_file():
        manifest.path.unlink()
        removed.append(str(manifest.path))
    # Deepest first, so a created parent empties after its created children.
    for entry in sorted(manifest.dirs, key=lambda text: text.count(os.sep), reverse=True):
        path = Path(entry)
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            removed.append(entry)
    return removed
