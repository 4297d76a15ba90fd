"""Broken environments end with one clear sentence on stderr, exit 1, no traceback, and nothing created."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import namedtuple

import pytest
from installer_kit import REPO, fake_program, files_under

from tpsetup import cli, machine, packages

Usage = namedtuple("Usage", "total used free")


def fails_with(capsys, context, argv, *fragments) -> str:
    assert cli.main(argv, context) == 1
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert message.startswith("install.py: ") and "\n" not in message and "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in message
    return message


def test_wrong_python_version(tmp_path, capsys, make_context):
    fails_with(capsys, make_context(python_version=(3, 12)), ["--prefix", str(tmp_path / "app")],
               "needs Python 3.11 and this is Python 3.12")
    assert not (tmp_path / "app").exists()


def test_not_enough_disk_space(tmp_path, capsys, make_context):
    context = make_context(disk_usage=lambda path: Usage(100 * 1024**3, 99 * 1024**3, 1 * 1024**3))
    fails_with(capsys, context, ["--prefix", str(tmp_path / "app"), "--yes"], "has 1.0 GB free and the studio needs 4 GB")
    assert not (tmp_path / "app").exists()


def test_wheelhouse_missing_a_pinned_package_is_refused_before_anything_is_created(tmp_path, capsys, make_context, fake_backend):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"")
    (wheels / "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    pins = packages.read_pins(REPO / "requirements.lock")
    absent = len(pins) - 2 + 1  # all but numpy and torch, plus the studio's own wheel
    first = next(f"{name}=={version}" for key, (name, version) in pins.items() if key not in ("numpy", "torch"))
    message = fails_with(capsys, make_context(), ["--prefix", str(tmp_path / "app"), "--wheels", str(wheels), "--yes"],
                         f"the wheelhouse {wheels} lacks {absent} pinned package(s) ({first}, ",
                         "rebuild it with install.py --make-wheelhouse")
    assert "numpy" not in message and "torch" not in message  # present (torch under its +cpu label)
    assert fake_backend.calls == [] and files_under(tmp_path) == {"home/", "wheels/", *(f"wheels/{p.name}" for p in wheels.iterdir())}


def test_missing_wheelhouse_folder(tmp_path, capsys, make_context):
    fails_with(capsys, make_context(), ["--wheels", str(tmp_path / "nowhere"), "--yes"], "does not exist")


def test_prefix_inside_a_file(tmp_path, capsys, make_context):
    (tmp_path / "file").write_text("x")
    fails_with(capsys, make_context(), ["--prefix", str(tmp_path / "file" / "app"), "--yes"], "is a file, not a folder")


def test_prefix_not_writable(tmp_path, capsys, make_context, monkeypatch):
    # Tests may run as root, for whom chmod does not bite: the installer asks os.access, so ask it.
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(machine.os, "access", lambda path, mode: False if str(path) == str(locked) else real_access(path, mode))
    fails_with(capsys, make_context(), ["--prefix", str(locked / "app"), "--yes"], f"{locked} is not writable by you")
    assert not (locked / "app").exists()


def test_no_terminal_and_no_yes_changes_nothing(tmp_path, capsys, make_context):
    fails_with(capsys, make_context(), ["--prefix", str(tmp_path / "app")], "pass --yes")
    assert not (tmp_path / "app").exists()


def test_uninstall_without_an_install(tmp_path, capsys, make_context):
    fails_with(capsys, make_context(), ["--uninstall", "--prefix", str(tmp_path), "--yes"], "there is no install in")


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_linux_wrapper_without_python_3_11_says_so(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_program(bin_dir, "python3", "exit 1")  # a Python that is not 3.11
    os.symlink(shutil.which("dirname"), bin_dir / "dirname")
    result = subprocess.run([shutil.which("sh"), str(REPO / "installers" / "linux" / "install.sh"), "--dry-run"],
                            capture_output=True, text=True, env={"PATH": str(bin_dir)})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "needs Python 3.11, and none was found on PATH" in result.stderr


def test_linux_wrapper_runs_install_py_with_python_3_11(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_program(bin_dir, "python3.11", 'case "$1" in -c) exit 0;; esac; echo "ran $*"')
    os.symlink(shutil.which("dirname"), bin_dir / "dirname")
    result = subprocess.run([shutil.which("sh"), str(REPO / "installers" / "linux" / "install.sh"), "--dry-run", "--yes"],
                            capture_output=True, text=True, env={"PATH": str(bin_dir)})
    assert result.returncode == 0
    assert result.stdout == f"ran {REPO / 'installers' / 'linux' / '..' / 'install.py'} --dry-run --yes\n"


def test_install_py_under_another_python_exits_with_one_sentence():
    def runs_and_is_not_3_11(name: str) -> bool:
        found = shutil.which(name)
        probe = "import sys; sys.exit(sys.version_info[:2] == (3, 11))"
        return found is not None and subprocess.run([found, "-c", probe], capture_output=True).returncode == 0

    other = next((shutil.which(name) for name in ("python3.12", "python3.10", "python3.13", "python3.9") if runs_and_is_not_3_11(name)), None)
    if other is None:
        pytest.skip("no Python other than 3.11 on this machine; the in-process check above covers the message")
    result = subprocess.run([other, str(REPO / "installers" / "install.py"), "--dry-run"], capture_output=True, text=True)
    assert result.returncode == 1 and "needs Python 3.11" in result.stderr and "Traceback" not in result.stderr
