"""The whole studio as one observable model: inputs, timeline, settings, preview, queue, projects.

Widgets bind to the parts; every error from any part arrives on ``error(sentence)`` so the window
shows it in one place (worded for the window: see studio.gui.wording), and ``error_cleared`` when a
later success shows the problem is gone. Nothing here blocks: slow work happens in the parts' workers.
An input replaces the current one only after it loaded; only files that loaded enter the Recent lists.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.errors import InputError, StudioError
from engine.events import FrameReady
from engine.inputs import POSE_SUFFIXES
from engine.inputs import VIDEO_SUFFIXES as VIDEO_FILE_SUFFIXES
from studio.gui.project import Prefs, Project
from studio.gui.viewmodels.backend import IMAGE_SUFFIXES, Backend, EngineBackend
from studio.gui.viewmodels.history import History
from studio.gui.viewmodels.media import POSE_MADE_BY, DrivingModel, SourceModel
from studio.gui.viewmodels.models import ModelLibraryModel
from studio.gui.viewmodels.preview import PreviewModel
from studio.gui.viewmodels.render_queue import JobEntry, RenderQueueModel
from studio.gui.viewmodels.settings import SettingsModel
from studio.gui.viewmodels.timeline import TimelineModel
from studio.gui.wording import gui_wording
from studio.gui.worker import Worker, start_worker

DWPOSE_MISSING = ("DWPose's model files are not installed, so MediaPipe keeps finding the poses; run "
                  "`studio-cli models fetch dwpose` once, then choose DWPose again.")
VIDEO_SUFFIXES = VIDEO_FILE_SUFFIXES | POSE_SUFFIXES  # what may be dropped as the driving input
PROJECT_SUFFIXES = {".tpproj"}


class StudioModel(QObject):
    error = Signal(str)
    error_cleared = Signal()
    status = Signal(str, str)  # text, level ("info" | "warning")
    project_changed = Signal()
    dirty_changed = Signal(bool)
    lists_changed = Signal()  # settings.models / presets were (re)read
    recent_changed = Signal()

    def __init__(self, backend: Backend | None = None, prefs: Prefs | None = None, parent: QObject | None = None,
                 persist: bool = True, library: ModelLibraryModel | None = None) -> None:
        super().__init__(parent)
        self.backend = backend or EngineBackend()
        self.prefs = prefs if prefs is not None else Prefs.load()
        self.persist = persist  # False for `studio --screenshot`: never rewrite the user's Recent lists
        self.project_path: Path | None = None
        self.settings = SettingsModel(self)
        self.source = SourceModel(self.backend, self)
        self.driving = DrivingModel(self.backend, self)
        self.timeline = TimelineModel(self)
        self.preview = PreviewModel(self.backend, self.source, self.driving, self.timeline, self.settings, self)
        self.queue = RenderQueueModel(self.backend, self)
        self.library = library or ModelLibraryModel(lister=self.backend.list_model_cards, parent=self)
        self.history = History(self.settings, self.timeline, self._open_input, self)
        self.preview.show_overlay = self.prefs.show_overlay
        self.last_error = ""
        self.presets: dict = {}
        self._pending_project: Project | None = None
        self._pose_check: Worker | None = None  # checks a newly chosen Pose detector (DWPose's files)
        self._defaults_checked = False  # the first model list applies the model's defaults to a fresh start
        for part in (self.source, self.driving, self.preview, self.queue, self.library):
            part.error.connect(self._report_error)
        for part in (self.preview, self.queue, self.library):
            part.message.connect(self.status.emit)
        self.history.clean_changed.connect(lambda clean: self.dirty_changed.emit(not clean))
        self.source.changed.connect(self._source_changed)
        self.source.loaded.connect(lambda path, previous: self._input_loaded("source", path, previous))
        self.driving.loaded.connect(lambda path, previous: self._input_loaded("driving", path, previous))
        self.driving.loaded.connect(self._driving_loaded)
        self.preview.succeeded.connect(self.clear_error)
        self.queue.frame_ready.connect(self._render_frame)
        self.library.changed.connect(self._library_changed)
        self.driving.poses_ready.connect(
            lambda: self.status.emit(f"poses ready for {Path(self.driving.path).name} ({self.pose_detector_text()}): "
                                     "scrub, preview or render", "info"))
        self.settings.edited.connect(self._setting_edited)
        self.refresh_lists()

    @property
    def dirty(self) -> bool:
        return not self.history.stack.isClean()

    def refresh_lists(self) -> Worker:
        """Re-read the model and preset lists in the background (the model library imports torch)."""
        self.library.refresh()
        return start_worker(lambda token, report: (self.backend.list_models(), self.backend.list_presets()),
                            "lists", on_result=self._lists_read, on_error=self._report_error)

    def _lists_read(self, lists: tuple[list[str], dict]) -> None:
        self.settings.models, self.presets = lists
        self.lists_changed.emit()

    def _library_changed(self) -> None:
        names = [card.name for card in self.library.cards if not card.problem]
        if names:
            self.settings.models = list(dict.fromkeys(["demo", *names]))
            self.lists_changed.emit()
        self.settings.set_model_card(self.library.card_text(self.settings.get("model")))
        if not self._defaults_checked and self.library.cards:
            self._defaults_checked = True
            if self.settings.values() == SettingsModel().values():  # untouched factory settings: a fresh start
                with self.history.paused():
                    self._apply_model_defaults(self.settings.get("model"))

    def choose_model(self, name: str) -> None:
        """The user picked a model: its own defaults (size, steps, guidance, steadiness) and its card."""
        self.history.stack.beginMacro(f"choose the model {name}")
        try:
            self.settings.set(model=name)
            self._apply_model_defaults(name)
        finally:
            self.history.stack.endMacro()
        self.settings.set_model_card(self.library.card_text(name))

    def _apply_model_defaults(self, name: str) -> None:
        card = self.library.card(name)
        if card is not None:
            changes = {key: card.defaults[key] for key in ("steps", "cfg", "beta") if key in card.defaults}
            changes["width"], changes["height"] = card.resolution
            self.settings.set(**changes)

    # --- pose detector -----------------------------------------------------------------------------
    def pose_detector_text(self) -> str:
        """Which detector made the driving poses, in words ("" before the analysis opened)."""
        return POSE_MADE_BY.get(self.driving.pose_backend_used, "")

    def _setting_edited(self, name: str, old, new) -> None:
        if name != "pose_backend":
            return
        # Inputs opened from now on use the new choice at once; a missing DWPose puts the old one back.
        self.source.pose_backend = self.driving.pose_backend = new
        self._pose_check = start_worker(
            lambda token, report: self.backend.check_pose_backend(new), "pose-backend",
            on_result=lambda resolved: self._pose_backend_ok(new),
            on_error=lambda message: self._pose_backend_refused(new, old))

    def _pose_backend_ok(self, name: str) -> None:
        if self.settings.get("pose_backend") != name:
            return  # a later choice is being checked
        if self.driving.info is not None and self.driving.analysed_with != name:
            self.driving.reanalyse()
        if self.source.info is not None and self.source.loaded_with != name:
            self.source.load(self.source.path)

    def _pose_backend_refused(self, name: str, old: str) -> None:
        if self.settings.get("pose_backend") != name:
            return
        with self.history.paused():
            self.settings.set(pose_backend=old if old != name else "auto")
        # Worded here, not by gui_wording: the model manager does not fetch DWPose, the command line does.
        self.last_error = DWPOSE_MISSING
        self.error.emit(self.last_error)

    # --- inputs ----------------------------------------------------------------------------------
    def open_source(self, path: str | Path) -> Worker:
        return self.source.load(path)

    def open_driving(self, path: str | Path) -> Worker:
        return self.driving.load(path)

    def _open_input(self, kind: str, path: str) -> Worker:
        return self.open_source(path) if kind == "source" else self.open_driving(path)

    def _input_loaded(self, kind: str, path: str, previous: str) -> None:
        self._remember("sources" if kind == "source" else "drivings", path)
        self.history.input_loaded(kind, path, previous)
        if previous != path:
            self.preview.clear_generated()  # the old render belongs to the old inputs
        self.clear_error()

    def _remember(self, kind: str, path: str | Path) -> None:
        """Record a recent file now (not only at exit), so a crash does not lose the list."""
        if not self.persist:
            return
        self.prefs.add_recent(kind, path)
        self.prefs.last_dir = str(Path(path).parent)
        try:
            self.prefs.save()
        except StudioError:
            pass  # preferences are a convenience; the user's action goes on
        self.recent_changed.emit()

    @staticmethod
    def kind_of(path: str | Path) -> str:
        """"source", "driving" or "project" by file type (a dropped file goes where it belongs)."""
        suffix = Path(path).suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return "source"
        if suffix in PROJECT_SUFFIXES:
            return "project"
        return "driving"

    def open_any(self, path: str | Path):
        """A dropped or command-line file: images become the source, projects open, anything else drives."""
        kind = self.kind_of(path)
        if kind == "project":
            return self.open_project(path)
        return self._open_input(kind, str(path))

    def _source_changed(self) -> None:
        if self.source.warning:
            self.status.emit(self.source.warning, "warning")

    def _driving_loaded(self, path: str, previous: str) -> None:
        info = self.driving.info
        self.timeline.set_video(info.frames, info.fps)
        pending, self._pending_project = self._pending_project, None
        if pending is not None and Path(pending.driving) == Path(info.path):
            self.timeline.set_range(pending.range_in, pending.range_out)
            self.timeline.seek(pending.playhead)

    def _report_error(self, message: str) -> None:
        self.last_error = gui_wording(message)
        self.error.emit(self.last_error)

    def clear_error(self) -> None:
        """Something worked: the banner's old problem is no longer current."""
        if self.last_error:
            self.last_error = ""
            self.error_cleared.emit()

    # --- render ----------------------------------------------------------------------------------
    def render(self, output: str | Path | None = None, preset: str = "", audio: bool = True) -> JobEntry | None:
        """Queue the in/out range with the current settings, to be exported to ``output`` with
        ``preset`` when it finishes; errors are reported, not raised."""
        try:
            if not self.source.info or not self.driving.info:
                raise InputError("choose a source image and a driving video before rendering")
            if self.driving.extracting is False and self.driving.pose_error and self.driving.poses is None \
                    and "cancel" not in self.driving.pose_error:
                raise InputError(f"{Path(self.driving.path).name} cannot drive a render: {self.driving.pose_error}")
            settings = self.settings.render_settings()
            entry = self.queue.add(self.source.path, self.driving.path, settings, self.settings.get("model"),
                                   self.timeline.range_in, self.timeline.range_out + 1,
                                   self.settings.get("align"), self.settings.get("smooth"),
                                   output=str(output) if output else "", preset=preset, audio=audio,
                                   pose_backend=self.settings.get("pose_backend"))
        except StudioError as error:
            self._report_error(str(error))
            return None
        if output and self.persist:
            self._remember_export(Path(output), preset, audio)
        self.clear_error()
        self.status.emit(f"queued {entry.name} ({entry.frames_total} frames)", "info")
        return entry

    def export(self, entry_id: str, out: str | Path, preset: str, audio: bool) -> Worker | None:
        try:
            worker = self.queue.export(entry_id, Path(out), preset, audio)
        except StudioError as error:
            self._report_error(str(error))
            return None
        self._remember_export(Path(out), preset, audio)
        return worker

    def _remember_export(self, out: Path, preset: str, audio: bool) -> None:
        self.prefs.export_preset = preset
        self.prefs.last_export_dir = str(out.parent)
        choice = self.presets.get(preset)
        if choice is None or choice.has_audio:  # a GIF's "no audio" is not the user's audio choice
            self.prefs.export_audio = audio

    def _render_frame(self, entry_id: str, event: FrameReady) -> None:
        entry = self.queue.entry(entry_id)
        self.preview.show_frame(event.image, f"Render {entry.name}: frame {entry.current_frame} "
                                             f"({entry.frames_done} of {entry.frames_total})")

    # --- projects ----------------------------------------------------------------------------------
    def current_project(self) -> Project:
        values = self.settings.values()
        return Project(
            source=self.source.path, driving=self.driving.path, model=values["model"],
            settings={name: values[name] for name in ("beta", "steps", "cfg", "seed", "width", "height", "device",
                                                      "pose_backend")},
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
        self.history.reset()
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
        self.history.clear()
        self.project_changed.emit()
        return True

    def apply_project(self, project: Project, inputs: bool = True) -> None:
        """Load a project's settings and (in the background) inputs; range/playhead apply once the video is probed."""
        with self.history.paused():
            self.settings.load(project.settings, model=project.model, align=project.align, smooth=project.smooth)
        if not inputs:
            return
        if project.source:
            self.history.expect("source", project.source)
            self.open_source(project.source)
        if project.driving:
            self._pending_project = project
            self.history.expect("driving", project.driving)
            self.open_driving(project.driving)

    def restore_last_session(self, inputs: bool = True) -> bool:
        """Reopen what was open when the studio last closed (its project file, settings and the inputs
        that still exist); ``inputs=False`` restores only the settings. True if anything was restored."""
        saved = dict(self.prefs.last_project)
        project_file = saved.pop("project_file", "")
        try:
            project = Project(**saved)
        except TypeError:
            return False
        if not saved:
            return False
        project.source = project.source if project.source and Path(project.source).is_file() else ""
        project.driving = project.driving if project.driving and Path(project.driving).is_file() else ""
        if inputs and not (project.source or project.driving):
            return False  # a session whose files are gone: start fresh
        self.apply_project(project, inputs=inputs)
        if inputs and project_file and Path(project_file).is_file():
            self.project_path = Path(project_file)
            self.project_changed.emit()
        self.history.clear()
        return True

    def save_prefs(self) -> None:
        if not self.persist:
            return
        self.prefs.show_overlay = self.preview.show_overlay
        self.prefs.last_project = {**vars(self.current_project()),
                                   "project_file": str(self.project_path) if self.project_path else ""}
        try:
            self.prefs.save()
        except StudioError as error:
            self._report_error(str(error))

    def shutdown(self) -> None:
        if self._pose_check is not None:
            self._pose_check.cancel()  # its answer would start a new analysis
        self.preview.stop_live()
        self.driving.cancel_extraction()
        self.queue.shutdown()
