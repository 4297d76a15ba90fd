"""Launcher contents: the shims run the venv's commands, the .desktop entry is valid, the .app and
Windows shims point at the right programs, and the icons are what the SVG draws."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess
from pathlib import PurePosixPath

import pytest
from installer_kit import REPO
from PIL import Image

from tpsetup import cli, launchers

ICONS = REPO / "resources" / "icons"


def test_sh_shim_passes_every_argument_to_the_venv_command(tmp_path):
    target = tmp_path / "my venv" / "bin" / "studio-cli"
    target.parent.mkdir(parents=True)
    target.write_text('#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n')
    target.chmod(0o755)
    shim = tmp_path / "shim"
    shim.write_text(launchers.sh_shim(target))
    shim.chmod(0o755)
    result = subprocess.run([str(shim), "demo", "two words", "$HOME"], capture_output=True, text=True, check=True)
    assert result.stdout == "[demo]\n[two words]\n[$HOME]\n"


def test_desktop_entry_fields_and_exec_quoting_for_a_path_with_spaces():
    entry = launchers.desktop_entry(PurePosixPath("/home/ana/My Apps/talkingpose-studio/venv/bin/studio"))
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str
    parser.read_string(entry)
    fields = dict(parser["Desktop Entry"])
    assert fields["Exec"] == '"/home/ana/My Apps/talkingpose-studio/venv/bin/studio" %F'
    assert fields["TryExec"] == "/home/ana/My Apps/talkingpose-studio/venv/bin/studio"
    assert (fields["Type"], fields["Name"], fields["Icon"], fields["Terminal"]) == ("Application", "TalkingPose Studio", "talkingpose-studio", "false")
    assert "video/mp4" in fields["MimeType"].split(";") and "image/png" in fields["MimeType"].split(";")
    assert launchers.desktop_exec_quote("/opt/plain/studio") == "/opt/plain/studio"
    assert launchers.desktop_exec_quote('/a b/$x"y') == '"/a b/\\\\$x\\\\"y"'


def test_installed_desktop_entry_passes_desktop_file_validate(tmp_path, make_context):
    context = make_context(env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert cli.main(["--prefix", str(tmp_path / "with space"), "--yes"], context) == 0
    entry = tmp_path / "xdg" / "applications" / "talkingpose-studio.desktop"
    assert f"Exec=\"{tmp_path / 'with space' / 'venv' / 'bin' / 'studio'}\" %F" in entry.read_text()
    icon = tmp_path / "xdg" / "icons" / "hicolor" / "128x128" / "apps" / "talkingpose-studio.png"
    assert icon.read_bytes() == (ICONS / "talkingpose-studio-128.png").read_bytes()
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils); checked the content only")
    result = subprocess.run([validate, str(entry)], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_macos_app_wrapper_runs_the_venv_studio(tmp_path):
    items = {str(item.path): item for item in launchers.macos_items(PurePosixPath("/p"), PurePosixPath("/p/venv"), "/Users/ana", ICONS)}
    contents = "/Users/ana/Applications/TalkingPose Studio.app/Contents"
    plist = plistlib.loads(items[f"{contents}/Info.plist"].content.encode())
    assert plist["CFBundleExecutable"] == "talkingpose-studio" and plist["CFBundlePackageType"] == "APPL"
    assert f"{contents}/MacOS/talkingpose-studio" in items and items[f"{contents}/MacOS/talkingpose-studio"].executable
    assert "exec /p/venv/bin/studio \"$@\"" in items[f"{contents}/MacOS/talkingpose-studio"].content
    icns = items[f"{contents}/Resources/talkingpose-studio.icns"].content
    assert icns[:4] == b"icns" and int.from_bytes(icns[4:8], "big") == len(icns)


def test_windows_shims_call_the_venv_executables():
    items = launchers.windows_items(PurePosixPath("/p"), PurePosixPath("/p/venv"), {"APPDATA": "C:/Roaming"}, "C:/Users/ana", ICONS)
    cmd = next(item for item in items if str(item.path).endswith("studio-cli.cmd"))
    assert cmd.content.endswith('"/p/venv/Scripts/studio-cli.exe" %*\r\n')
    shortcut = next(item for item in items if str(item.path).endswith(".lnk"))
    assert shortcut.create is not None and str(shortcut.path).startswith("C:")


def test_icon_pngs_are_renders_of_the_svg_shapes():
    svg = (ICONS / "talkingpose-studio.svg").read_text()
    assert 'fill="#f0a040"' in svg and 'fill="#1f2029"' in svg
    for size in launchers.ICON_SIZES:
        image = Image.open(ICONS / f"talkingpose-studio-{size}.png").convert("RGBA")
        assert image.size == (size, size)
        at = lambda x, y: image.getpixel((round(x * size / 256), round(y * size / 256)))  # noqa: E731
        assert at(112, 88) == (0xF0, 0xA0, 0x40, 255)  # the head's centre
        assert at(112, 190) == (0xF0, 0xA0, 0x40, 255)  # the bust
        assert at(40, 40) == (0x1F, 0x20, 0x29, 255)  # the tile
        assert at(1, 1)[3] == 0  # outside the rounded tile
