"""Small JSON files the studio keeps: a project (the current setup) and the user's preferences.

Both live under the user's data dir (platformdirs), which ``TALKINGPOSE_DATA_DIR`` overrides so
tests and portable installs never touch the real home directory. No Qt here: plain data + JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from engine.errors import InputError, OutputError, StudioError
from engine.textfiles import load_json

APP_NAME = "talkingpose-studio"
PROJECT_VERSION = 1
MAX_RECENT = 10


def data_dir() -> Path:
    """The folder for the render queue, job work dirs and preferences (created on demand)."""
    override = os.environ.get("TALKINGPOSE_DATA_DIR")
    root = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))
    root.mkdir(parents=True, exist_ok=True)
    return root


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside ``path`` then rename, so a crash never leaves half a file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2)
        os.replace(temp_name, path)
    except OSError as error:
        raise OutputError(f"could not write {path}: {error.strerror or error}; check the folder is writable") from None


def read_json(path: Path) -> Any:
    """Read a JSON file; a missing, unreadable or malformed file raises InputError naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist; choose an existing file")
    try:
        return load_json(path, what="a studio file")
    except StudioError:  # not UTF-8 JSON, unreadable, too large or too deeply nested
        raise InputError(f"{path} is not a readable JSON file; choose a file saved by the studio") from None


@dataclass
class Project:
    """What the user set up: inputs, range, model and render settings (``RenderSettings.to_dict()``)."""

    source: str = ""
    driving: str = ""
    model: str = "demo"
    settings: dict[str, Any] = field(default_factory=dict)
    align: bool = True
    smooth: float = 0.0
    range_in: int = 0
    range_out: int | None = None
    playhead: int = 0

    def save(self, path: Path) -> None:
        write_json_atomic(path, {"version": PROJECT_VERSION, **asdict(self)})

    @classmethod
    def load(cls, path: Path) -> "Project":
        data = read_json(path)
        if not isinstance(data, dict) or data.get("version") != PROJECT_VERSION:
            raise InputError(f"{path} is not a TalkingPose Studio project (version {PROJECT_VERSION}); open a .tpproj file")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{key: value for key, value in data.items() if key in known})
        except TypeError as error:
            raise InputError(f"{path} has unexpected content ({error}); save the project again") from None


@dataclass
class Prefs:
    """Preferences that survive restarts: recent files, last folders, window layout, view toggles."""

    recent_projects: list[str] = field(default_factory=list)
    recent_sources: list[str] = field(default_factory=list)
    recent_drivings: list[str] = field(default_factory=list)
    last_dir: str = ""
    window_geometry: str = ""  # base64 of QWidget.saveGeometry(); opaque here
    window_state: str = ""  # base64 of QMainWindow.saveState()
    show_overlay: bool = True
    last_project: dict[str, Any] = field(default_factory=dict)
    export_preset: str = "web"
    export_audio: bool = True
    last_export_dir: str = ""  # where the last render/export was written; the next one is suggested there

    @staticmethod
    def path() -> Path:
        return data_dir() / "prefs.json"

    @classmethod
    def load(cls) -> "Prefs":
        """Read the prefs; a missing or damaged file gives defaults (prefs are never worth an error)."""
        try:
            data = load_json(cls.path(), what="the studio's preferences")
        except StudioError:
            return cls()
        known = {f.name: f for f in fields(cls)}
        prefs = cls()
        for key, value in data.items() if isinstance(data, dict) else ():
            default = getattr(prefs, key, None)
            if key in known and type(value) is type(default):
                setattr(prefs, key, value)
        return prefs

    def save(self) -> None:
        write_json_atomic(self.path(), asdict(self))

    def add_recent(self, kind: str, path: str | Path) -> None:
        """Put ``path`` first in the ``recent_<kind>`` list, without duplicates, at most MAX_RECENT."""
        items: list[str] = getattr(self, f"recent_{kind}")
        text = str(path)
        updated = [text] + [item for item in items if item != text]
        setattr(self, f"recent_{kind}", updated[:MAX_RECENT])


def default_output_folder(prefs: Prefs) -> Path:
    """Where renders and exports are suggested: the last export folder, else the user's Videos
    folder, else home (never the folder an input came from, which may be the install folder)."""
    if prefs.last_export_dir and Path(prefs.last_export_dir).is_dir():
        return Path(prefs.last_export_dir)
    try:
        videos = Path(platformdirs.user_videos_dir())
    except Exception:  # platformdirs may not know the platform's Videos folder
        videos = Path.home() / "Videos"
    return videos if videos.is_dir() else Path.home()


def free_output_path(folder: Path, stem: str, extension: str) -> Path:
    """``folder/stem.ext``, or ``stem-2.ext``... when that exists, so a suggestion never overwrites."""
    candidate = folder / f"{stem}{extension}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{extension}"
        number += 1
    return candidate
