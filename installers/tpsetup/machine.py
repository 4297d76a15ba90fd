"""What the machine is: OS, GPU, where the app lives, which system libraries Qt lacks.

Every probe takes its inputs as arguments (the PATH, platform names, the environment) so the
tests can describe a Mac or a Windows box with a GPU while running on a Linux CPU machine.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath

APP_NAME = "talkingpose-studio"
APP_TITLE = "TalkingPose Studio"
PYTHON = (3, 11)
TORCH_VERSION = "2.13.0"
# The CUDA 12.x build of torch; PyPI's own Linux wheels are CUDA builds too, but this index also
# serves Windows. --torch-index overrides it (e.g. for another CUDA minor version).
CUDA_TORCH_INDEX = "https://download.pytorch.org/whl/cu128"
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# Disk the virtual environment needs (measured: CPU ~1.9 GB installed; CUDA adds ~4 GB of
# NVIDIA libraries), plus room for downloads and the demo's cache.
NEEDED_BYTES = {"cpu": 4 * 1024**3, "mps": 4 * 1024**3, "cuda": 10 * 1024**3}


class InstallError(Exception):
    """A problem the user can fix; its message is one sentence and is all they see."""


@dataclass(frozen=True)
class Machine:
    system: str  # platform.system(): "Linux", "Darwin", "Windows"
    arch: str  # platform.machine(): "x86_64", "arm64", "AMD64"
    gpus: tuple[str, ...] = ()  # names nvidia-smi lists
    notes: tuple[str, ...] = field(default=())  # what the probes saw, for the report

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.arch.lower() in ("arm64", "aarch64")


def detect(system: str, arch: str, path: str | None) -> Machine:
    """Probe for NVIDIA GPUs with ``nvidia-smi -L`` found on ``path`` (a PATH string)."""
    smi = shutil.which("nvidia-smi", path=path)
    if smi is None:
        return Machine(system, arch, (), ("no nvidia-smi on PATH",))
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Machine(system, arch, (), (f"nvidia-smi did not run ({error})",))
    gpus = tuple(line.split(":", 1)[1].split("(UUID")[0].strip() for line in listing.stdout.splitlines()
                 if line.startswith("GPU ") and ":" in line)
    if listing.returncode != 0 or not gpus:
        return Machine(system, arch, (), ("nvidia-smi lists no GPU (driver not loaded?)",))
    return Machine(system, arch, gpus, (f"nvidia-smi lists {len(gpus)} GPU(s)",))


@dataclass(frozen=True)
class TorchChoice:
    kind: str  # "cpu", "cuda" or "mps"
    index_url: str | None  # None: the same index as every other package
    onnxruntime: str  # the ONNX Runtime distribution to pin ("onnxruntime" or "onnxruntime-gpu")
    reason: str


def choose_torch(machine: Machine, override: str | None = None, index_override: str | None = None) -> TorchChoice:
    """CUDA torch when nvidia-smi lists a GPU, the default (MPS) build on Apple Silicon, else CPU.

    ``index_override`` "default" means: take torch from the same index as everything else.
    """
    if override:
        kind, reason = override, f"--torch {override}"
    elif machine.gpus:
        kind, reason = "cuda", f"NVIDIA GPU found ({', '.join(machine.gpus)})"
    elif machine.apple_silicon:
        kind, reason = "mps", "Apple Silicon (Metal)"
    else:
        kind, reason = "cpu", "no NVIDIA GPU and not Apple Silicon"
    if kind == "mps" and machine.system != "Darwin":
        raise InstallError("--torch mps needs a Mac with Apple Silicon; use --torch cpu or --torch cuda here")
    if kind == "cuda" and machine.system == "Darwin":
        raise InstallError("there is no CUDA torch for macOS; use --torch mps (Apple Silicon) or --torch cpu")
    index = {"cuda": CUDA_TORCH_INDEX, "cpu": CPU_TORCH_INDEX if machine.system != "Darwin" else None}.get(kind)
    if index_override:
        index = None if index_override == "default" else index_override
    return TorchChoice(kind, index, "onnxruntime-gpu" if kind == "cuda" else "onnxruntime", reason)


def pure_path(system: str, text: str) -> PurePath:
    return PureWindowsPath(text) if system == "Windows" else PurePosixPath(text)


def default_prefix(system: str, env: dict[str, str], home: str) -> PurePath:
    """The per-user data folder platformdirs would give (computed with the standard library)."""
    if system == "Windows":
        base = env.get("LOCALAPPDATA") or str(PureWindowsPath(home, "AppData", "Local"))
        return PureWindowsPath(base, APP_NAME)
    if system == "Darwin":
        return PurePosixPath(home, "Library", "Application Support", APP_NAME)
    base = env.get("XDG_DATA_HOME", "").strip()
    if not base or not PurePosixPath(base).is_absolute():  # the XDG spec says ignore relative values
        base = str(PurePosixPath(home, ".local", "share"))
    return PurePosixPath(base, APP_NAME)


def xdg_data_home(env: dict[str, str], home: str) -> PurePosixPath:
    base = env.get("XDG_DATA_HOME", "").strip()
    return PurePosixPath(base) if base and PurePosixPath(base).is_absolute() else PurePosixPath(home, ".local", "share")


def models_dir(system: str, env: dict[str, str], home: str) -> PurePath:
    """Where the app keeps its model library (the same rules as engine.weights.library)."""
    if env.get("TALKINGPOSE_MODELS_DIR"):
        return pure_path(system, os.path.expanduser(env["TALKINGPOSE_MODELS_DIR"]))
    if env.get("TALKINGPOSE_DATA_DIR"):
        return pure_path(system, os.path.expanduser(env["TALKINGPOSE_DATA_DIR"])) / "models"
    return default_prefix(system, env, home) / "models"


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> None:
    if tuple(version[:2]) != PYTHON:
        raise InstallError(f"TalkingPose Studio needs Python 3.11 and this is Python {version[0]}.{version[1]}; "
                           "install Python 3.11 (python.org or your package manager) and run the installer with it")


def check_disk(target: str, needed: int, usage=shutil.disk_usage) -> None:
    """Raise when the disk that will hold ``target`` has less than ``needed`` bytes free."""
    existing = nearest_existing(target)
    free = usage(existing).free
    if free < needed:
        raise InstallError(f"{existing} has {free / 1024**3:.1f} GB free and the studio needs {needed / 1024**3:.0f} GB; "
                           "free some space or choose another place with --prefix")


def check_writable(target: str) -> None:
    existing = nearest_existing(target)
    if not os.path.isdir(existing):
        raise InstallError(f"cannot install into {target} because {existing} is a file, not a folder; choose another --prefix")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InstallError(f"cannot install into {target} because {existing} is not writable by you; "
                           "choose a folder you own with --prefix")


def nearest_existing(target: str) -> str:
    path = os.path.abspath(target)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


# Qt's xcb platform plugin loads these at start; minimal Linux installs (servers, WSL, containers)
# often lack them. (soname stem for find_library, Debian/Ubuntu package, Fedora/RHEL package)
XCB_LIBRARIES = (
    ("xcb-cursor", "libxcb-cursor0", "xcb-util-cursor"),
    ("xcb-icccm", "libxcb-icccm4", "xcb-util-wm"),
    ("xcb-keysyms", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("xcb-image", "libxcb-image0", "xcb-util-image"),
    ("xcb-render-util", "libxcb-render-util0", "xcb-util-renderutil"),
    ("xcb-randr", "libxcb-randr0", "libxcb"),
    ("xcb-shape", "libxcb-shape0", "libxcb"),
    ("xcb-xinerama", "libxcb-xinerama0", "libxcb"),
    ("xcb-xkb", "libxcb-xkb1", "libxcb"),
    ("xkbcommon-x11", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    ("EGL", "libegl1", "libglvnd-egl"),
    ("GL", "libgl1", "libglvnd-glx"),
    ("fontconfig", "libfontconfig1", "fontconfig"),
    ("dbus-1", "libdbus-1-3", "dbus-libs"),
)


def missing_xcb_libraries(find_library=ctypes.util.find_library) -> list[tuple[str, str, str]]:
    return [entry for entry in XCB_LIBRARIES if not find_library(entry[0])]


def xcb_install_command(missing: list[tuple[str, str, str]], path: str | None) -> str:
    """The exact command that installs the missing libraries (apt-get or dnf, whichever exists)."""
    apt = "sudo apt-get install " + " ".join(dict.fromkeys(entry[1] for entry in missing))
    dnf = "sudo dnf install " + " ".join(dict.fromkeys(entry[2] for entry in missing))
    if shutil.which("apt-get", path=path):
        return apt
    if shutil.which("dnf", path=path):
        return dnf
    return f"{apt}   (Fedora/RHEL: {dnf})"
