"""The whole studio as one observable model: inputs, timeline, settings, preview, queue, projects.

Widgets bind to the parts; every error from any part arrives on ``error(sentence)`` so the window
shows it in one place. Nothing here blocks: slow work happens in the parts' workers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.errors import InputError, StudioError
from engine.events import FrameReady
from studio.gui.project import Prefs, Project
from studio.gui.viewmodels.backend import IMAGE_SUFFIXES, Backend, EngineBackend
from studio.gui.viewmodels.media import DrivingModel, SourceModel
from studio.gui.viewmodels.preview import PreviewModel
from studio.gui.viewmodels.render_queue import JobEntry, RenderQueueModel
from studio.gui.viewmodels.settings import SettingsModel
from studio.gui.viewmodels.timeline import TimelineModel
from studio.gui.worker import Worker, start_worker


class StudioModel(QObject):
    error = Signal(str)
    status = Signal(str, str)  # text, level ("info" | "warning")
    project_changed = Signal()
    lists_changed = Signal()  # settings.models / presets were (re)read
    recent_changed = Signal()

    def __init__(self, backend: Backend | None = None, prefs: Prefs | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend = backend or EngineBackend()
        self.prefs = prefs if prefs is not None else Prefs.load()
        self.project_path: Path | None = None
        self.settings = SettingsModel(self)
        self.source = SourceModel(self.backend, self)
        self.driving = DrivingModel(self.backend, self)
        self.timeline = TimelineModel(self)
        self.preview = PreviewModel(self.backend, self.source, self.driving, self.timeline, self.settings, self)
        self.queue = RenderQueueModel(self.backend, self)
        self.preview.show_overlay = self.prefs.show_overlay
        self.last_error = ""
        self.presets: dict = {}
        self._pending_project: Project | None = None
        for part in (self.source, self.driving, self.preview, self.queue):
            part.error.connect(self._report_error)
        for part in (self.preview, self.queue):
            part.message.connect(self.status.emit)
        self.source.changed.connect(self._source_changed)
        self.driving.loaded.connect(self._driving_loaded)
        self.queue.frame_ready.connect(self._render_frame)
        self.driving.poses_ready.connect(
            lambda: self.status.emit(f"poses ready for {Path(self.driving.path).name}: scrub, preview or render", "info"))
        self.refresh_lists()

    def refresh_lists(self) -> Worker:
        """Re-read the model and preset lists in the background (the model library imports torch)."""
        return start_worker(lambda token, report: (self.backend.list_models(), self.backend.list_presets()),
                            "lists", on_result=self._lists_read, on_error=self._report_error)

    def _lists_read(self, lists: tuple[list[str], dict]) -> None:
        self.settings.models, self.presets = lists
        self.lists_changed.emit()

    # --- inputs ----------------------------------------------------------------------------------
    def open_source(self, path: str | Path) -> Worker:
        self._remember("sources", path)
        return self.source.load(path)

    def open_driving(self, path: str | Path) -> Worker:
        self._remember("drivings", path)
        return self.driving.load(path)

    def _remember(self, kind: str, path: str | Path) -> None:
        """Record a recent file now (not only at exit), so a crash does not lose the list."""
        self.prefs.add_recent(kind, path)
        self.prefs.last_dir = str(Path(path).parent)
        try:
            self.prefs.save()
        except StudioError:
            pass  # preferences are a convenience; the user's action goes on
        self.recent_changed.emit()

    def open_any(self, path: str | Path) -> Worker:
        """A dropped file: images become the source, anything else the driving video."""
        return self.open_source(path) if Path(path).suffix.lower() in IMAGE_SUFFIXES else self.open_driving(path)

    def _source_changed(self) -> None:
        if self.source.warning:
            self.status.emit(self.source.warning, "warning")

    def _driving_loaded(self) -> None:
        info = self.driving.info
        self.timeline.set_video(info.frames, info.fps)
        pending, self._pending_project = self._pending_project, None
        if pending is not None and Path(pending.driving) == Path(info.path):
            self.timeline.set_range(pending.range_in, pending.range_out)
            self.timeline.seek(pending.playhead)

    def _report_error(self, message: str) -> None:
        self.last_error = message
        self.error.emit(message)

    # --- render ----------------------------------------------------------------------------------
    def render(self) -> JobEntry | None:
        """Queue the in/out range with the current settings; errors are reported, not raised."""
        try:
            if not self.source.info or not self.driving.info:
                raise InputError("choose a source image and a driving video before rendering")
            settings = self.settings.render_settings()
            entry = self.queue.add(self.source.path, self.driving.path, settings, self.settings.get("model"),
                                   self.timeline.range_in, self.timeline.range_out + 1,
                                   self.settings.get("align"), self.settings.get("smooth"))
        except StudioError as error:
            self._report_error(str(error))
            return None
        self.status.emit(f"queued {entry.name} ({entry.frames_total} frames)", "info")
        return entry

    def export(self, entry_id: str, out: str | Path, preset: str, audio: bool) -> Worker | None:
        try:
            worker = self.queue.export(entry_id, Path(out), preset, audio)
        except StudioError as error:
            self._report_error(str(error))
            return None
        self.prefs.export_preset, self.prefs.export_audio = preset, audio
        return worker

    def _render_frame(self, entry_id: str, event: FrameReady) -> None:
        entry = self.queue.entry(entry_id)
        self.preview.show_frame(event.image, f"Render {entry.name}: frame {entry.frames_done} of {entry.frames_total}")

    # --- projects ----------------------------------------------------------------------------------
    def current_project(self) -> Project:
        values = self.settings.values()
        return Project(
            source=self.source.path, driving=self.driving.path, model=values["model"],
            settings={name: values[name] for name in ("beta", "steps", "cfg", "seed", "width", "height", "device")},
            align=values["align"], smooth=values["smooth"], range_in=self.timeline.range_in,
            range_out=self.timeline.range_out if self.timeline.frames else None, playhead=self.timeline.playhead,
        )

    def save_project(self, path: str | Path) -> bool:
        try:
            self.current_project().save(Path(path))
        except StudioError as error:
            self._report_error(str(error))
            return False
        self.project_path = Path(path)
        self._remember("projects", path)
        self.status.emit(f"saved project {Path(path).name}", "info")
        self.project_changed.emit()
        return True

    def open_project(self, path: str | Path) -> bool:
        try:
            project = Project.load(Path(path))
        except StudioError as error:
            self._report_error(str(error))
            return False
        self.apply_project(project)
        self.project_path = Path(path)
        self._remember("projects", path)
        self.project_changed.emit()
        return True

    def apply_project(self, project: Project) -> None:
        """Load a project's inputs (in the background) and settings; range/playhead apply once the video is probed."""
        self.settings.load(project.settings, model=project.model, align=project.align, smooth=project.smooth)
        if project.source:
            self.open_source(project.source)
        if project.driving:
            self._pending_project = project
            self.open_driving(project.driving)

    def restore_last_session(self) -> bool:
        """Reopen what was open when the studio last closed (inputs that still exist); True if anything."""
        try:
            project = Project(**self.prefs.last_project)
        except TypeError:
            return False
        project.source = project.source if project.source and Path(project.source).is_file() else ""
        project.driving = project.driving if project.driving and Path(project.driving).is_file() else ""
        if not (project.source or project.driving):
            return False
        self.apply_project(project)
        return True

    def save_prefs(self) -> None:
        self.prefs.show_overlay = self.preview.show_overlay
        self.prefs.last_project = vars(self.current_project())
        try:
            self.prefs.save()
        except StudioError as error:
            self._report_error(str(error))

    def shutdown(self) -> None:
        self.preview.stop_live()
        self.driving.cancel_extraction()
        self.queue.shutdown()
