"""Writing a render's frames on a thread, so encoding and disk time overlap the next frame's denoising.

The render loop hands each finished frame to :class:`FrameWriter` and carries on; one writer
thread encodes and commits the frames in order through ``FrameStore.write`` (atomic: temp file,
then rename; the state before the frame). A frame counts as done only once it is on disk with its
state: ``completed()`` hands back the frames that are, in order, and a resume after a crash sees
exactly those. At most ``max_pending`` frames wait in memory; the render blocks beyond that, so a
slow disk slows the render instead of filling RAM. A write error (a full disk) stops the writer;
the render loop gets the same ``OutputError`` the store raises, at its next submit or flush, and
the frames before the failed one stay on disk. Closing (also on cancel) writes every frame
submitted so far before it returns.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Any

import numpy as np

from engine.video.frame_store import FrameStore

DEFAULT_MAX_PENDING = 4  # frames waiting for the disk: ~3 MB at 512x512; more only helps bursty disks
_STOP = object()


class FrameWriter:
    """Commits ``(index, image, state, tag)`` to ``store`` on one thread, in submit order."""

    def __init__(self, store: FrameStore, max_pending: int = DEFAULT_MAX_PENDING):
        if max_pending < 1:
            raise ValueError(f"max_pending must be 1 or more, got {max_pending}")
        self.store = store
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._done: deque = deque()  # tags of committed frames, in order
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="frame-writer", daemon=True)
        self._thread.start()

    def submit(self, index: int, image: np.ndarray, state=None, tag: Any = None) -> None:
        """Queue frame ``index``; blocks while ``max_pending`` frames wait. Raises the writer's error."""
        self._raise_error()
        if self._closed:
            raise RuntimeError("this FrameWriter is closed")
        while True:
            try:
                self._queue.put((index, image, state, tag), timeout=0.1)
                return
            except queue.Full:
                self._raise_error()  # a writer that died never drains the queue

    def completed(self) -> list:
        """Tags (or indices, when no tag was given) of the frames committed since the last call, in order."""
        done = []
        while self._done:
            done.append(self._done.popleft())
        return done

    def flush(self) -> None:
        """Wait until every submitted frame is on disk; raises the writer's error if one happened."""
        self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Write what was submitted, stop the thread and wait for it (idempotent; never raises)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    @property
    def error(self) -> BaseException | None:
        return self._error

    def __enter__(self) -> "FrameWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is not None:
                    continue  # after a failed frame nothing later may land: it would leave a gap
                index, image, state, tag = item
                try:
                    self.store.write(index, image, state)
                except BaseException as exc:  # noqa: BLE001 - handed to the render loop, never lost
                    self._error = exc
                else:
                    self._done.append(index if tag is None else tag)
            finally:
                self._queue.task_done()


def write_frame_events(events, store: FrameStore, max_pending: int = DEFAULT_MAX_PENDING):
    """Pass a render's engine events through, committing each ``FrameReady`` on a writer thread.

    Args:
        events: the render's events (``AnimationPipeline.render``).
        store: where the frames go.
        max_pending: frames that may wait for the disk before the render blocks.

    Yields:
        The same events, except that each ``FrameReady`` comes out once its frame is on disk with
        its state, so it may follow ``Progress`` events of the next frame. ``Done`` comes after every
        frame's ``FrameReady``. On cancel or any error, the frames generated so far are written first.
    """
    from engine.events import Done, FrameReady

    writer = FrameWriter(store, max_pending)
    try:
        for event in events:
            if isinstance(event, FrameReady):
                writer.submit(event.index, event.image, event.state, tag=event)
            else:
                if isinstance(event, Done):
                    writer.flush()
                    yield from writer.completed()
                yield event
            yield from writer.completed()
        writer.flush()
        yield from writer.completed()
    finally:
        writer.close()
