"""The pose-model library: the two DWPose ONNX files, imported or fetched once, with their sha256.

They live in ``<model library>/.pose/dwpose/`` (the dot keeps them out of ``models list``) beside
``pose_models.json``, which records each file's sha256 (used by the pose cache key and ``verify``).
``--pose-model DIR`` uses a folder directly instead: its files are hashed when opened.
It lives outside ``engine.weights`` on purpose: importing that package loads torch and diffusers
(~15 s on small machines), and ``--pose-backend auto`` asks this module first, on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ModelError, OutputError
from engine.pose.dwpose.sessions import DETECTOR_FILE, POSE_FILE, open_sessions
from engine.textfiles import load_json

DWPOSE = "dwpose"
DWPOSE_REPO = "yzd-v/DWPose"
DWPOSE_FILES = (DETECTOR_FILE, POSE_FILE)
RECORD = "pose_models.json"
_FOLDER_HASHES: dict[tuple, str] = {}  # (path, size, mtime) -> sha256: a folder is hashed once per process


@dataclass(frozen=True)
class PoseModelFiles:
    """Where the DWPose files are and their sha256 (file name -> hex)."""

    folder: Path
    sha256: dict[str, str] = field(default_factory=dict)
    source: str = "library"  # or "folder" (--pose-model DIR)


def pose_library_dir(library_root: str | Path | None = None) -> Path:
    """The library folder holding the DWPose files (it may not exist yet).

    The root is the model library's (``engine.weights.library.default_models_dir``, same rules).
    """
    if library_root is not None:
        root = Path(library_root).expanduser()
    elif os.environ.get("TALKINGPOSE_MODELS_DIR"):
        root = Path(os.environ["TALKINGPOSE_MODELS_DIR"]).expanduser()
    elif os.environ.get("TALKINGPOSE_DATA_DIR"):
        root = Path(os.environ["TALKINGPOSE_DATA_DIR"]).expanduser() / "models"
    else:
        from platformdirs import user_data_dir

        root = Path(user_data_dir("talkingpose-studio", appauthor=False)) / "models"
    return root / ".pose" / DWPOSE


def missing_files_message(folder: Path) -> str:
    return (
        f"the DWPose model files {DETECTOR_FILE} and {POSE_FILE} are not in {folder}; run "
        f"`studio-cli models fetch dwpose`, or download both from huggingface.co/{DWPOSE_REPO}, put them in one "
        "folder and run `studio-cli models import-pose FOLDER`"
    )


def find_dwpose(model_dir: str | Path | None = None, library_root: str | Path | None = None) -> PoseModelFiles | None:
    """The DWPose files to use: ``model_dir`` when given (ModelError when it lacks them), else the library's, else None."""
    if model_dir is not None:
        folder = Path(model_dir).expanduser()
        if not all((folder / name).is_file() for name in DWPOSE_FILES):
            raise ModelError(missing_files_message(folder))
        return PoseModelFiles(folder, {name: _folder_hash(folder / name) for name in DWPOSE_FILES}, "folder")
    folder = pose_library_dir(library_root)
    if not (folder / RECORD).is_file():
        return None
    record = load_json(folder / RECORD, what="the pose-model record", error=ModelError, fix="run `studio-cli models import-pose FOLDER` again")
    hashes = record.get("sha256") if isinstance(record, dict) else None
    if not isinstance(hashes, dict) or set(hashes) != set(DWPOSE_FILES) or not all(isinstance(h, str) for h in hashes.values()):
        raise ModelError(f"{folder / RECORD} does not list the two DWPose files; run `studio-cli models import-pose FOLDER` again")
    if not all((folder / name).is_file() for name in DWPOSE_FILES):
        raise ModelError(missing_files_message(folder))
    return PoseModelFiles(folder, dict(hashes), "library")


def import_pose_models(src: str | Path, library_root: str | Path | None = None) -> Path:
    """Check and copy the two DWPose files from ``src`` into the library; returns the library folder.

    The files must open as the DWPose detector and pose model (ModelError otherwise), so a bad
    file never enters the library. An existing pair is replaced only after the new one is complete.
    """
    src = Path(src).expanduser()
    if not all((src / name).is_file() for name in DWPOSE_FILES):
        raise ModelError(missing_files_message(src))
    open_sessions(src / DETECTOR_FILE, src / POSE_FILE, device="cpu")
    target = pose_library_dir(library_root)
    staging = target.with_name(target.name + ".importing")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        hashes = {}
        for name in DWPOSE_FILES:
            shutil.copyfile(src / name, staging / name)
            hashes[name] = sha256_file(staging / name)
        (staging / RECORD).write_text(json.dumps({"name": DWPOSE, "sha256": hashes, "imported_from": str(src)}, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(
            f"could not copy the DWPose files into {target} ({error.strerror or error}); free some disk space "
            "or set TALKINGPOSE_MODELS_DIR to a writable folder"
        ) from None
    return target


def verify_pose_models(library_root: str | Path | None = None) -> list[str]:
    """Re-hash the library's DWPose files; one sentence per problem, empty when intact."""
    found = find_dwpose(library_root=library_root)
    if found is None:
        return [missing_files_message(pose_library_dir(library_root))]
    return [
        f"{found.folder / name} has changed since it was imported (sha256 mismatch); import or fetch it again"
        for name, digest in found.sha256.items()
        if sha256_file(found.folder / name) != digest
    ]


def fetch_dwpose(library_root: str | Path | None = None, timeout: float = 5.0, endpoint: str | None = None) -> Path:
    """Download the two DWPose files from the Hugging Face Hub, check their sha256, import them."""
    from engine.weights import fetch as hub

    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or hub.DEFAULT_ENDPOINT
    try:
        hub.ensure_online(endpoint, timeout, DWPOSE_REPO)
    except ModelError:
        raise ModelError(
            f"cannot download the DWPose models (offline, or the Hub is unreachable); on a connected machine get "
            f"{DETECTOR_FILE} and {POSE_FILE} from huggingface.co/{DWPOSE_REPO}, put them in one folder and run "
            "`studio-cli models import-pose FOLDER` (or pass the folder with --pose-model)"
        ) from None
    downloads = pose_library_dir(library_root).parent / ".downloads"
    for name in DWPOSE_FILES:
        hub._download(DWPOSE_REPO, name, downloads, endpoint, timeout)  # checks the Hub's sha256
    folder = import_pose_models(downloads / DWPOSE_REPO.replace("/", "--"), library_root)
    shutil.rmtree(downloads, ignore_errors=True)  # kept on failure so the next fetch resumes
    return folder


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FOLDER_HASHES:
        _FOLDER_HASHES[key] = sha256_file(path)
    return _FOLDER_HASHES[key]
