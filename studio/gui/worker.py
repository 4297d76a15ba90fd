"""The one place threads meet Qt: run an engine task on a thread, turn what it yields into signals.

A *task* is ``task(token, report)``: it may return a value, or be a generator yielding engine events
(``engine.events``) — like superqt's GeneratorWorker. ``token`` is an ``engine.cancel.CancelToken``;
``report(obj)`` emits ``obj`` as an event immediately (for engine APIs that take a progress
callback). Between yields the worker checks the token and throws ``engine.errors.Cancelled`` into
the generator, so engine cleanup runs and the cancel is never swallowed.

Signals (always delivered on the UI thread, in this order): ``event(obj)``* then exactly one of
``result(value)`` / ``error(message)`` / ``cancelled()``, then ``finished()``. Events still queued
when the user cancels are dropped, so a stale preview never overwrites a newer one.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from engine.cancel import CancelToken
from engine.errors import Cancelled, StudioError

Task = Callable[[CancelToken, Callable[[Any], None]], Any]

log = logging.getLogger(__name__)

# Workers still running, kept alive here so Python never collects one whose thread still emits.
_live_workers: set["Worker"] = set()

_RESULT, _ERROR, _CANCELLED = "result", "error", "cancelled"


def describe_error(error: BaseException) -> str:
    """One sentence for the window: the engine's own message, or a generic one for a bug."""
    if isinstance(error, StudioError):
        return str(error)
    if isinstance(error, MemoryError):
        return "ran out of memory; choose a smaller output size or close other programs"
    name = type(error).__name__
    detail = str(error).strip().splitlines()[0] if str(error).strip() else "no details"
    return f"unexpected error ({name}: {detail}); the details are in the log — please report it"


class Worker(QObject):
    """Runs one task on a daemon thread. Create, connect signals, ``start()``; ``cancel()`` any time."""

    event = Signal(object)
    result = Signal(object)
    error = Signal(str)
    cancelled = Signal()
    finished = Signal()

    # Emitted from the task thread; Qt queues them to this object's (UI) thread.
    _from_thread_event = Signal(object)
    _from_thread_end = Signal(str, object)

    def __init__(self, task: Task, name: str = "task", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self._task = task
        self._thread: threading.Thread | None = None
        self._running = False
        self.error_kind = ""
        self._from_thread_event.connect(self._deliver_event)
        self._from_thread_end.connect(self._deliver_end)

    @property
    def running(self) -> bool:
        """True from ``start()`` until ``finished`` has been emitted."""
        return self._running

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"worker {self.name!r} was already started")
        self._running = True
        _live_workers.add(self)
        self._thread = threading.Thread(target=self._run, name=f"studio-{self.name}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the task to stop; it ends with ``cancelled`` at its next check (events after this are dropped)."""
        self.token.cancel()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread (not for signal delivery); True when it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- task thread -------------------------------------------------------------------------
    def _report(self, item: Any) -> None:
        self._from_thread_event.emit(item)

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self.token.check()
            value = self._task(self.token, self._report)
            if inspect.isgenerator(value):
                value = self._drain(value)
            self.token.check()
            outcome = (_RESULT, value)
        except Cancelled:
            outcome = (_CANCELLED, None)
        except BaseException as error:  # everything reaches the window as a sentence, never a crash
            if not isinstance(error, StudioError):
                log.error("task %s failed:\n%s", self.name, traceback.format_exc())
            # the engine's error kind ("input", "model", ...): read on the UI thread after ``error``
            self.error_kind = getattr(error, "kind", "bug") if isinstance(error, StudioError) else "bug"
            outcome = (_ERROR, describe_error(error))
        log.debug("task %s ended (%s) after %.2f s", self.name, outcome[0], time.perf_counter() - started)
        self._from_thread_end.emit(*outcome)

    def _drain(self, generator) -> Any:
        try:
            item = next(generator)
            while True:
                self._report(item)
                if self.token.cancelled:
                    item = generator.throw(Cancelled())
                else:
                    item = next(generator)
        except StopIteration as stop:
            return stop.value
        finally:
            generator.close()

    # --- UI thread -----------------------------------------------------------------------------
    @Slot(object)
    def _deliver_event(self, item: Any) -> None:
        if not self.token.cancelled:
            self.event.emit(item)

    @Slot(str, object)
    def _deliver_end(self, kind: str, payload: Any) -> None:
        self._running = False
        if kind == _RESULT and self.token.cancelled:
            kind = _CANCELLED  # cancelled after the last check: the user asked, so report what they asked for
        if kind == _RESULT:
            self.result.emit(payload)
        elif kind == _ERROR:
            self.error.emit(payload)
        else:
            self.cancelled.emit()
        self.finished.emit()
        _live_workers.discard(self)


def live_workers() -> list[Worker]:
    """Workers started and not yet finished (for shutdown and tests)."""
    return list(_live_workers)


def shutdown_workers(timeout: float = 5.0) -> bool:
    """Cancel every running worker and wait up to ``timeout`` seconds in all; True when all ended."""
    workers = live_workers()
    for worker in workers:
        worker.cancel()
    deadline = time.monotonic() + timeout
    return all(worker.join(max(0.0, deadline - time.monotonic())) for worker in workers)


def start_worker(
    task: Task,
    name: str,
    parent: QObject | None = None,
    on_event: Callable[[Any], None] | None = None,
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
    on_finished: Callable[[], None] | None = None,
) -> Worker:
    """Create a worker, connect the given callbacks and start it."""
    worker = Worker(task, name, parent)
    for signal, slot in (
        (worker.event, on_event),
        (worker.result, on_result),
        (worker.error, on_error),
        (worker.cancelled, on_cancelled),
        (worker.finished, on_finished),
    ):
        if slot is not None:
            signal.connect(slot)
    worker.start()
    return worker
