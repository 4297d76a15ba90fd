"""The render queue: jobs run one at a time, persist as JSON, and resume after a restart.

Each entry is the same job the CLI runs (engine.jobs.RenderJob) in its own work dir under the data
dir. The queue file is rewritten on every state change, so after a crash or restart every entry
is there; entries that were running come back as "interrupted" and ``resume`` continues them after
their last complete frame (the engine's resume).
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.config import RenderSettings
from engine.errors import INPUT, InputError, OutputError, StudioError
from engine.events import Done, FrameReady, Message, Progress
from engine.jobs import JobSpec
from studio.gui.project import data_dir, read_json, write_json_atomic
from studio.gui.viewmodels.backend import Backend
from studio.gui.worker import Worker, start_worker

QUEUE_VERSION = 1
QUEUED, RUNNING, DONE, CANCELLED, FAILED, INTERRUPTED = "queued", "running", "done", "cancelled", "failed", "interrupted"
RESUMABLE = (CANCELLED, FAILED, INTERRUPTED)


@dataclass
class JobCreated:
    """Studio-side event: the engine job exists in its work dir (resume must open, not create, it)."""

    job: Any


@dataclass
class JobOpened:
    """Studio-side event: the job's inputs are analysed; how far it already is (after a resume)."""

    frames_done: int
    frames_total: int


@dataclass
class PosesProgress:
    """Studio-side event: the job is analysing its driving video (frames done, total)."""

    done: int
    total: int


@dataclass
class JobEntry:
    """One queued render as the queue panel shows it and the queue file stores it."""

    id: str
    name: str
    source: str
    driving: str
    model: str
    settings: dict[str, Any]
    start: int
    end: int | None
    align: bool
    smooth: float
    work_dir: str
    state: str = QUEUED
    created: bool = False  # the engine job exists in work_dir (so resume opens it instead of creating)
    frames_done: int = 0
    frames_total: int = 0
    seconds_per_frame: float = 0.0
    message: str = ""
    exports: list[str] = field(default_factory=list)
    exporting: bool = False
    output: str = ""  # the file written when the render finishes ("" = keep the frames only)
    preset: str = ""
    audio: bool = True
    retry: bool = True  # False after an input error: resuming would only fail the same way
    pose_backend: str = "auto"  # the Pose detector setting; the job records what "auto" resolved to

    @classmethod
    def for_spec(cls, spec: JobSpec, **queue_fields: Any) -> "JobEntry":
        """The queue's view of an engine job: what it renders comes from ``spec`` (one definition,
        engine.jobs.JobSpec); ``queue_fields`` are the queue's own (id, name, work_dir, output, ...)."""
        return cls(source=spec.source, driving=spec.driving, model=spec.model, settings=spec.settings.to_dict(),
                   start=spec.start, end=spec.end, align=spec.align, smooth=spec.smooth,
                   pose_backend=spec.pose_backend, **queue_fields)

    @property
    def spec(self) -> JobSpec:
        """What the engine renders for this entry."""
        return JobSpec(self.source, self.driving, RenderSettings.from_dict(self.settings), self.model, self.start,
                       self.end, self.align, self.smooth, pose_backend=self.pose_backend)

    @property
    def current_frame(self) -> int:
        """The driving video's frame number (1-based, as the timeline shows it) rendered last."""
        return self.start + self.frames_done

    @property
    def range_text(self) -> str:
        return f"frames {self.start + 1}–{self.end if self.end else '…'}"

    @property
    def eta_seconds(self) -> float | None:
        if self.seconds_per_frame <= 0 or self.frames_total <= 0:
            return None
        return max(0, self.frames_total - self.frames_done) * self.seconds_per_frame

    @property
    def resumable(self) -> bool:
        return self.state in RESUMABLE and self.retry

    @property
    def fraction(self) -> float:
        return self.frames_done / self.frames_total if self.frames_total else 0.0


def queue_path() -> Path:
    return data_dir() / "queue.json"


class RenderQueueModel(QObject):
    """Signals: ``entries_changed`` (added/removed), ``entry_changed(id)``, ``frame_ready(id, FrameReady)``."""

    entries_changed = Signal()
    entry_changed = Signal(str)
    frame_ready = Signal(str, object)
    error = Signal(str)
    message = Signal(str, str)

    def __init__(self, backend: Backend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.entries: list[JobEntry] = []
        self._workers: dict[str, Worker] = {}
        self._jobs: dict[str, Any] = {}  # engine job objects by entry id (not persisted)
        self._frame_clock: dict[str, float] = {}
        self._load()

    # --- persistence -------------------------------------------------------------------------
    def _load(self) -> None:
        path = queue_path()
        if not path.exists():
            return
        try:
            data = read_json(path)
            known = {f.name for f in fields(JobEntry)}
            entries = [JobEntry(**{k: v for k, v in item.items() if k in known}) for item in data["entries"]]
        except (StudioError, KeyError, TypeError) as error:
            self.message.emit(f"the render queue file {path} could not be read ({error}); starting empty", "warning")
            return
        for entry in entries:
            entry.exporting = False
            if entry.state in (QUEUED, RUNNING):
                entry.state = INTERRUPTED
                entry.message = "stopped when the studio closed; press Resume to continue"
        self.entries = entries

    def save(self) -> None:
        write_json_atomic(queue_path(), {"version": QUEUE_VERSION, "entries": [asdict(e) for e in self.entries]})

    # --- queries -------------------------------------------------------------------------------
    def entry(self, entry_id: str) -> JobEntry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)

    @property
    def running_entry(self) -> JobEntry | None:
        return next((e for e in self.entries if e.state == RUNNING), None)

    # --- commands ------------------------------------------------------------------------------
    def add(self, source: str, driving: str, settings: RenderSettings, model: str, start: int,
            end: int | None, align: bool, smooth: float, output: str = "", preset: str = "",
            audio: bool = True, pose_backend: str = "auto") -> JobEntry:
        """Queue a render of frames ``[start, end)``; it starts when nothing else is running and,
        with ``output``, ends by writing that file with ``preset``."""
        if not source or not driving:
            raise InputError("choose a source image and a driving video before rendering")
        entry_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        total = (end - start) if end is not None else 0
        spec = JobSpec(str(source), str(driving), settings, model, start, end, align, smooth, pose_backend=pose_backend)
        entry = JobEntry.for_spec(
            spec, id=entry_id, name=f"{Path(source).stem} × {Path(driving).stem}",
            work_dir=str(data_dir() / "jobs" / entry_id), frames_total=max(0, total), output=output, preset=preset,
            audio=audio,
        )
        self.entries.append(entry)
        self.save()
        self.entries_changed.emit()
        self._start_next()
        return entry

    def cancel(self, entry_id: str) -> None:
        entry = self.entry(entry_id)
        if entry.state == QUEUED:
            self._set_state(entry, CANCELLED, "cancelled before it started")
        elif entry.state == RUNNING and entry_id in self._workers:
            self._workers[entry_id].cancel()

    def resume(self, entry_id: str) -> None:
        entry = self.entry(entry_id)
        if entry.resumable:
            self._set_state(entry, QUEUED, "")
            self._start_next()

    def remove(self, entry_id: str, delete_frames: bool = True) -> None:
        """Take the entry off the queue and (by default) delete its work folder with the rendered
        frames; written outputs are the user's files and stay."""
        entry = self.entry(entry_id)
        if entry.state == RUNNING or entry.exporting:
            raise InputError("cancel the render before removing it from the queue")
        work_dir = Path(entry.work_dir)
        if delete_frames and work_dir.parent == data_dir() / "jobs" and work_dir.is_dir():
            try:
                shutil.rmtree(work_dir)
            except OSError as error:
                raise OutputError(f"could not delete {work_dir} ({error.strerror or error}); "
                                  "close programs using it and try again") from None
        self.entries.remove(entry)
        self._jobs.pop(entry_id, None)
        self.save()
        self.entries_changed.emit()

    def output_file(self, entry_id: str) -> Path | None:
        """The last file written for the entry, when it exists."""
        entry = self.entry(entry_id)
        written = [Path(path) for path in entry.exports if Path(path).exists()]
        return written[-1] if written else None

    def output_folder(self, entry_id: str) -> Path:
        written = self.output_file(entry_id)
        return written.parent if written is not None else Path(self.entry(entry_id).work_dir)

    def export(self, entry_id: str, out: Path, preset: str, audio: bool) -> Worker:
        """Export the entry's frames (works during and after rendering) to ``out`` with ``preset``."""
        entry = self.entry(entry_id)
        if not entry.created:
            raise InputError(f"“{entry.name}” has no frames yet; start or resume the render first")
        entry.exporting = True
        self.entry_changed.emit(entry_id)
        work_dir, known_job = Path(entry.work_dir), self._jobs.get(entry_id)

        def export(token, report):
            job = known_job if known_job is not None else self._backend.open_job(work_dir)
            return self._backend.export_job(job, Path(out), preset, audio, token)

        worker = start_worker(export, "export")
        worker.result.connect(lambda path: self._exported(entry, path))
        worker.error.connect(lambda message: self._export_failed(entry, message))
        worker.finished.connect(lambda: self._export_finished(entry))
        return worker

    def shutdown(self) -> None:
        """Cancel running work (the app is closing); entries stay resumable."""
        for worker in list(self._workers.values()):
            worker.cancel()

    # --- running -------------------------------------------------------------------------------
    def _set_state(self, entry: JobEntry, state: str, message: str) -> None:
        entry.state, entry.message = state, message
        self.save()
        self.entry_changed.emit(entry.id)

    def _start_next(self) -> None:
        if self.running_entry is not None:
            return
        entry = next((e for e in self.entries if e.state == QUEUED), None)
        if entry is None:
            return
        self._set_state(entry, RUNNING, "starting…")
        self._frame_clock[entry.id] = time.perf_counter()
        backend, known_job = self._backend, self._jobs.get(entry.id)
        settings = RenderSettings.from_dict(entry.settings)
        # job.json (docs/architecture.md, "The work dir") also marks a job whose JobCreated event was
        # dropped by a cancel in flight.
        created = entry.created or (Path(entry.work_dir) / "job.json").exists()
        plan = (created, Path(entry.work_dir), entry.source, entry.driving, entry.model, entry.start,
                entry.end, entry.align, entry.smooth, entry.pose_backend)

        def run(token, report):
            created, work_dir, source, driving, model, start, end, align, smooth, pose_backend = plan
            if known_job is not None:
                job = known_job
            elif created:
                job = backend.open_job(work_dir)
            else:
                job = backend.create_job(work_dir, Path(source), Path(driving), settings, model, start, end, align, smooth,
                                         pose_backend=pose_backend)
            report(JobCreated(job))
            backend.prepare_job(job, token, lambda done, total: report(PosesProgress(done, total)))
            report(JobOpened(int(job.frames_done), int(job.frames_total)))
            token.check()
            yield from backend.run_job(job, token)

        worker = start_worker(run, f"render-{entry.id}", on_event=lambda event: self._job_event(entry, event))
        worker.result.connect(lambda _: self._rendered(entry))
        worker.error.connect(lambda message, w=worker: self._failed(entry, message, w.error_kind))
        worker.cancelled.connect(lambda: self._set_state(entry, CANCELLED, "cancelled; press Resume to continue"))
        worker.finished.connect(lambda: self._finished(entry))
        self._workers[entry.id] = worker

    def _job_event(self, entry: JobEntry, event: Any) -> None:
        if isinstance(event, JobCreated):
            self._jobs[entry.id] = event.job
            entry.created = True
            self.save()
        elif isinstance(event, JobOpened):
            entry.frames_done, entry.frames_total = event.frames_done, event.frames_total
            entry.message = f"rendering from frame {entry.current_frame + 1}"
            self.save()
        elif isinstance(event, FrameReady):
            now = time.perf_counter()
            seconds = event.seconds or (now - self._frame_clock.get(entry.id, now))
            self._frame_clock[entry.id] = now
            # An exponential average follows speed changes (warm-up, thermal) without jumping per frame.
            entry.seconds_per_frame = seconds if entry.seconds_per_frame <= 0 else 0.7 * entry.seconds_per_frame + 0.3 * seconds
            entry.frames_done = min(entry.frames_done + 1, entry.frames_total or entry.frames_done + 1)
            entry.message = f"rendered frame {entry.current_frame}"
            self.save()
            self.frame_ready.emit(entry.id, event)
        elif isinstance(event, PosesProgress):
            entry.message = f"analysing the driving video: frame {event.done} of {event.total}"
        elif isinstance(event, Progress):
            entry.message = f"frame {entry.current_frame + 1}: step {event.step}/{event.total_steps}"
        elif isinstance(event, Message):
            self.message.emit(event.text, event.level)
            return
        elif isinstance(event, Done):
            entry.frames_done = entry.frames_total or entry.frames_done
        self.entry_changed.emit(entry.id)

    def _failed(self, entry: JobEntry, message: str, kind: str = "") -> None:
        entry.retry = kind != INPUT
        self._set_state(entry, FAILED, message)
        self.error.emit(message)

    def _rendered(self, entry: JobEntry) -> None:
        if not entry.output:
            self._set_state(entry, DONE, "finished")
            return
        self._set_state(entry, DONE, f"finished; writing {Path(entry.output).name}…")
        worker = self.export(entry.id, Path(entry.output), entry.preset or "web", entry.audio)
        worker.result.connect(lambda path: self._set_state(entry, DONE, f"written to {path}"))

    def _finished(self, entry: JobEntry) -> None:
        self._workers.pop(entry.id, None)
        self._start_next()

    def _exported(self, entry: JobEntry, path: Path) -> None:
        entry.exports.append(str(path))
        self.message.emit(f"exported {Path(path).name} to {Path(path).parent}", "info")

    def _export_failed(self, entry: JobEntry, message: str) -> None:
        entry.message = f"the frames are kept, but writing the file failed: {message}"
        self.error.emit(message)

    def _export_finished(self, entry: JobEntry) -> None:
        entry.exporting = False
        self.save()
        self.entry_changed.emit(entry.id)
