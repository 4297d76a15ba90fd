"""What every studio-cli command shares: output (progress bars, JSON event lines), Ctrl-C handling,
the user's config file. Input/output checks are the engine's (``engine.inputs``).

Top-level imports stay light (no torch, no av): commands that fail on bad input must fail in
about a second, and ``studio-cli --help`` must not load the engine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.errors import SettingsError

# OpenCV prints decoder warnings for damaged images; the user gets our one-line error instead.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

REPO = Path(__file__).resolve().parents[2]
APP_NAME = "talkingpose-studio"
CONFIG_ENV = "TALKINGPOSE_CONFIG_DIR"
# Keys a user may put in the [animate] table of config.toml (the same names as the flags).
CONFIG_KEYS = ("model", "beta", "steps", "cfg", "seed", "size", "device", "dtype", "preset", "smooth", "align", "audio",
               "pose_backend", "pose_model", "sampler", "compile")
_JSON_PROGRESS_INTERVAL = 0.25  # seconds between JSON lines for analysis/export progress
# What each error kind exits with (the mapping itself is studio.cli.main.EXIT_CODE_OF_KIND).
EXIT_CODES = """exit codes:
  0    done
  2    bad input or usage (missing/corrupt file, bad setting, unknown preset)
  3    model or weights problem (missing, corrupt, mismatched)
  4    output or disk problem (not writable, disk full, work dir in use)
  130  cancelled (Ctrl-C); frames already rendered are kept, resume with 'studio-cli resume WORK_DIR'
"""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, but the exit-code table in an epilog keeps its lines."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("exit codes:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def exit_codes_epilog() -> str:
    return EXIT_CODES


def add_output_mode_options(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``--quiet``: what :func:`command_session` reads to make the command's Reporter."""
    parser.add_argument("--json", action="store_true", help="print one JSON event per line on stdout (see docs/cli.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or notes; errors only")


# -- output ------------------------------------------------------------------------------------
class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


class Reporter:
    """Human text on stderr (bars, notes), JSON event lines on stdout with ``--json``.

    ``job`` (batch) is added to every JSON event so a script can tell the jobs apart.
    """

    def __init__(self, json_mode: bool = False, quiet: bool = False, job: int | None = None):
        self.json_mode = json_mode
        self.quiet = quiet
        self.job = job
        self._last_emit: dict[str, float] = {}

    def for_job(self, job: int) -> "Reporter":
        return Reporter(self.json_mode, self.quiet, job)

    def emit(self, event: str, **fields: Any) -> None:
        """One JSON line on stdout (only with ``--json``)."""
        if not self.json_mode:
            return
        record = {"event": event, **({"job": self.job} if self.job is not None else {}), **fields}
        sys.stdout.write(json.dumps(record, default=str) + "\n")
        sys.stdout.flush()

    def emit_throttled(self, event: str, done: int, total: int, **fields: Any) -> None:
        """Like :meth:`emit` for frequent progress: at most every 0.25 s, and always the last one."""
        now = time.monotonic()
        if done < total and now - self._last_emit.get(event, 0.0) < _JSON_PROGRESS_INTERVAL:
            return
        self._last_emit[event] = now
        self.emit(event, done=done, total=total, **fields)

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def warning(self, text: str) -> None:
        self.emit("message", level="warning", text=text)
        print(f"warning: {text}", file=sys.stderr, flush=True)

    def result(self, text: str) -> None:
        """The line a human wants at the end (stdout); JSON mode has the done event instead."""
        if not self.json_mode and not self.quiet:
            print(text, flush=True)

    def bar(self, total: int, desc: str, unit: str = "frame", initial: int = 0):
        """A tqdm bar on stderr with count, s/frame and ETA; none with --quiet, or --json off a terminal."""
        if self.quiet or (self.json_mode and not sys.stderr.isatty()):
            return _NoBar()
        from tqdm import tqdm

        prefix = f"job {self.job}: " if self.job is not None else ""
        # In a log file (farm jobs) a line every few seconds is plenty.
        interval = 0.1 if sys.stderr.isatty() else 5.0
        return tqdm(total=total, initial=initial, desc=prefix + desc, unit=unit, file=sys.stderr,
                    dynamic_ncols=True, leave=True, smoothing=0.1, mininterval=interval)


@contextlib.contextmanager
def reported_progress(reporter: Reporter, event: str, desc: str, unit: str = "frame",
                      fields: dict[str, Any] | None = None) -> Iterator[Callable[[int, int], None]]:
    """An ``on_progress(done, total)`` for engine calls inside the block: a bar plus throttled JSON
    events (with ``fields`` added to each); the bar is closed when the block ends, however it ends."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def on_progress(done: int, total: int) -> None:
        if state["bar"] is None and state["done"] == 0 and done >= total:
            state["done"] = done  # a cache hit: finished before it started, nothing to show
            if fields:  # ... but the JSON still says which extractor made the poses
                reporter.emit(event, done=done, total=total, **fields)
            return
        if state["bar"] is None:
            state["bar"] = reporter.bar(total, desc, unit)
        bar = state["bar"]
        if getattr(bar, "total", None) is not None and total > bar.total:
            bar.total = total
        bar.update(done - state["done"])
        state["done"] = done
        reporter.emit_throttled(event, done, total, **(fields or {}))

    try:
        yield on_progress
    finally:
        if state["bar"] is not None:
            state["bar"].close()


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[None]:
    """Hide what native libraries write straight to file descriptor 2 (MediaPipe's TensorFlow Lite
    and absl lines) while Python's own stderr (bars, errors) still reaches the user.

    Set TALKINGPOSE_DEBUG=1 to see those lines."""
    if os.environ.get("TALKINGPOSE_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no real stderr (embedded, pytest capture)
        yield
        return
    python_stderr = sys.stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(python_stderr, "encoding", None) or "utf-8",
                           errors="backslashreplace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def driving_analysis_progress(reporter: Reporter, pose: dict[str, Any] | None = None) -> Iterator[Callable[[int, int], None]]:
    """Progress of finding a driving video's keypoints, with MediaPipe's native log lines hidden.

    ``pose`` (``pose_backend_choice``'s dict) goes into every ``analysis`` JSON event.
    The bar closes before stderr is restored: it writes to the stderr it was made with."""
    with native_logs_silenced(), reported_progress(reporter, "analysis", "analysing driving video", fields=pose) as on_progress:
        yield on_progress


def add_pose_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--pose-backend`` and ``--pose-model``: which extractor finds a driving video's keypoints."""
    parser.add_argument("--pose-backend", metavar="NAME", help="auto, mediapipe or dwpose: the keypoint extractor "
                        "(default auto: dwpose when its model files are installed, else mediapipe)")
    parser.add_argument("--pose-model", type=Path, metavar="DIR",
                        help="folder holding the DWPose files yolox_l.onnx and dw-ll_ucoco_384.onnx (default: the model library's)")


def pose_backend_choice(reporter: Reporter, backend: str | None, model_dir: Path | None) -> dict[str, Any]:
    """Resolve the pose backend before any analysis (bad choices fail now), say which one runs,
    and return ``{"pose_backend", "pose_provider"}`` for the JSON events."""
    from engine.preview import pose_backend_summary

    summary = pose_backend_summary(backend or "auto", model_dir)
    reporter.info(f"pose backend: {summary['pose_backend']} ({summary['pose_provider']})")
    return summary


def resume_command(work_dir: Path) -> str:
    return f"studio-cli resume {shlex.quote(str(work_dir))}"


# -- Ctrl-C ------------------------------------------------------------------------------------
@contextlib.contextmanager
def cancel_on_signals(reporter: Reporter) -> Iterator[Any]:
    """A CancelToken set by the first Ctrl-C (or SIGTERM from a scheduler): the engine stops after
    the current step and keeps its frames. A second Ctrl-C stops at once."""
    from engine.cancel import CancelToken

    token = CancelToken()

    def on_signal(signum, frame) -> None:
        if token.cancelled and signum == signal.SIGINT:
            raise KeyboardInterrupt
        token.cancel()
        if not reporter.quiet:
            print("\nstopping after the current step (Ctrl-C again to stop at once) ...", file=sys.stderr, flush=True)

    previous = {}
    for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, on_signal)
        except (ValueError, OSError):  # not the main thread, or a platform without it
            pass
    try:
        yield token
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def command_session(args: argparse.Namespace) -> Iterator[tuple[Reporter, Any]]:
    """One command run: its Reporter (from ``--json``/``--quiet``) and a CancelToken that Ctrl-C sets."""
    reporter = Reporter(args.json, args.quiet)
    with cancel_on_signals(reporter) as cancel:
        yield reporter, cancel


# -- user config -------------------------------------------------------------------------------
def config_path() -> Path:
    """``config.toml`` in the user config dir (``$TALKINGPOSE_CONFIG_DIR`` overrides the dir)."""
    folder = os.environ.get(CONFIG_ENV)
    if not folder:
        import platformdirs

        folder = platformdirs.user_config_dir(APP_NAME)
    return Path(folder) / "config.toml"


def load_animate_defaults(path: Path | None = None) -> dict[str, Any]:
    """The ``[animate]`` table of the user's config file (empty when there is no file), checked."""
    path = config_path() if path is None else path
    if not path.is_file():
        return {}
    from engine.textfiles import load_toml  # size and nesting capped: the file may be anything

    data = load_toml(path, what="the studio-cli config file", fix="fix or delete it",
                     error=lambda message: SettingsError("config", f"cannot be read: {message}"))
    table = data.get("animate", {})
    if not isinstance(table, dict):
        raise SettingsError("config", f"{path}: 'animate' must be a table ([animate]); fix the file")
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise SettingsError("config", f"{path}: [animate] has an unknown key {unknown[0]!r}; known keys: {', '.join(CONFIG_KEYS)}")
    for key in ("model", "size", "device", "dtype", "preset", "pose_backend", "pose_model"):
        if key in table and not isinstance(table[key], str):
            raise SettingsError("config", f"{path}: [animate] {key} must be text in quotes (got {table[key]!r})")
    for key in ("align", "audio"):
        if key in table and not isinstance(table[key], bool):
            raise SettingsError("config", f"{path}: [animate] {key} must be true or false (got {table[key]!r})")
    if "smooth" in table and (isinstance(table["smooth"], bool) or not isinstance(table["smooth"], (int, float))):
        raise SettingsError("config", f"{path}: [animate] smooth must be a number (got {table['smooth']!r})")
    return dict(table)
