"""studio.gui.worker: engine generators on a thread, events as signals, cancel raised, errors as sentences."""

from __future__ import annotations

import threading
import time

from engine.errors import Cancelled, ModelError
from engine.events import Done, Progress
from studio.gui.worker import Worker, describe_error, live_workers


def run_and_record(qtbot, worker: Worker, timeout: int = 5000) -> list[tuple]:
    record: list[tuple] = []
    worker.event.connect(lambda e: record.append(("event", e)))
    worker.result.connect(lambda v: record.append(("result", v)))
    worker.error.connect(lambda m: record.append(("error", m)))
    worker.cancelled.connect(lambda: record.append(("cancelled",)))
    worker.finished.connect(lambda: record.append(("finished",)))
    with qtbot.waitSignal(worker.finished, timeout=timeout):
        worker.start()
    return record


def test_generator_events_arrive_in_order_then_result_then_finished(qtbot):
    def task(token, report):
        for step in range(1, 4):
            yield Progress(0, step, 3)
        yield Done(1)
        return "all done"

    record = run_and_record(qtbot, Worker(task))
    assert record == [
        ("event", Progress(0, 1, 3)), ("event", Progress(0, 2, 3)), ("event", Progress(0, 3, 3)),
        ("event", Done(1)), ("result", "all done"), ("finished",),
    ]


def test_signals_are_delivered_on_the_ui_thread(qtbot):
    ui_thread = threading.get_ident()
    seen: list[int] = []

    def task(token, report):
        yield threading.get_ident()

    worker = Worker(task)
    worker.event.connect(lambda task_thread: seen.extend([task_thread, threading.get_ident()]))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert seen[0] != ui_thread and seen[1] == ui_thread


def test_plain_function_with_report_callback(qtbot):
    def task(token, report):
        for done in (1, 2):
            report((done, 2))
        return 42

    record = run_and_record(qtbot, Worker(task))
    assert record == [("event", (1, 2)), ("event", (2, 2)), ("result", 42), ("finished",)]


def test_cancel_is_thrown_into_the_generator_and_reported(qtbot):
    seen_inside: list[str] = []
    first_event = threading.Event()

    def task(token, report):
        try:
            while True:
                yield Progress(0, 1, 1)
                first_event.set()
                time.sleep(0.005)
        except Cancelled:
            seen_inside.append("Cancelled")
            raise

    worker = Worker(task)
    record: list[str] = []
    worker.cancelled.connect(lambda: record.append("cancelled"))
    worker.result.connect(lambda v: record.append("result"))
    worker.finished.connect(lambda: record.append("finished"))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
        assert first_event.wait(5)
        worker.cancel()
    assert seen_inside == ["Cancelled"]
    assert record == ["cancelled", "finished"]
    assert worker not in live_workers()


def test_events_queued_before_cancel_are_dropped(qtbot):
    release = threading.Event()

    def task(token, report):
        for index in range(50):
            report(index)
        release.wait(5)
        return "late"

    worker = Worker(task)
    delivered: list[int] = []
    worker.event.connect(delivered.append)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.start()
        worker.cancel()  # before the UI thread had a chance to deliver any queued event
        release.set()
    assert delivered == []


def test_engine_error_becomes_its_sentence_and_bug_a_generic_one(qtbot):
    def missing_model(token, report):
        raise ModelError("model 'x' is not installed; pick demo")

    def bug(token, report):
        yield 1
        raise ValueError("bad shape (3, 4)\nsecond line")

    assert run_and_record(qtbot, Worker(missing_model))[-2:] == [("error", "model 'x' is not installed; pick demo"), ("finished",)]
    record = run_and_record(qtbot, Worker(bug))
    assert record[-2] == ("error", describe_error(ValueError("bad shape (3, 4)\nsecond line")))
    assert "ValueError: bad shape (3, 4)" in record[-2][1] and "\n" not in record[-2][1]


def test_qt_binding_keeps_reference_counts_when_emitting(qtbot):
    """PySide6 6.12.0 drops a reference to True on every Signal.emit (Python 3.11 aborts after a few
    thousand emits with "deallocating True"); requirements.lock pins a release without that bug."""
    import sys

    worker = Worker(lambda token, report: None)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for index in range(200):
        worker.event.emit(index)
    assert (sys.getrefcount(True), sys.getrefcount(None)) == before
