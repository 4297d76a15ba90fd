"""The preview area: the driving frame under the playhead (pose overlay optional) beside a generated frame.

Driving frames are read latest-wins: while one read runs, only the newest requested index waits,
so scrubbing never queues hundreds of decodes. The live preview re-renders after settings stop
changing for ``DEBOUNCE_MS`` and cancels the stale render first.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import InputError, StudioError
from engine.events import FrameReady, Message, Progress
from studio.gui.viewmodels.backend import Backend
from studio.gui.viewmodels.media import DrivingModel, SourceModel
from studio.gui.viewmodels.settings import SettingsModel
from studio.gui.viewmodels.timeline import TimelineModel
from studio.gui.worker import Worker, start_worker

DEBOUNCE_MS = 400
STRIP_FRAMES = 3  # the steadiness preview: one frame alone cannot show how a frame leans on the last
PLACEHOLDER = "Press “Preview frame” to render the frame under the playhead."


class PreviewModel(QObject):
    changed = Signal()
    error = Signal(str)
    message = Signal(str, str)  # text, level
    preview_started = Signal(int)  # frame index
    succeeded = Signal()  # a preview rendered: problems reported before are gone

    def __init__(self, backend: Backend, source: SourceModel, driving: DrivingModel, timeline: TimelineModel,
                 settings: SettingsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend, self._source, self._driving = backend, source, driving
        self._timeline, self._settings = timeline, settings
        self.show_overlay = True
        self.driving_image: np.ndarray | None = None
        self.driving_index = -1
        self.generated_image: np.ndarray | None = None
        self.generated_caption = PLACEHOLDER
        self.preview_progress = (0, 0)
        self.live = False
        self._raw_frame: tuple[str, int, np.ndarray] | None = None
        self._frame_worker: Worker | None = None
        self._pending_index: int | None = None
        self._awaiting_pose: int | None = None  # the shown frame's index while its pose is not analysed yet
        self._preview_worker: Worker | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.request_preview)
        timeline.playhead_changed.connect(self.request_driving_frame)
        driving.poses_ready.connect(self._refresh_driving_frame)
        driving.poses_opened.connect(self._refresh_driving_frame)
        driving.poses_progress.connect(self._pose_analysed)
        settings.changed.connect(self._setting_changed)

    @property
    def previewing(self) -> bool:
        return self._preview_worker is not None and self._preview_worker.running

    # --- driving frame -------------------------------------------------------------------------
    def set_overlay(self, on: bool) -> None:
        if on != self.show_overlay:
            self.show_overlay = on
            self.changed.emit()
            self._refresh_driving_frame()

    def _pose_analysed(self, done: int, total: int) -> None:
        """The analysis has reached the shown frame: draw its pose now (it streams; see DrivingModel)."""
        if self._awaiting_pose is not None and done > self._awaiting_pose and self.show_overlay:
            self._awaiting_pose = None
            self._refresh_driving_frame()

    def _refresh_driving_frame(self) -> None:
        if self._driving.info is not None:
            self.request_driving_frame(self._timeline.playhead)

    def request_driving_frame(self, index: int) -> None:
        if self._driving.info is None:
            return
        if self._frame_worker is not None and self._frame_worker.running:
            self._pending_index = index
            return
        self._pending_index = None
        path, poses, overlay = self._driving.path, self._driving.pose_handle, self.show_overlay
        cached = self._raw_frame

        def read(token, report):
            if cached is not None and cached[:2] == (path, index):
                raw = cached[2]
            else:
                raw = self._backend.read_frame(Path(path), index)
            drawn = self._backend.overlay(raw, poses, index) if overlay and poses is not None else None
            return path, index, raw, drawn

        self._frame_worker = start_worker(read, "driving-frame", on_result=self._frame_read,
                                          on_error=self.error.emit, on_finished=self._frame_finished)

    def _frame_read(self, item: tuple[str, int, np.ndarray, np.ndarray]) -> None:
        path, index, raw, drawn = item
        if path != self._driving.path:
            return
        self._raw_frame = (path, index, raw)
        self._awaiting_pose = index if drawn is None and self._driving.extracting else None
        self.driving_image, self.driving_index = (raw if drawn is None else drawn), index
        self.changed.emit()

    def _frame_finished(self) -> None:
        if self._pending_index is not None:
            self.request_driving_frame(self._pending_index)

    # --- generated frame ------------------------------------------------------------------------
    def _setting_changed(self, name: str) -> None:
        if self.live:
            self._debounce.start()  # restarts: only the last change of a burst renders

    def request_preview(self) -> Worker | None:
        """Render the frame under the playhead with the current settings; cancels a running preview."""
        self._debounce.stop()
        try:
            if not self._source.info:
                raise InputError("choose a source image first (File ▸ Open source or drop an image on the left)")
            if not self._driving.info:
                raise InputError("choose a driving video first (File ▸ Open driving video or drop a video)")
            settings = self._settings.render_settings()
        except StudioError as error:
            self.error.emit(str(error))
            return None
        self.cancel_preview()
        self.live = True
        index = self._timeline.playhead
        source, driving = Path(self._source.path), Path(self._driving.path)
        model, align, smooth, pose_backend = (self._settings.get(name) for name in ("model", "align", "smooth", "pose_backend"))
        self.preview_progress = (0, settings.steps)
        self.generated_caption = f"Rendering preview of frame {index + 1}…"
        self.changed.emit()
        self.preview_started.emit(index)

        def render(token, report):
            return self._backend.preview_frame(source, driving, index, settings, model, align, smooth, token,
                                               pose_backend=pose_backend)

        worker = start_worker(render, "preview", on_event=lambda event: self._preview_event(index, event))
        worker.error.connect(lambda message, w=worker: self._preview_failed(w, message))
        worker.finished.connect(lambda w=worker: self._preview_finished(w))
        self._preview_worker = worker
        return worker

    def cancel_preview(self) -> None:
        if self._preview_worker is not None:
            self._preview_worker.cancel()
            self._preview_worker = None
            self.changed.emit()

    def stop_live(self) -> None:
        self.live = False
        self._debounce.stop()
        self.cancel_preview()

    def _preview_event(self, index: int, event: Any) -> None:
        if isinstance(event, Progress):
            self.preview_progress = (event.step, event.total_steps)
            self.changed.emit()
        elif isinstance(event, FrameReady):
            self.show_frame(event.image, f"Preview of frame {index + 1} ({event.seconds:.1f} s)")
            self.succeeded.emit()
        elif isinstance(event, Message):
            self.message.emit(event.text, event.level)

    def _preview_failed(self, worker: Worker, message: str) -> None:
        if worker is self._preview_worker:
            self.generated_caption = "Preview failed; see the message above."
            self.live = False  # don't re-render a broken setup on every change
            self.changed.emit()
            self.error.emit(message)

    def _preview_finished(self, worker: Worker) -> None:
        if worker is self._preview_worker:
            self._preview_worker = None
            self.changed.emit()

    def clear_generated(self) -> None:
        """The inputs changed: the generated frame no longer belongs to them."""
        self.stop_live()
        self.generated_image, self.generated_caption = None, PLACEHOLDER
        self.changed.emit()

    def request_strip(self, work_root: Path) -> Worker | None:
        """Render STRIP_FRAMES consecutive frames from the playhead as a tiny job under ``work_root``
        and show them side by side, so the steadiness setting can be judged by eye."""
        try:
            if not self._source.info or not self._driving.info:
                raise InputError("choose a source image and a driving video first")
            settings = self._settings.render_settings()
        except StudioError as error:
            self.error.emit(str(error))
            return None
        self.cancel_preview()
        start = max(0, min(self._timeline.playhead, self._driving.info.frames - STRIP_FRAMES))
        end = min(start + STRIP_FRAMES, self._driving.info.frames)
        source, driving = Path(self._source.path), Path(self._driving.path)
        model, align, smooth, pose_backend = (self._settings.get(name) for name in ("model", "align", "smooth", "pose_backend"))
        work_dir = Path(work_root) / f"strip-{time.strftime('%Y%m%d-%H%M%S')}-{id(self) % 10000}"
        self.preview_progress = (0, settings.steps * (end - start))
        self.generated_caption = f"Rendering frames {start + 1}–{end} at steadiness {settings.beta:.2f}…"
        self.changed.emit()

        def render(token, report):
            job = self._backend.create_job(work_dir, source, driving, settings, model, start, end, align, smooth,
                                           pose_backend=pose_backend)
            frames = []
            try:
                self._backend.prepare_job(job, token, lambda done, total: None)
                for event in self._backend.run_job(job, token):
                    if isinstance(event, FrameReady):
                        frames.append(event.image)
                    report(event)
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)  # a look, not a render to keep
            return np.concatenate(frames, axis=1) if frames else None

        def shown(strip: np.ndarray | None) -> None:
            if strip is not None:
                self.show_frame(strip, f"Frames {start + 1}–{end} in a row at steadiness {settings.beta:.2f}: "
                                       "higher keeps them alike, lower lets each follow its own pose")
                self.succeeded.emit()

        worker = start_worker(render, "strip-preview", on_event=lambda event: self._strip_event(event, settings.steps),
                              on_result=shown)
        worker.error.connect(lambda message, w=worker: self._preview_failed(w, message))
        worker.finished.connect(lambda w=worker: self._preview_finished(w))
        self._preview_worker = worker
        return worker

    def _strip_event(self, event: Any, steps: int) -> None:
        if isinstance(event, Progress):
            self.preview_progress = (event.frame * steps + event.step, self.preview_progress[1])
            self.changed.emit()

    def show_frame(self, image: np.ndarray, caption: str) -> None:
        """Show a generated frame (a preview result or a frame streamed from the render queue)."""
        self.generated_image, self.generated_caption = image, caption
        self.changed.emit()
