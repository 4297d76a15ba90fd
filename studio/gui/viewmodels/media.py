"""The two inputs: the source portrait and the driving video (metadata, poses, thumbnails).

Everything slow (decoding, pose detection, pose extraction, thumbnails) runs in workers; the
models only hold the results and say ``changed``. Failures become ``error(sentence)`` and leave
the previous input in place, so a bad file never leaves the studio half-loaded.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.errors import InputError
from studio.gui.viewmodels.backend import IMAGE_SUFFIXES, Backend, DrivingInfo, SourceInfo
from studio.gui.worker import Worker, start_worker

THUMBNAIL_COUNT = 12
THUMBNAIL_HEIGHT = 54


def shrink(image: np.ndarray, height: int) -> np.ndarray:
    """Nearest-neighbour downscale to ``height`` rows (thumbnails only; keeps the aspect ratio)."""
    rows, cols = image.shape[:2]
    if rows <= height:
        return image
    width = max(1, round(cols * height / rows))
    ys = (np.arange(height) * rows / height).astype(int)
    xs = (np.arange(width) * cols / width).astype(int)
    return np.ascontiguousarray(image[ys][:, xs])


def with_known_pose(info: SourceInfo) -> SourceInfo:
    """The bundled puppet sample is invisible to the person detector but its pose is known
    (engine.sample_pose): use it rather than claim "no person" for the sample made for the demo."""
    if info.has_person:
        return info
    from engine.preview import known_source_pose

    pose = known_source_pose(info.path, info.image)
    if pose is None:
        return info
    return replace(info, has_person=True, has_face=bool((np.asarray(pose.face)[:, 2] > 0).any()), pose=pose)


def check_driving(info: DrivingInfo) -> DrivingInfo:
    """Refuse what probes as a picture: a still image would replace the video as a 1-frame "video"."""
    name = Path(info.path).name
    if Path(info.path).suffix.lower() in IMAGE_SUFFIXES or info.frames < 2:
        raise InputError(f"{name} is a still image, not a video; choose a driving video (MP4, MOV, WebM) "
                         "or a pose file (.npz)")
    return info


class SourceModel(QObject):
    """The portrait to animate. ``info`` is a SourceInfo once loaded; ``warning`` when no person/face."""

    changed = Signal()
    loaded = Signal(str, str)  # new path, previous path ("" when none): only after the file was read
    error = Signal(str)

    def __init__(self, backend: Backend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.info: SourceInfo | None = None
        self.loading = False
        self.pose_backend = "auto"  # the Pose detector setting (StudioModel keeps it in step)
        self.loaded_with = ""  # the pose_backend the current info's person was found with
        self._worker: Worker | None = None

    @property
    def path(self) -> str:
        return self.info.path if self.info else ""

    @property
    def warning(self) -> str:
        return self.info.warning if self.info else ""

    def load(self, path: str | Path) -> Worker:
        if self._worker is not None:
            self._worker.cancel()
        self.loading = True
        self.changed.emit()
        path, pose_backend = Path(path), self.pose_backend
        self._worker = start_worker(
            lambda token, report: (with_known_pose(self._backend.load_source(path, pose_backend)), pose_backend),
            "load-source", on_result=self._loaded, on_error=self._failed, on_finished=self._finished,
        )
        return self._worker

    def _loaded(self, item: tuple[SourceInfo, str]) -> None:
        previous = self.path
        self.info, self.loaded_with = item
        self.loaded.emit(self.info.path, previous)

    def _failed(self, message: str) -> None:
        self.error.emit(message)

    def _finished(self) -> None:
        if self._worker is not None and not self._worker.running:
            self.loading = False
            self.changed.emit()


POSE_MADE_BY = {"mediapipe": "found by MediaPipe", "dwpose": "found by DWPose", "sample": "shipped with the sample"}
POSE_POLL_S = 0.1  # how often the analysis' progress is read (it runs on its own thread)


class DrivingModel(QObject):
    """The driving video: ``info`` (metadata) first, then poses and ``thumbnails`` in the background.

    The analysis streams (engine.preview.open_preview): ``pose_handle`` is set as soon as it starts,
    and the overlay of frame i shows once frame i is analysed; ``poses`` is set when it has finished.
    """

    changed = Signal()
    loaded = Signal(str, str)  # new path, previous path: info is set; poses and thumbnails are on their way
    poses_opened = Signal()  # pose_handle is set: analysed frames can be overlaid
    poses_progress = Signal(int, int)  # frames done, total
    poses_ready = Signal()
    thumbnails_changed = Signal()
    error = Signal(str)

    def __init__(self, backend: Backend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.info: DrivingInfo | None = None
        self.pose_handle: Any = None  # the streamed analysis, for overlays while it runs
        self.poses: Any = None  # the same handle, once the analysis has finished
        self.pose_backend = "auto"  # the Pose detector setting (StudioModel keeps it in step)
        self.analysed_with = ""  # the pose_backend of the running or finished analysis
        self.pose_progress = (0, 0)
        self._pose_clock: tuple[float, int] | None = None  # (time, frames done) when extraction started
        self.extracting = False
        self.loading = False
        self.pose_error = ""
        self.thumbnails: dict[int, np.ndarray] = {}
        self.thumbnail_indices: list[int] = []
        self._workers: dict[str, Worker] = {}

    @property
    def path(self) -> str:
        return self.info.path if self.info else ""

    @property
    def thumbnails_complete(self) -> bool:
        return len(self.thumbnails) == len(self.thumbnail_indices)

    @property
    def pose_backend_used(self) -> str:
        """Which detector made the poses ("mediapipe", "dwpose", "sample"; "" before the analysis opened)."""
        return self._backend.pose_backend_of(self.pose_handle) if self.pose_handle is not None else ""

    def load(self, path: str | Path) -> Worker:
        """Probe the video; on success start pose extraction and thumbnails (both cancel the old ones)."""
        path = Path(path)
        self._cancel("probe")
        self.loading = True
        self.changed.emit()
        worker = start_worker(
            lambda token, report: check_driving(self._backend.probe_driving(path)), "probe-driving",
            on_result=self._probed, on_error=self._probe_failed,
        )
        self._workers["probe"] = worker
        return worker

    def reanalyse(self) -> None:
        """Analyse the current video again (the Pose detector setting changed)."""
        if self.info is not None:
            self._start_poses(Path(self.info.path))
            self.changed.emit()

    def cancel_extraction(self) -> None:
        """Stop analysing the driving video (a render analyses it again when it starts)."""
        if "poses" in self._workers:
            self._cancel("poses")
            self.extracting, self.pose_error = False, "pose extraction was cancelled"
            self.changed.emit()

    def _cancel(self, key: str) -> None:
        worker = self._workers.pop(key, None)
        if worker is not None:
            worker.cancel()

    def _probe_failed(self, message: str) -> None:
        self.loading = False
        self.changed.emit()
        self.error.emit(message)

    @property
    def pose_speed(self) -> float:
        """Frames analysed per second so far (0 before the first measurement)."""
        if self._pose_clock is None:
            return 0.0
        started, first = self._pose_clock
        elapsed = time.monotonic() - started
        return (self.pose_progress[0] - first) / elapsed if elapsed > 0.2 else 0.0

    @property
    def pose_eta(self) -> float | None:
        done, total = self.pose_progress
        speed = self.pose_speed
        return (total - done) / speed if speed > 0 and total > done else None

    def _probed(self, info: DrivingInfo) -> None:
        self._cancel("thumbs")
        previous = self.path
        self.info, self.thumbnails = info, {}
        self.loading = False
        self._start_poses(Path(info.path))
        self.loaded.emit(info.path, previous)
        self.changed.emit()
        self.thumbnails_changed.emit()
        self._start_thumbnails(info)

    def _start_poses(self, path: Path) -> None:
        self._cancel("poses")
        self.pose_handle, self.poses = None, None  # the old worker closes its own handle
        self.extracting, self.pose_error = True, ""
        self.pose_progress = (0, self.info.frames if self.info else 0)
        self._pose_clock = None
        backend, pose_backend = self._backend, self.pose_backend
        self.analysed_with = pose_backend

        def analyse(token, report):
            handle = backend.open_poses(path, pose_backend)
            report(("opened", handle))
            try:
                while True:
                    done, total, finished = backend.poses_progress(handle)
                    report(("progress", (done, total)))
                    if finished:
                        return handle
                    token.check()
                    time.sleep(POSE_POLL_S)
            except BaseException:
                backend.close_poses(handle)  # finished chunks stay cached for the render
                raise

        worker = start_worker(analyse, "analyse-poses")
        worker.event.connect(lambda item, w=worker: self._pose_event(w, item))
        worker.result.connect(lambda handle, w=worker: self._poses_done(w, handle))
        worker.error.connect(lambda message, w=worker: self._poses_failed(w, message))
        worker.cancelled.connect(lambda w=worker: self._poses_failed(w, ""))
        self._workers["poses"] = worker

    def _start_thumbnails(self, info: DrivingInfo) -> None:
        """A fixed number of evenly spaced frames, each read by seeking: an hour-long video costs no more."""
        path = Path(info.path)
        indices = sorted({round(i * (info.frames - 1) / max(1, THUMBNAIL_COUNT - 1)) for i in range(THUMBNAIL_COUNT)}) \
            if info.frames > 0 else []
        self.thumbnail_indices = indices

        def thumbnails(token, report):
            for index in indices:
                token.check()
                report((index, shrink(self._backend.read_frame(path, index), THUMBNAIL_HEIGHT)))

        thumbs_worker = start_worker(thumbnails, "thumbnails", on_event=self._thumbnail)
        thumbs_worker.error.connect(lambda message: None)  # thumbnails are decoration; the probe reported real problems
        self._workers["thumbs"] = thumbs_worker

    def _is_current(self, worker: Worker, key: str) -> bool:
        return self._workers.get(key) is worker

    def _pose_event(self, worker: Worker, item: tuple[str, Any]) -> None:
        if not self._is_current(worker, "poses"):
            return
        kind, value = item
        if kind == "opened":
            self.pose_handle = value
            self.changed.emit()
            self.poses_opened.emit()
            return
        if self._pose_clock is None:
            self._pose_clock = (time.monotonic(), value[0])
        self.pose_progress = value
        self.poses_progress.emit(*value)

    def _poses_done(self, worker: Worker, handle: Any) -> None:
        if not self._is_current(worker, "poses"):
            self._backend.close_poses(handle)
            return
        self.pose_handle = self.poses = handle
        self.extracting = False
        done = self.pose_progress[0]
        self.pose_progress = (done, done)
        self.changed.emit()
        self.poses_ready.emit()

    def _poses_failed(self, worker: Worker, message: str) -> None:
        if not self._is_current(worker, "poses"):
            return
        self.extracting = False
        self.pose_error = message or "pose extraction was cancelled"
        self.changed.emit()
        if message:
            self.error.emit(message)

    def _thumbnail(self, item: tuple[int, np.ndarray]) -> None:
        index, image = item
        self.thumbnails[index] = image
        self.thumbnails_changed.emit()
