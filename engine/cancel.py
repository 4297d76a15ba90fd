"""A thread-safe cancel token checked by long-running engine loops between steps."""

from __future__ import annotations

import threading

from engine.errors import Cancelled


class CancelToken:
    """Set from any thread; engine loops call ``check()`` between steps and raise Cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


def check(token: "CancelToken | None") -> None:
    if token is not None:
        token.check()
