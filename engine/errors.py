"""Errors a user can cause. Each carries one sentence saying what happened and how to fix it.

Every class has a ``kind`` ("input", "model", "output", "cancelled"); the messages are worded
for any front end (no command-line flags). The CLI maps kinds to exit codes in one place
(``studio.cli.main``); the GUI shows ``str(error)`` with its own wording around it.
"""

from __future__ import annotations

INPUT, MODEL, OUTPUT, CANCELLED = "input", "model", "output", "cancelled"
KINDS = (INPUT, MODEL, OUTPUT, CANCELLED)


class StudioError(Exception):
    """Base class: a problem the user can fix. ``str(e)`` is the one-line message."""

    kind = INPUT


class InputError(StudioError):
    """Bad input file, bad setting, or bad usage."""

    kind = INPUT


class SettingsError(InputError):
    """A setting has a bad value; the message names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class ModelError(StudioError):
    """Weights missing, corrupt or mismatched."""

    kind = MODEL


class OutputError(StudioError):
    """Output folder not writable, disk full, work folder busy, or similar."""

    kind = OUTPUT


class Cancelled(StudioError):
    """The user cancelled; everything finished before the cancel is kept."""

    kind = CANCELLED

    def __init__(self, message: str = "cancelled by the user"):
        super().__init__(message)
