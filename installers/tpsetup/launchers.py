"""Launchers per OS: shell shims and a desktop entry with icons (Linux), a small .app (macOS),
``.cmd`` shims and a Start-menu shortcut (Windows).

Each OS gives a list of :class:`Item` (a path and what goes there) so the dry run prints the
same paths the install writes.
"""

from __future__ import annotations

import plistlib
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath
from typing import Callable

from .machine import APP_NAME, APP_TITLE, InstallError, xdg_data_home
from .manifest import Manifest, marker_comment

ICON_SIZES = (48, 128, 256)
COMMANDS = ("studio", "studio-cli")


@dataclass(frozen=True)
class Item:
    path: PurePath
    what: str  # for the plan
    content: str | bytes | None = None
    executable: bool = False
    tree: bool = False  # a folder removed whole on uninstall (the .app)
    create: Callable[[Path], None] | None = None  # for files made by another program (.lnk)


def venv_command(system: str, venv: PurePath, name: str) -> PurePath:
    return venv / "Scripts" / f"{name}.exe" if system == "Windows" else venv / "bin" / name


def sh_shim(target: PurePath) -> str:
    return f"#!/bin/sh\n{marker_comment()}\nexec {shlex.quote(str(target))} \"$@\"\n"


def desktop_exec_quote(path: str) -> str:
    """Quote ``path`` as one Exec argument (Desktop Entry spec: quoting, then string escapes)."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if not reserved.intersection(path):
        return path
    inner = "".join("\\" + char if char in '"`$\\' else char for char in path)
    return '"' + inner.replace("\\", "\\\\") + '"'


def desktop_entry(studio: PurePath) -> str:
    """The ``.desktop`` file: opens the app, or the images/videos a file manager hands it."""
    return "\n".join([
        "[Desktop Entry]",
        marker_comment(),
        "Type=Application",
        "Version=1.4",
        f"Name={APP_TITLE}",
        "GenericName=Portrait Animator",
        "Comment=Animate a portrait with the face, hand and body motion of a driving video",
        f"Exec={desktop_exec_quote(str(studio))} %F",
        f"TryExec={studio}",
        f"Icon={APP_NAME}",
        "Terminal=false",
        "Categories=AudioVideo;Video;AudioVideoEditing;",
        "MimeType=image/png;image/jpeg;image/webp;video/mp4;video/quicktime;video/webm;video/x-matroska;",
        "Keywords=animation;portrait;pose;talking head;video;",
        "StartupNotify=true",
        "",
    ])


def linux_items(prefix: PurePath, venv: PurePath, env: dict[str, str], home: str, icons: Path) -> list[Item]:
    items = []
    for name in COMMANDS:
        target = venv_command("Linux", venv, name)
        items.append(Item(prefix / "bin" / name, f"shim for {name}", sh_shim(target), executable=True))
        items.append(Item(PurePath(home, ".local", "bin", name), f"shim for {name} on your PATH", sh_shim(target), executable=True))
    share = xdg_data_home(env, home)
    items.append(Item(share / "applications" / f"{APP_NAME}.desktop", "desktop entry", desktop_entry(venv_command("Linux", venv, "studio"))))
    hicolor = share / "icons" / "hicolor"
    items.append(Item(hicolor / "scalable" / "apps" / f"{APP_NAME}.svg", "icon (SVG)", _read(icons / f"{APP_NAME}.svg")))
    for size in ICON_SIZES:
        items.append(Item(hicolor / f"{size}x{size}" / "apps" / f"{APP_NAME}.png", f"icon ({size} px)",
                          _read(icons / f"{APP_NAME}-{size}.png")))
    return items


def info_plist(executable: str) -> str:
    return plistlib.dumps({
        "CFBundleName": APP_TITLE, "CFBundleDisplayName": APP_TITLE,
        "CFBundleIdentifier": "org.talkingpose.studio", "CFBundleVersion": "0.1.0",
        "CFBundleShortVersionString": "0.1.0", "CFBundlePackageType": "APPL",
        "CFBundleExecutable": executable, "CFBundleIconFile": APP_NAME,
        "LSMinimumSystemVersion": "11.0", "NSHighResolutionCapable": True,
        # An XML comment cannot hold the marker ("--uninstall"); a key of our own can.
        "TalkingPoseInstaller": marker_comment(""),
    }).decode()


def macos_items(prefix: PurePath, venv: PurePath, home: str, icons: Path) -> list[Item]:
    app = PurePath(home, "Applications", f"{APP_TITLE}.app")
    contents = app / "Contents"
    script = f"#!/bin/sh\n{marker_comment()}\nexec {shlex.quote(str(venv / 'bin' / 'studio'))} \"$@\"\n"
    items = [Item(app, "app wrapper (removed whole on uninstall)", tree=True)]
    items.append(Item(contents / "Info.plist", "app wrapper: Info.plist", info_plist(APP_NAME)))
    items.append(Item(contents / "MacOS" / APP_NAME, "app wrapper: launcher script", script, executable=True))
    items.append(Item(contents / "Resources" / f"{APP_NAME}.icns", "app wrapper: icon", _read(icons / f"{APP_NAME}.icns")))
    for name in COMMANDS:
        target = venv / "bin" / name
        items.append(Item(prefix / "bin" / name, f"shim for {name}", sh_shim(target), executable=True))
    return items


def windows_items(prefix: PurePath, venv: PurePath, env: dict[str, str], home: str, icons: Path) -> list[Item]:
    items = []
    for name in COMMANDS:
        target = venv_command("Windows", venv, name)
        text = f"@echo off\r\nrem {marker_comment('')}\r\n\"{target}\" %*\r\n"
        items.append(Item(prefix / "bin" / f"{name}.cmd", f"shim for {name}", text))
    items.append(Item(prefix / f"{APP_NAME}.ico", "shortcut icon", _read(icons / f"{APP_NAME}.ico")))
    programs = PureWindowsPath(env.get("APPDATA") or PureWindowsPath(home, "AppData", "Roaming"),
                               "Microsoft", "Windows", "Start Menu", "Programs")
    studio = venv_command("Windows", venv, "studio")
    shortcut = programs / f"{APP_TITLE}.lnk"
    items.append(Item(shortcut, "Start-menu shortcut",
                      create=lambda path: make_shortcut(path, studio, prefix / f"{APP_NAME}.ico")))
    return items


def make_shortcut(path: Path, target: PurePath, icon: PurePath) -> None:
    """A Start-menu ``.lnk`` through WScript.Shell (Windows has no other stdlib route)."""
    def ps(text: object) -> str:
        return "'" + str(text).replace("'", "''") + "'"
    script = (f"$s = (New-Object -ComObject WScript.Shell).CreateShortcut({ps(path)}); "
              f"$s.TargetPath = {ps(target)}; $s.IconLocation = {ps(icon)}; "
              f"$s.WorkingDirectory = {ps(PureWindowsPath(target).parent)}; $s.Description = {ps(APP_TITLE)}; $s.Save()")
    result = subprocess.run(["powershell", "-NoProfile", "-NonInteractive", "-Command", script], capture_output=True, text=True)
    if result.returncode != 0:
        raise InstallError(f"PowerShell could not create the Start-menu shortcut {path}: {result.stderr.strip()[:200]}")


def items_for(system: str, prefix: PurePath, venv: PurePath, env: dict[str, str], home: str, icons: Path) -> list[Item]:
    if system == "Windows":
        return windows_items(prefix, venv, env, home, icons)
    if system == "Darwin":
        return macos_items(prefix, venv, home, icons)
    return linux_items(prefix, venv, env, home, icons)


def create(items: list[Item], manifest: Manifest) -> None:
    """Write every item, recording it in ``manifest``."""
    for item in items:
        path = Path(item.path)
        if item.tree:
            manifest.make_dirs(path)
            manifest.add_tree(path)
        elif item.create is not None:
            manifest.make_dirs(path.parent)
            item.create(path)
            manifest.add_file(path)
        else:
            manifest.write_file(path, item.content, item.executable)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise InstallError(f"{path} is missing from this copy of the studio; download the installer again")
    return path.read_bytes()
