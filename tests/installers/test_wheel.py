"""The wheel carries the bundled resources, and engine.resources finds them from an installed
(unpacked) wheel and from the zipped wheel itself, never from the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from installer_kit import REPO

RESOURCES = REPO / "resources"


def source_files() -> list[str]:
    """The files a release would contain: tracked plus untracked-but-not-ignored (work in progress)."""
    if shutil.which("git") and (REPO / ".git").exists():
        listing = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                 capture_output=True, check=True)
        return [name for name in listing.stdout.decode().split("\0") if name and (REPO / name).is_file()]
    pytest.skip("not a git checkout: cannot tell source files from build output")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("source")
    for name in source_files():  # a copy: building in the repo would leave build/ there
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                             "-q", "-w", str(out), str(copy)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    (built,) = out.glob("talkingpose_studio-*.whl")
    return built


def test_wheel_lists_every_preset_demo_model_file_sample_and_icon(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"talkingpose_resources/{path.relative_to(RESOURCES).as_posix()}"
                for folder in ("presets", "models/demo", "samples", "icons") for path in (RESOURCES / folder).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    assert {name for name in expected if name.endswith(".toml") and "/presets/" in name} == \
        {f"talkingpose_resources/presets/{path.name}" for path in (RESOURCES / "presets").glob("*.toml")}
    assert "talkingpose_resources/models/demo/model.json" in expected
    assert "talkingpose_resources/models/demo/denoising_unet/diffusion_pytorch_model.safetensors" in expected
    assert {"talkingpose_resources/samples/source.png", "talkingpose_resources/samples/driving_poses.npz"} <= expected
    assert expected - names == set()
    assert {"engine/resources.py", "studio/cli/demo_cmd.py", "talkingpose_resources/__init__.py"} <= names
    assert not any(name.startswith(("tests/", "installers/", "bench/", "tools/")) for name in names)


def run_isolated(code: str, pythonpath: Path, cwd: Path, **env) -> str:
    """Run ``code`` with only ``pythonpath`` and the standard library importable (-S: no site-packages)."""
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=cwd, capture_output=True, text=True,
                            env={"PYTHONPATH": str(pythonpath), **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


LIST_PRESETS = ("from engine.resources import resource_path; folder = resource_path('presets'); "
                "print(folder); print(sorted(p.name for p in folder.glob('*.toml')))")


def test_unpacked_wheel_finds_resources_inside_itself(wheel, tmp_path):
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    folder, presets = run_isolated(LIST_PRESETS, site, tmp_path).splitlines()
    assert folder == str(site / "talkingpose_resources" / "presets")
    assert presets == str(sorted(path.name for path in (RESOURCES / "presets").glob("*.toml")))


def test_zipped_wheel_extracts_the_requested_folder_once(wheel, tmp_path):
    cache = tmp_path / "cache"
    folder, presets = run_isolated(LIST_PRESETS, wheel, tmp_path, TALKINGPOSE_RESOURCE_CACHE=str(cache)).splitlines()
    assert Path(folder).is_relative_to(cache)
    assert presets == str(sorted(path.name for path in (RESOURCES / "presets").glob("*.toml")))
    for path in (RESOURCES / "presets").glob("*.toml"):
        assert (Path(folder) / path.name).read_bytes() == path.read_bytes()
    again = run_isolated(LIST_PRESETS, wheel, tmp_path, TALKINGPOSE_RESOURCE_CACHE=str(cache)).splitlines()[0]
    assert again == folder and not list(cache.rglob("*.partial-*"))


def test_source_checkout_without_an_install_uses_the_repo_folder(tmp_path):
    folder = run_isolated(LIST_PRESETS, REPO, tmp_path).splitlines()[0]
    assert folder == str(RESOURCES / "presets")
