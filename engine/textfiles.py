"""Reading JSON/TOML files and the paths they name, when the files may be hostile.

Every JSON and TOML file the studio reads comes from a user, a download or a model folder, so each
read is capped in size (checked before reading) and in nesting depth (checked by an iterative scan
before parsing: Python's parsers recurse once per level and die with RecursionError long before
memory runs out). Paths a file names (a model.json's ``files`` keys, a preset's or a batch file's
entries) go through :func:`inside`, which refuses anything that resolves outside the file's folder.
Text already in hand (a line of a .jsonl file) goes through :func:`parse_json` / :func:`parse_toml`.
Every problem is one sentence naming the file, raised as the error class the caller passes.
"""

from __future__ import annotations

import json
import re
import stat
import tomllib
from itertools import accumulate
from pathlib import Path
from typing import Any, Callable

from engine.errors import InputError, StudioError

MAX_TEXT_BYTES = 4 * 1024 * 1024  # far above any real config, model.json, preset or batch file
MAX_DEPTH = 64  # real files nest 4-5 levels; CPython's parsers fail near 1000
_JSON_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"')
# TOML: strings of all four kinds and comments, whichever starts first (brackets inside them do not nest)
_TOML_SKIPPED = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]++|\\.)*+"|\'[^\'\n]*+\'|#[^\n]*+')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_DOTTED_KEY = re.compile(r"[\w-]++(?:[ \t]*+\.[ \t]*+[\w-]++)++")  # tomllib takes quadratic time on long ones


def load_json(
    source: str | Path,
    *,
    what: str,
    max_bytes: int = MAX_TEXT_BYTES,
    max_depth: int = MAX_DEPTH,
    error: Callable[[str], StudioError] = InputError,
    fix: str = "fix or replace it",
) -> Any:
    """Parse the JSON file ``source`` safely.

    Args:
        source: the file's path.
        what: what the file is, for messages ("the model description", "the VAE config").
        max_bytes: larger files are refused before a byte is read.
        max_depth: more deeply nested arrays/objects are refused before parsing.
        error: the StudioError subclass to raise (InputError, ModelError), or a function making one from the message.
        fix: the end of every message: how the user gets a good file.

    Returns:
        The parsed value (any JSON type; callers check the type they need).
    """
    path = Path(source)
    return parse_json(_read_text(path, what, max_bytes, error, fix), origin=path, what=what, max_depth=max_depth,
                      error=error, fix=fix)


def parse_json(
    text: str,
    *,
    origin: str | Path,
    what: str,
    max_depth: int = MAX_DEPTH,
    error: Callable[[str], StudioError] = InputError,
    fix: str = "fix or replace it",
) -> Any:
    """Parse JSON text already in hand (a line of a .jsonl file, say) with the depth cap of :func:`load_json`.

    ``origin`` names where the text came from in messages ("jobs.jsonl line 3"); the caller caps its size.
    """
    _check_depth(_JSON_STRINGS.sub("", text), origin, what, max_depth, error, fix)
    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise error(f"{origin} ({what}) is not valid JSON ({problem.msg} at line {problem.lineno}, column {problem.colno}); {fix}") from None
    except (RecursionError, ValueError):  # last resort: the scan above should have caught deep nesting
        raise error(f"{origin} ({what}) could not be parsed as JSON; {fix}") from None


def load_toml(
    source: str | Path,
    *,
    what: str,
    max_bytes: int = MAX_TEXT_BYTES,
    max_depth: int = MAX_DEPTH,
    error: Callable[[str], StudioError] = InputError,
    fix: str = "fix or replace it",
) -> dict[str, Any]:
    """Parse the TOML file ``source`` safely; arguments as :func:`load_json`. Returns the top-level table."""
    path = Path(source)
    return parse_toml(_read_text(path, what, max_bytes, error, fix), origin=path, what=what, max_depth=max_depth,
                      error=error, fix=fix)


def parse_toml(
    text: str,
    *,
    origin: str | Path,
    what: str,
    max_depth: int = MAX_DEPTH,
    error: Callable[[str], StudioError] = InputError,
    fix: str = "fix or replace it",
) -> dict[str, Any]:
    """Parse TOML text already in hand with the depth caps of :func:`load_toml`; ``origin`` names it in messages."""
    plain = _TOML_SKIPPED.sub(lambda match: "" if match.group().startswith("#") else "_", text)
    _check_depth(plain, origin, what, max_depth, error, fix)
    if max((match.group().count(".") for match in _DOTTED_KEY.finditer(plain)), default=0) >= max_depth:
        raise error(f"{origin} ({what}) nests more than {max_depth} levels deep; {fix}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{origin} ({what}) is not valid TOML ({problem}); {fix}") from None
    except (RecursionError, ValueError):
        raise error(f"{origin} ({what}) could not be parsed as TOML; {fix}") from None
    # dotted keys (a.b.c...) nest without brackets, so measure the parsed tables too
    if _value_depth(data) > max_depth:
        raise error(f"{origin} ({what}) nests more than {max_depth} levels deep; {fix}")
    return data


def inside(folder: str | Path, relative: str, *, what: str, error: Callable[[str], StudioError] = InputError) -> Path:
    """``folder / relative``, refused unless it stays inside ``folder`` once symlinks are resolved.

    Args:
        folder: the folder the naming file lives in (a model folder, a preset or batch file's folder).
        relative: the path the file names; absolute paths, ``..`` parts and links leading out are refused.
        what: the naming file, for the message ("/models/x/model.json").
        error: the StudioError subclass to raise.

    Returns:
        The joined path (not resolved, so messages show what the user wrote).
    """
    text = str(relative)
    pure = Path(text)
    if not text or "\x00" in text or pure.is_absolute() or pure.drive or ".." in pure.parts or "\\" in text:
        raise error(f"{what} names {text!r}, which is not a plain path inside {folder}; refusing to touch files outside it")
    root = Path(folder).resolve()
    joined = Path(folder) / pure
    try:
        target = joined.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise error(f"{what} names {text!r}, whose links cannot be followed inside {folder}; remove the links") from None
    if target != root and root not in target.parents:
        raise error(f"{what} names {text!r}, which leads outside {folder} through a link; refusing to touch files outside it")
    return joined


def _read_text(path: Path, what: str, max_bytes: int, error: Callable[[str], StudioError], fix: str) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path} ({what}) is not a regular file; {fix}")
        if info.st_size > max_bytes:
            raise error(f"{path} ({what}) is {info.st_size:,} bytes, more than the {max_bytes:,} such a file may have; {fix}")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat
    except FileNotFoundError:
        raise error(f"{path} ({what}) does not exist; {fix}") from None
    except OSError as problem:
        raise error(f"{path} ({what}) could not be read ({problem.strerror or problem}); {fix}") from None
    if len(data) > max_bytes:
        raise error(f"{path} ({what}) is more than {max_bytes:,} bytes, the most such a file may have; {fix}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{path} ({what}) is not UTF-8 text; {fix}") from None


def _check_depth(text: str, path: str | Path, what: str, max_depth: int, error: Callable[[str], StudioError], fix: str) -> None:
    brackets = _NOT_BRACKETS.sub("", text)
    deepest = max(accumulate(1 if char in "[{" else -1 for char in brackets), default=0)
    if deepest > max_depth:
        raise error(f"{path} ({what}) nests more than {max_depth} levels deep; {fix}")


def _value_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:  # iterative: the value may be deeper than the recursion limit
        item, depth = stack.pop()
        if isinstance(item, dict):
            items = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in items)
    return deepest


