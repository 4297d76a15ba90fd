"""studio-cli: the headless front end. A thin layer over the engine; imports no Qt.

Exit codes: 0 done, 2 bad input or usage, 3 model/weights problem, 4 output/disk problem,
130 cancelled (Ctrl-C; frames already rendered are kept).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from studio.cli._common import EXIT_CODES


# The one place an error kind becomes an exit code (engine errors carry a kind, not a code).
EXIT_CODE_OF_KIND = {"input": 2, "model": 3, "output": 4, "cancelled": 130}


def exit_code_for(error: BaseException) -> int:
    """The exit code of an engine error: its kind looked up in EXIT_CODE_OF_KIND (1 if unknown)."""
    return EXIT_CODE_OF_KIND.get(getattr(error, "kind", ""), 1)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2 (argparse's default, kept) without the usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    import studio.cli as commands

    parser = _Parser(
        prog="studio-cli",
        description="TalkingPose Studio, headless: animate one portrait with the motion of a driving video.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module_info.name.endswith("_cmd"):
            importlib.import_module(f"studio.cli.{module_info.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from engine.errors import StudioError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StudioError as error:
        code = exit_code_for(error)
        _report(args, error, code)
        return code
    except KeyboardInterrupt:
        _report(args, "cancelled by the user", 130)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except MemoryError:
        _report(args, "ran out of memory; try a smaller --size or --dtype fp16 on a GPU", 4)
        return 4
    except OSError as error:
        code = 4
        _report(args, f"{error.strerror or error} ({getattr(error, 'filename', '') or 'output'})", code)
        return code


def _report(args, error, code: int) -> None:
    import json

    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if getattr(args, "json", False):
        print(json.dumps({"event": "error", "message": message, "exit_code": code}), flush=True)
    print(f"error: {message}", file=sys.stderr, flush=True)


def _version() -> str:
    from engine import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
