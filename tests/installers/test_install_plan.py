"""The dry-run plan per OS: what it says it will create, and that it creates nothing."""

from __future__ import annotations

from pathlib import Path

from installer_kit import fake_program, files_under

from tpsetup import cli


def dry_run(capsys, context, *flags) -> str:
    assert cli.main(["--dry-run", *flags], context) == 0
    return capsys.readouterr().out


def test_linux_plan_lists_venv_shims_desktop_entry_icons_and_creates_nothing(tmp_path, capsys, make_context, fake_backend):
    context = make_context(env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    out = dry_run(capsys, context)
    home, prefix = Path(context.home), tmp_path / "xdg" / "talkingpose-studio"
    assert "Detected: Linux x86_64; NVIDIA GPUs: none" in out
    assert "Chose:    cpu torch" in out
    for line in (f"Python environment: {prefix / 'venv'}",
                 f"shim for studio: {prefix / 'bin' / 'studio'}",
                 f"shim for studio-cli on your PATH: {home / '.local' / 'bin' / 'studio-cli'}",
                 f"desktop entry: {tmp_path / 'xdg' / 'applications' / 'talkingpose-studio.desktop'}",
                 f"icon (256 px): {tmp_path / 'xdg' / 'icons' / 'hicolor' / '256x256' / 'apps' / 'talkingpose-studio.png'}",
                 f"this installer, for --uninstall: {prefix / 'installer' / 'install.py'}",
                 "Qt xcb): all present", "Dry run: nothing was changed."):
        assert line in out
    assert fake_backend.calls == []
    assert files_under(tmp_path) == {"home/"}


def test_linux_plan_with_a_gpu_names_the_gpu_and_the_cuda_build(tmp_path, capsys, make_context):
    fake_program(tmp_path / "bin", "nvidia-smi", 'echo "GPU 0: NVIDIA H200 (UUID: GPU-1)"')
    out = dry_run(capsys, make_context(path=str(tmp_path / "bin")), "--prefix", str(tmp_path / "app"))
    assert "NVIDIA GPUs: NVIDIA H200" in out
    assert "Chose:    cuda torch (NVIDIA GPU found (NVIDIA H200)) from https://download.pytorch.org/whl/cu" in out
    assert "ONNX Runtime: onnxruntime-gpu" in out


def test_macos_plan_makes_an_app_wrapper_in_applications(tmp_path, capsys, make_context):
    context = make_context(system="Darwin", arch="arm64")
    out = dry_run(capsys, context)
    app = Path(context.home) / "Applications" / "TalkingPose Studio.app"
    prefix = Path(context.home) / "Library" / "Application Support" / "talkingpose-studio"
    assert "Chose:    mps torch (Apple Silicon (Metal)) from the default package index" in out
    assert f"app wrapper (removed whole on uninstall): {app}" in out
    assert f"app wrapper: launcher script: {app / 'Contents' / 'MacOS' / 'talkingpose-studio'}" in out
    assert f"shim for studio-cli: {prefix / 'bin' / 'studio-cli'}" in out
    assert "desktop entry" not in out and "xcb" not in out


def test_windows_plan_makes_cmd_shims_and_a_start_menu_shortcut(tmp_path, capsys, make_context):
    context = make_context(system="Windows", arch="AMD64", env={"APPDATA": r"C:\Users\ana\AppData\Roaming"})
    out = dry_run(capsys, context, "--prefix", str(tmp_path / "app"))
    assert "Chose:    cpu torch (no NVIDIA GPU and not Apple Silicon) from https://download.pytorch.org/whl/cpu" in out
    assert f"shim for studio-cli: {tmp_path / 'app' / 'bin' / 'studio-cli.cmd'}" in out
    assert r"Start-menu shortcut: C:\Users\ana\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\TalkingPose Studio.lnk" in out
    assert "desktop entry" not in out


def test_missing_xcb_libraries_print_the_exact_package_command(tmp_path, capsys, make_context):
    absent = {"xcb-cursor", "xkbcommon-x11"}
    for tool, expected in (("apt-get", "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0"),
                           ("dnf", "sudo dnf install xcb-util-cursor libxkbcommon-x11")):
        fake_program(tmp_path / tool, tool, "exit 1")
        context = make_context(path=str(tmp_path / tool), find_library=lambda name: None if name in absent else name)
        out = dry_run(capsys, context, "--prefix", str(tmp_path / "app"))
        assert f"Install them with:  {expected}\n" in out
        assert "does not run sudo" in out


def test_uninstall_dry_run_lists_the_recorded_paths_and_removes_nothing(tmp_path, capsys, make_context):
    context = make_context()
    assert cli.main(["--prefix", str(tmp_path / "app"), "--yes"], context) == 0
    before = files_under(tmp_path)
    capsys.readouterr()
    out = dry_run(capsys, context, "--uninstall", "--prefix", str(tmp_path / "app"))
    assert f"remove {tmp_path / 'app' / 'venv'}" in out
    assert f"keep the model library {Path(context.home) / '.local' / 'share' / 'talkingpose-studio' / 'models'}" in out
    assert files_under(tmp_path) == before
