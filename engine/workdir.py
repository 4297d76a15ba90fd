"""A render job's folder: its files, its lock and what may be resumed in it (used by engine.jobs).

Front ends never use this module or name a file inside a work dir; they call RenderJob's
methods. Layout (see docs/architecture.md, "The work dir")::

    job.json        the job: inputs (paths + fingerprints), settings, model id and hash, range
    made_with.json  what determines the frames on disk (written before the first frame; never edited)
    export.json     where the front end last asked to export
    .lock           held by the process rendering into the folder (dropped when it exits)
    poses/          the driving video's pose cache (analysed once)
    frames/, state/ frame k as a lossless WebP (PNG in older work dirs) and the CLC state (engine.video.frame_store)
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from pathlib import Path

from engine.errors import InputError, StudioError
from engine.fsutil import FolderLock, atomic_write_json, output_error
from engine.textfiles import load_json

JOB_FILE = "job.json"
MADE_WITH_FILE = "made_with.json"
EXPORT_FILE = "export.json"
POSES_DIR = "poses"


class WorkDir:
    """The files of one work dir."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = FolderLock(self.root)

    def _frame_count(self) -> int:
        from engine.video.frame_store import FrameStore

        return len(FrameStore(self.root).indices())

    # -- the lock ------------------------------------------------------------------------------
    def lock(self, create: bool = False) -> None:
        """Take the folder's lock (OutputError naming the holder when another process has it)."""
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise output_error(self.root, exc, place="a writable work folder") from None
        self._lock.acquire(f"the work folder {self.root} is in use by another render")

    def unlock(self) -> None:
        self._lock.release()

    # -- job files -----------------------------------------------------------------------------
    def settle(self, facts: dict, resume: bool) -> None:
        """Before a new job file: refuse frames made otherwise, and clear what a failed start left."""
        done = self._frame_count()
        if not done:
            for stale in (self.root / EXPORT_FILE, self.root / MADE_WITH_FILE, self.root / "state"):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
            return
        self.check_free(resume)
        self.check_made_with(facts)

    def check_free(self, resume: bool) -> None:
        """Fail fast, before any analysis: the folder is in use, or holds frames and ``resume`` is off."""
        if self.root.is_dir():
            self.lock()
            self.unlock()
        done = self._frame_count() if self.root.is_dir() else 0
        if done and not resume:
            raise InputError(f"the work folder {self.root} already holds {done} frames of an earlier render; "
                             "resume that render, or choose another work folder to start over")

    def write_job(self, record: dict, facts: dict) -> None:
        """job.json, and made_with.json while no frame is on disk."""
        write_json(self.root / JOB_FILE, record)
        if not self._frame_count():
            write_json(self.root / MADE_WITH_FILE, facts)

    def check_made_with(self, facts: dict) -> None:
        """Refuse to add frames to ones made with other settings, inputs or weights, naming what differs."""
        done = self._frame_count()
        if not done:
            return
        made_with = read_json(self.root / MADE_WITH_FILE)
        if made_with is None:
            raise InputError(f"the frames in {self.root} have no record of the settings that made them; "
                             "choose another work folder to start over")
        changed = [key for key in sorted(set(facts) | set(made_with)) if facts.get(key) != made_with.get(key)]
        if changed:
            detail = ", ".join(f"{key} ({made_with.get(key)!r} then, {facts.get(key)!r} now)" for key in changed[:3])
            raise InputError(f"cannot resume in {self.root}: its {done} frames were made with a different "
                             f"{detail}; choose another work folder to start over")

    # -- caches and records --------------------------------------------------------------------
    def seed_pose_cache(self, cache_dir: str | Path, fingerprint: str) -> int:
        """Copy a video's poses (every extractor's, named ``<fingerprint>.*``) from another pose
        cache; returns how many files were copied. A miss only costs time."""
        copied = 0
        target_dir = self.root / POSES_DIR
        try:
            for cached in sorted(Path(cache_dir).glob(f"{fingerprint}.*npz")):
                target = target_dir / cached.name
                if cached.is_file() and not target.exists():
                    target_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(cached, target)
                    copied += 1
        except OSError:
            pass
        return copied

    def remember_export(self, out: str | Path, preset: str, audio: bool) -> None:
        write_json(self.root / EXPORT_FILE, {"output": str(out), "preset": preset, "audio": bool(audio)})

    def recorded_export(self) -> dict | None:
        record = read_json(self.root / EXPORT_FILE)
        if record is None:
            return None
        try:
            return {"output": str(record["output"]), "preset": str(record["preset"]), "audio": bool(record["audio"])}
        except (KeyError, TypeError):
            raise InputError(f"the export record of {self.root} is damaged; name the output again") from None


def frame_facts(record: dict) -> dict:
    """What determines a job's frames, from its job record: everything a resume must not change."""
    spec = dict(record["spec"])
    settings = spec.pop("settings")
    spec.pop("source"), spec.pop("driving")  # the same content may move; the fingerprints say if it changed
    fingerprints = record["fingerprints"]
    return {**settings, **spec, "source file": fingerprints["source"], "driving file": fingerprints["driving"],
            "model weights": record.get("model_hash", "")}


def model_fingerprint(loaded) -> str:
    """A short id of a loaded model's weights: the checksums its model.json lists ("" if none)."""
    files = getattr(getattr(loaded, "info", None), "files", None) or {}
    if not files:
        return ""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:32]


def software_versions() -> dict:
    """What made a job's frames, for its record (bug reports; not compared on resume)."""
    import diffusers
    import torch

    from engine import __version__

    return {"studio": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__,
            "python": platform.python_version()}


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``; None when the file is missing, {} when it is damaged."""
    if not path.is_file():
        return None
    try:
        record = load_json(path, what="a work folder record")
    except StudioError:  # damaged or hostile (not JSON, huge, deeply nested): treated as no usable record
        return {}
    return record if isinstance(record, dict) else {}


def write_json(path: Path, record: dict) -> None:
    """Write atomically; a failure is one OutputError ("no space left ..." on a full disk)."""
    try:
        atomic_write_json(path, record)
    except OSError as exc:
        raise output_error(path.parent, exc, then="start again", place="a writable work folder") from None


