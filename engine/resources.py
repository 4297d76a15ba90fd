"""Where the studio's bundled files are: presets, the demo model, the samples and the icons.

The repo keeps them in the top-level ``resources/`` folder. Packaging maps that folder to the
``talkingpose_resources`` package (see ``[tool.setuptools.package-dir]`` in pyproject.toml), so an
editable install, a wheel and a zip all find the same files through :mod:`importlib.resources`.
A source checkout that was never installed (``pytest`` with ``pythonpath = .``) has no such
package, so the folder next to ``engine/`` is the fallback.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import tempfile
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "talkingpose_resources"
_SOURCE_TREE = Path(__file__).resolve().parents[1] / "resources"


def resource_path(relative: str = "") -> Path:
    """The folder or file ``relative`` inside the bundled resources, as a real path on disk.

    Args:
        relative: a '/'-separated path inside ``resources/``, e.g. ``"presets"``,
            ``"models/demo"``, ``"samples/source.png"``; empty for the root.

    Returns:
        The path. It may not exist (callers check, as they would for any path). When the
        resources live inside a zip, the requested subtree is first extracted once into a
        per-user cache folder, because model loaders and video decoders need real files.
    """
    root = _package_root()
    if root is None:
        return _SOURCE_TREE.joinpath(*_parts(relative))
    if isinstance(root, Path):
        return root.joinpath(*_parts(relative))
    return _extracted(root, relative)


def _parts(relative: str) -> list[str]:
    return [part for part in relative.replace("\\", "/").split("/") if part and part != "."]


def _package_root() -> Traversable | None:
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        return None
    # A folder on disk gives a pathlib.Path; a zip gives a zipfile.Path.
    return root


def _extracted(root: Traversable, relative: str) -> Path:
    node = root
    for part in _parts(relative):
        node = node.joinpath(part)
    cache = Path(os.environ.get("TALKINGPOSE_RESOURCE_CACHE") or Path(tempfile.gettempdir()) / "talkingpose-resources")
    target = cache.joinpath(_version(), *_parts(relative))
    if not target.exists() and (node.is_dir() or node.is_file()):
        # Extract beside the target and rename: a reader never sees a half-written folder.
        partial = target.with_name(target.name + f".partial-{os.getpid()}")
        _copy_tree(node, partial)
        try:
            partial.rename(target)
        except OSError:  # another process extracted it first
            if partial.is_dir():
                shutil.rmtree(partial, ignore_errors=True)
            else:
                partial.unlink(missing_ok=True)
    return target


def _copy_tree(node: Traversable, target: Path) -> None:
    if node.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(node.read_bytes())
        return
    target.mkdir(parents=True, exist_ok=True)
    for child in node.iterdir():
        _copy_tree(child, target / child.name)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("talkingpose-studio")
    except PackageNotFoundError:
        return "dev"
