"""``install.py``: install, upgrade or uninstall TalkingPose Studio for the current user.

The work is planned first (machine, torch build, prefix, files to create) and every check that
can fail (Python version, wheelhouse contents, writable prefix, free disk) runs before anything
is created. Errors a user can fix end as one sentence and exit code 1.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import launchers, machine, packages
from .machine import APP_TITLE, NEEDED_BYTES, InstallError
from .manifest import MANIFEST_NAME, Manifest, uninstall

REPO = Path(__file__).resolve().parents[2]
INSTALLER = Path(__file__).resolve().parents[1]  # the folder holding install.py


@dataclass
class Context:
    """Everything the installer reads from the outside world; tests replace parts of it."""

    system: str = field(default_factory=platform.system)
    arch: str = field(default_factory=platform.machine)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    home: str = field(default_factory=lambda: str(Path.home()))
    python_version: tuple[int, int] = tuple(sys.version_info[:2])
    repo: Path = REPO
    backend: object | None = None  # packages.Backend or a test double
    find_library: Callable[[str], str | None] = ctypes.util.find_library
    disk_usage: Callable = shutil.disk_usage
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty())

    @property
    def path(self) -> str | None:
        return self.env.get("PATH")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="install.py", description=f"Install, upgrade or remove {APP_TITLE} for this user.")
    parser.add_argument("--prefix", type=Path, help="where the app and its Python environment go (default: your user data folder)")
    parser.add_argument("--torch", choices=("cpu", "cuda", "mps"), help="force a torch build instead of detecting one")
    parser.add_argument("--torch-index", metavar="URL", help="index to take torch from; 'default' means the same index as the other packages")
    parser.add_argument("--wheels", type=Path, metavar="DIR", help="install offline from a wheelhouse made by --make-wheelhouse")
    parser.add_argument("--make-wheelhouse", type=Path, metavar="DIR", help="download every pinned package and build the studio's wheel into DIR, then stop")
    parser.add_argument("--uninstall", action="store_true", help="remove what the install created (the model library stays)")
    parser.add_argument("--purge", action="store_true", help="with --uninstall: remove the model library too")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="ask no questions")
    args = parser.parse_args(argv)
    if args.purge and not args.uninstall:
        parser.error("--purge only goes with --uninstall")
    if args.wheels and args.make_wheelhouse:
        parser.error("--wheels and --make-wheelhouse do not go together")
    return args


def main(argv: list[str] | None = None, context: Context | None = None) -> int:
    ctx = context or Context()
    try:
        args = parse_args(argv)
        machine.check_python(ctx.python_version)
        if args.make_wheelhouse:
            return make_wheelhouse(args, ctx)
        chosen = args.prefix or _installed_prefix(args) or machine.default_prefix(ctx.system, ctx.env, ctx.home)
        prefix = Path(os.path.abspath(os.path.expanduser(str(chosen))))
        return remove(args, ctx, prefix) if args.uninstall else install(args, ctx, prefix)
    except InstallError as error:
        print(f"install.py: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("install.py: interrupted; run it again to finish (it resumes in place)", file=sys.stderr)
        return 130


def _installed_prefix(args: argparse.Namespace) -> Path | None:
    """The install this copy of the installer belongs to (PREFIX/installer/install.py), for --uninstall."""
    prefix = INSTALLER.parent
    return prefix if args.uninstall and (prefix / MANIFEST_NAME).is_file() else None


def copy_installer(manifest: Manifest) -> None:
    """Keep a copy of the installer in the prefix: the downloaded folder may be gone at uninstall time."""
    manifest.add_tree(manifest.prefix / "installer")  # whole: running it leaves __pycache__ behind
    for path in [INSTALLER / "install.py", *sorted((INSTALLER / "tpsetup").glob("*.py"))]:
        manifest.write_file(manifest.prefix / "installer" / path.relative_to(INSTALLER), path.read_bytes())


def _backend(ctx: Context):
    return ctx.backend or packages.Backend.detect(ctx.path)


def _torch(args: argparse.Namespace, ctx: Context) -> machine.TorchChoice:
    found = machine.detect(ctx.system, ctx.arch, ctx.path)
    gpus = ", ".join(found.gpus) or "none"
    print(f"Detected: {ctx.system} {ctx.arch}; NVIDIA GPUs: {gpus} ({'; '.join(found.notes)})")
    choice = machine.choose_torch(found, args.torch, args.torch_index)
    print(f"Chose:    {choice.kind} torch ({choice.reason}) from {choice.index_url or 'the default package index'}; "
          f"ONNX Runtime: {choice.onnxruntime}")
    return choice


def install(args: argparse.Namespace, ctx: Context, prefix: Path) -> int:
    torch = _torch(args, ctx)
    pins = packages.read_pins(ctx.repo / "requirements.lock")
    requirements = packages.pins_for(pins, torch)
    torch_pin = packages.torch_pin(pins)
    # 1. every check that can fail, before anything is created
    if args.wheels:
        missing = packages.missing_from_wheelhouse(args.wheels, [torch_pin, *requirements])
        if missing:
            raise InstallError(f"the wheelhouse {args.wheels} lacks {len(missing)} pinned package(s) ({', '.join(missing[:5])}"
                               f"{', ...' if len(missing) > 5 else ''}); rebuild it with install.py --make-wheelhouse")
    machine.check_writable(str(prefix))
    machine.check_disk(str(prefix), NEEDED_BYTES[torch.kind], ctx.disk_usage)
    venv = prefix / "venv"
    items = launchers.items_for(ctx.system, prefix, venv, ctx.env, ctx.home, ctx.repo / "resources" / "icons")
    # 2. the plan
    backend = _backend(ctx)
    source = f"the wheelhouse {args.wheels} (offline)" if args.wheels else "the package index"
    upgrade = (prefix / MANIFEST_NAME).is_file()
    print(f"\nPlan ({'upgrade in place' if upgrade else 'new install'}; {backend.tool} installs packages from {source}):")
    print(f"  - Python environment: {venv}")
    print(f"  - torch {torch_pin.split('==')[1]} ({torch.kind}), then {len(requirements)} pinned packages from requirements.lock")
    print(f"  - the studio itself ({packages.PROJECT} wheel)")
    for item in items:
        print(f"  - {item.what}: {item.path}")
    print(f"  - this installer, for --uninstall: {prefix / 'installer' / 'install.py'}")
    print(f"  - record of what was created: {prefix / MANIFEST_NAME}")
    if ctx.system == "Linux":
        report_xcb(ctx)
    if args.dry_run:
        print("\nDry run: nothing was changed.")
        return 0
    if not _confirm(args, ctx, f"Install {APP_TITLE} into {prefix}?"):
        print("Nothing was changed.")
        return 1
    # 3. the work; the manifest is saved after each step so a failed run can still be uninstalled
    manifest = Manifest.load(prefix) or Manifest(prefix)
    manifest.make_dirs(prefix)
    manifest.info.update(torch=torch.kind, python=".".join(map(str, ctx.python_version)))
    manifest.add_tree(venv)
    manifest.save()
    backend.create_venv(venv)
    install_packages(args, ctx, backend, venv, torch, torch_pin, requirements, manifest)
    launchers.create(items, manifest)
    copy_installer(manifest)
    manifest.save()
    print(f"\n{APP_TITLE} is installed. Start it from your applications menu, or open {items[0].path}")
    windows = ctx.system == "Windows"
    print(f"Command line: {prefix / 'bin' / ('studio-cli.cmd' if windows else 'studio-cli')} demo")
    print(f"Uninstall:    {'py -3.11' if windows else 'python3.11'} {prefix / 'installer' / 'install.py'} --uninstall")
    local_bin = str(Path(ctx.home) / ".local" / "bin")
    if ctx.system == "Linux" and local_bin not in (ctx.path or "").split(os.pathsep):
        print(f"Note: {local_bin} is not on your PATH; add it to run 'studio' and 'studio-cli' by name.")
    return 0


def install_packages(args, ctx, backend, venv, torch, torch_pin, requirements, manifest) -> None:
    offline = ["--no-index", "--find-links", str(args.wheels)] if args.wheels else []
    index = ["--index-url", torch.index_url] if torch.index_url and not args.wheels else []
    print(f"\nInstalling torch ({torch.kind}) ...", flush=True)
    backend.install(venv, [*offline, *index, torch_pin])
    lock = manifest.prefix / "requirements.txt"
    manifest.write_file(lock, "\n".join(requirements) + "\n")
    manifest.save()
    print("Installing the pinned packages ...", flush=True)
    backend.install(venv, [*offline, "-r", str(lock)])
    print(f"Installing {APP_TITLE} ...", flush=True)
    if args.wheels:
        backend.install(venv, [*offline, "--no-deps", "--force-reinstall", packages.PROJECT])
        return
    with tempfile.TemporaryDirectory(prefix="talkingpose-wheel-") as folder:
        backend.build_wheel(ctx.repo, Path(folder))
        wheels = sorted(Path(folder).glob("*.whl"))
        if not wheels:
            raise InstallError(f"building the studio's wheel from {ctx.repo} produced no wheel; its messages are above")
        backend.install(venv, ["--no-deps", "--force-reinstall", str(wheels[0])])


def report_xcb(ctx: Context) -> None:
    missing = machine.missing_xcb_libraries(ctx.find_library)
    if not missing:
        print("  - system libraries for the desktop app (Qt xcb): all present")
        return
    print(f"  ! the desktop app needs system libraries this machine lacks: {', '.join(entry[1] for entry in missing)}.")
    print(f"    Install them with:  {machine.xcb_install_command(missing, ctx.path)}")
    print("    (studio-cli works without them; the installer does not run sudo.)")


def remove(args: argparse.Namespace, ctx: Context, prefix: Path) -> int:
    manifest = Manifest.load(prefix)
    if manifest is None:
        raise InstallError(f"there is no install in {prefix} (no install-manifest.json); pass the --prefix you installed into")
    library = Path(machine.models_dir(ctx.system, ctx.env, ctx.home))
    purge = [library] if args.purge else []
    print(f"Uninstall plan for {prefix}:")
    for entry in [*manifest.trees, *manifest.files]:
        print(f"  - remove {entry}")
    print(f"  - remove the folders the install created, when empty ({len(manifest.dirs)})")
    print(f"  - {'remove' if args.purge else 'keep'} the model library {library}")
    if args.dry_run:
        print("\nDry run: nothing was changed.")
        return 0
    if not _confirm(args, ctx, f"Remove {APP_TITLE} from {prefix}?"):
        print("Nothing was changed.")
        return 1
    removed = uninstall(manifest, purge)
    if args.purge and prefix.is_dir() and not any(prefix.iterdir()):  # it held only the library
        prefix.rmdir()
    print(f"Removed {len(removed)} item(s).")
    if library.is_dir() and not args.purge:
        print(f"Kept your model library at {library} (remove it with --uninstall --purge).")
    return 0


def make_wheelhouse(args: argparse.Namespace, ctx: Context) -> int:
    dest = Path(os.path.abspath(args.make_wheelhouse))
    machine.check_writable(str(dest))
    torch = _torch(args, ctx)
    pins = packages.read_pins(ctx.repo / "requirements.lock")
    requirements, torch_pin = packages.pins_for(pins, torch), packages.torch_pin(pins)
    backend = _backend(ctx)
    if args.dry_run:
        print(f"Plan: download {torch_pin} and {len(requirements)} pinned packages into {dest}, build the studio's wheel there.")
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    index = ["--index-url", torch.index_url] if torch.index_url else []
    backend.download(dest, [*index, torch_pin])
    with tempfile.TemporaryDirectory(prefix="talkingpose-lock-") as folder:
        lock = Path(folder) / "requirements.txt"
        lock.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        backend.download(dest, ["-r", str(lock)])
    backend.build_wheel(ctx.repo, dest)
    missing = packages.missing_from_wheelhouse(dest, [torch_pin, *requirements])
    if missing:
        raise InstallError(f"the wheelhouse {dest} is incomplete ({', '.join(missing[:5])}); run the command again")
    print(f"Wheelhouse ready: {dest}. Install offline with: install.py --wheels {dest}")
    return 0


def _confirm(args: argparse.Namespace, ctx: Context, question: str) -> bool:
    if args.yes:
        return True
    if not ctx.interactive:  # a script that forgot --yes must not change a home folder unasked
        raise InstallError("cannot ask for confirmation without a terminal; pass --yes to go ahead (or --dry-run to see the plan)")
    try:
        answer = input(f"{question} [Y/n] ").strip().lower()
    except EOFError:
        return False
    return answer in ("", "y", "yes")
