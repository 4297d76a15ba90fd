"""Errors a user can cause. Each carries one sentence saying what happened and how to fix it.

The CLI maps each class to an exit code; the GUI shows ``str(error)`` in the window.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class: a problem the user can fix. ``str(e)`` is the one-line message."""

    exit_code = 1


class InputError(StudioError):
    """Bad input file, bad setting, or bad usage (exit code 2)."""

    exit_code = 2


class SettingsError(InputError):
    """A setting has a bad value; the message names the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class ModelError(StudioError):
    """Weights missing, corrupt or mismatched (exit code 3)."""

    exit_code = 3


class OutputError(StudioError):
    """Output directory not writable, disk full, or similar (exit code 4)."""

    exit_code = 4


class Cancelled(StudioError):
    """The user cancelled; everything finished before the cancel is kept (exit code 130)."""

    exit_code = 130

    def __init__(self, message: str = "cancelled by the user"):
        super().__init__(message)
