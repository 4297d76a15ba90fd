"""The main window: lays out the panels, menus and shortcuts, and shows errors in a banner.

It binds widgets to the StudioModel's parts and opens dialogs; all decisions live in the model.
The title shows the project, an unsaved-changes marker (*) and the running render's progress.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QScrollArea, QSplitter, QVBoxLayout,
    QWidget,
)

from studio.gui.project import data_dir, default_output_folder, free_output_path
from studio.gui.viewmodels.render_queue import RUNNING
from studio.gui.viewmodels.studio import StudioModel
from studio.gui.widgets.dialogs import LogWindow, TextWindow, about_html, shortcut_sheet_html
from studio.gui.widgets.export_dialog import ExportDialog
from studio.gui.widgets.menus import build_menus, build_shortcuts
from studio.gui.widgets.model_manager import ModelManager
from studio.gui.widgets.preview import PreviewPanel
from studio.gui.widgets.queue_panel import QueuePanel, open_url
from studio.gui.widgets.settings_panel import SettingsPanel
from studio.gui.widgets.source_panel import SourcePanel, dropped_paths
from studio.gui.widgets.timeline import TimelinePanel

VIDEO_FILTER = "Driving videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v *.npz);;All files (*)"
PROJECT_FILTER = "TalkingPose projects (*.tpproj *.json);;All files (*)"
STATUS_MS = 8000
APP_TITLE = "TalkingPose Studio"
PREVIEW_DROP_HIGHLIGHT = "ImageView { border: 2px dashed #50a0ff; }"  # where a dropped video or picture will show


class ErrorBanner(QWidget):
    """A red strip above the preview with the latest error sentence; dismissable, never modal."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet("#errorBanner { background: #5a1e1e; border-radius: 4px; } QLabel { color: #ffd8d0; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("✕")
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, message: str) -> None:
        first_word = message.split(" ", 1)[0].rstrip(":,;")
        # Sentence case, except when the sentence starts with a file name ("notes.png is not ...").
        self.label.setText(message[:1].upper() + message[1:] if first_word.isalpha() else message)
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, model: StudioModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setAcceptDrops(True)
        self._fit_to_screen(1400, 880)
        self.dialogs: dict[str, QWidget] = {}

        self.source_panel = SourcePanel(model.source, model.open_source, lambda: model.prefs.last_dir, model.open_any)
        self.settings_panel = SettingsPanel(model.settings, model.choose_model)
        self.settings_panel.beta_try_button.clicked.connect(self.try_steadiness)
        self.preview_panel = PreviewPanel(model.preview)
        self.timeline_panel = TimelinePanel(model.timeline, model.driving)
        self.settings_panel.set_focus_home(self.timeline_panel.strip)
        self.queue_panel = QueuePanel(model.queue, self.export_entry, self.open_path, self.remove_entry)
        self.error_banner = ErrorBanner()
        self.render_button = QPushButton("Render range…")
        self.render_button.setToolTip("Render the in/out range with the current settings to a file (Ctrl+R)")
        self.render_button.clicked.connect(self.queue_render)

        self.left_splitter = left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.source_panel)
        # Settings fit without scrolling at 1200x800; only a smaller window scrolls them.
        self.settings_scroll = QScrollArea()
        self.settings_scroll.setWidgetResizable(True)
        self.settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.settings_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.settings_scroll.setWidget(self.settings_panel)
        left.addWidget(self.settings_scroll)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 0)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(4, 4, 4, 4)
        centre_layout.addWidget(self.error_banner)
        centre_layout.addWidget(self.preview_panel, 1)
        centre_layout.addWidget(self.timeline_panel)
        render_row = QHBoxLayout()
        render_row.addStretch(1)
        render_row.addWidget(self.render_button)
        centre_layout.addLayout(render_row)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(centre)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 1060])
        self.setCentralWidget(splitter)
        self.queue_dock = QDockWidget("Render queue", self)
        self.queue_dock.setObjectName("renderQueueDock")
        self.queue_dock.setWidget(self.queue_panel)
        self.queue_panel.setMinimumHeight(120)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.queue_dock)
        self.resizeDocks([self.queue_dock], [150], Qt.Orientation.Vertical)

        self.menu_actions = build_menus(self)
        self.overlay_action = self.menu_actions["overlay"]
        self.shortcuts = build_shortcuts(self, self.timeline_panel.strip)
        model.error.connect(self.error_banner.show_message)
        model.error_cleared.connect(self.error_banner.hide)
        model.status.connect(lambda text, level: self.statusBar().showMessage(text, STATUS_MS))
        model.project_changed.connect(self._project_changed)
        model.dirty_changed.connect(lambda dirty: self.update_title())
        model.lists_changed.connect(self.settings_panel.refresh_models)
        model.lists_changed.connect(self.fit_settings)
        model.settings.changed.connect(lambda name: name == "model_card" and self.fit_settings())
        model.recent_changed.connect(self._refresh_recent)
        for signal in (model.source.changed, model.driving.changed, model.queue.entries_changed,
                       model.queue.entry_changed, model.preview.changed):
            signal.connect(lambda *args: self.update_actions())
        model.queue.entry_changed.connect(lambda *args: self.update_title())
        self._refresh_recent()
        self._restore_layout()
        self.update_actions()
        self.update_title()
        self.statusBar().showMessage("Open a source image and a driving video to begin.")

    # --- layout ---------------------------------------------------------------------------------
    def _fit_to_screen(self, width: int, height: int) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            width, height = min(width, screen.width()), min(height, screen.height())
        self.resize(width, height)

    def fit_settings(self) -> None:
        """Give the settings all the height they need (no scroll bar); the source picture takes the rest."""
        total = sum(self.left_splitter.sizes())
        need = self.settings_panel.sizeHint().height() + 2
        if total > 0:
            source = max(self.source_panel.minimumSizeHint().height(), total - need)
            self.left_splitter.setSizes([source, total - source])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_settings()

    # --- state shown in the chrome ------------------------------------------------------------------
    def update_title(self) -> None:
        name = self.model.project_path.name if self.model.project_path else "untitled"
        marker = "*" if self.model.dirty else ""
        running = self.model.queue.running_entry
        progress = f" — rendering {running.fraction:.0%}" if running is not None and running.frames_total else ""
        self.setWindowTitle(f"{name}{marker}{progress} — {APP_TITLE}")

    def update_actions(self) -> None:
        """Menu items and buttons are enabled only when they can act."""
        model = self.model
        inputs = model.source.info is not None and model.driving.info is not None
        exportable = bool(self.exportable_entry())
        for key, enabled in (("preview", inputs), ("render", inputs), ("strip", inputs), ("export", exportable),
                             ("save", inputs or model.project_path is not None)):
            self.menu_actions[key].setEnabled(enabled)
        self.render_button.setEnabled(inputs)
        self.settings_panel.beta_try_button.setEnabled(inputs)
        self.preview_panel.preview_button.setEnabled(inputs)

    def exportable_entry(self) -> str:
        """The newest job with frames to export ("" when none)."""
        for entry in reversed(self.model.queue.entries):
            if entry.created and entry.frames_done > 0 and not entry.exporting:
                return entry.id
        return ""

    def _refresh_recent(self) -> None:
        prefs, model = self.model.prefs, self.model
        for menu, paths, open_path in (
            (self.recent_menu, prefs.recent_projects, model.open_project),
            (self.recent_sources_menu, prefs.recent_sources, model.open_source),
            (self.recent_drivings_menu, prefs.recent_drivings, model.open_driving),
        ):
            menu.clear()
            for path in paths:
                action = menu.addAction(Path(path).name)
                action.setToolTip(path)
                action.triggered.connect(lambda checked=False, p=path, o=open_path: o(p))
            menu.setEnabled(bool(paths))

    def _project_changed(self) -> None:
        self.settings_panel.refresh_models()
        self.update_title()
        self.update_actions()

    # --- dialogs -------------------------------------------------------------------------------
    def browse_driving(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open driving video", self.model.prefs.last_dir, VIDEO_FILTER)
        if path:
            self.model.open_driving(path)

    def browse_project(self) -> None:
        if not self.settle_unsaved():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self.model.prefs.last_dir, PROJECT_FILTER)
        if path:
            self.model.open_project(path)

    def save_project(self, ask: bool = False) -> bool:
        path = self.model.project_path
        if ask or path is None:
            suggested = str(path or Path(self.model.prefs.last_dir or Path.home()) / "untitled.tpproj")
            chosen, _ = QFileDialog.getSaveFileName(self, "Save project", suggested, PROJECT_FILTER)
            if not chosen:
                return False
            path = Path(chosen)
        return self.model.save_project(path)

    def output_dialog(self, title: str, ok_text: str, stem: str) -> ExportDialog:
        prefs = self.model.prefs
        preset = prefs.export_preset if prefs.export_preset in self.model.presets else next(iter(self.model.presets), "")
        choice = self.model.presets.get(preset)
        default = free_output_path(default_output_folder(prefs), stem, choice.extension if choice else ".mp4")
        return ExportDialog(self.model.presets, default, preset, prefs.export_audio, self, title=title, ok_text=ok_text)

    def export_dialog(self, entry_id: str) -> ExportDialog:
        entry = self.model.queue.entry(entry_id)
        return self.output_dialog("Export", "Export", f"{Path(entry.driving).stem}-animated")

    def render_dialog(self) -> ExportDialog:
        return self.output_dialog("Render to a file", "Render", f"{Path(self.model.driving.path).stem}-animated")

    def _presets_ready(self) -> bool:
        if not self.model.presets:
            self.error_banner.show_message("the export presets are still loading; try again in a moment")
        return bool(self.model.presets)

    def queue_render(self) -> None:
        """Ask where the render goes (file and preset), then queue it."""
        if self.model.source.info is None or self.model.driving.info is None:
            self.model.render()  # reports what is missing
            return
        if not self._presets_ready():
            return
        dialog = self.render_dialog()
        if self.run_dialog(dialog):
            out, preset, audio = dialog.choice()
            self.model.render(out, preset, audio)

    def export_entry(self, entry_id: str = "") -> None:
        entry_id = entry_id or self.exportable_entry()
        if not entry_id or not self._presets_ready():
            return
        dialog = self.export_dialog(entry_id)
        if self.run_dialog(dialog):
            out, preset, audio = dialog.choice()
            self.model.export(entry_id, out, preset, audio)

    def remove_entry(self, entry_id: str) -> None:
        entry = self.model.queue.entry(entry_id)
        answer = self.ask("Remove render?", f"Remove “{entry.name}” from the queue and delete its rendered frames "
                          f"({entry.work_dir})? Files it wrote stay where they are.")
        if answer:
            try:
                self.model.queue.remove(entry_id)
            except Exception as error:  # a StudioError sentence: shown, the queue stays as it was
                self.error_banner.show_message(str(error))

    def run_dialog(self, dialog: ExportDialog) -> bool:
        """Show a modal dialog; True when accepted (tests replace it to answer without a user)."""
        return dialog.exec() == ExportDialog.DialogCode.Accepted

    def ask(self, title: str, question: str) -> bool:
        """A yes/no question (tests replace it)."""
        answer = QMessageBox.question(self, title, question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def open_path(self, path: Path | None) -> None:
        """Open a file or folder with the desktop; where no launcher exists, say where it is."""
        if path is None:
            return
        if not open_url(Path(path)):
            self.error_banner.show_message(f"no program to open it was found; it is at {path}")

    def try_steadiness(self) -> None:
        self.model.preview.request_strip(data_dir() / "previews")

    def show_dialog(self, key: str, make) -> QWidget:
        """One instance per kind of window; shown again (not duplicated) when asked twice."""
        dialog = self.dialogs.get(key)
        if dialog is None:
            dialog = self.dialogs[key] = make()
        dialog.show()
        dialog.raise_()
        return dialog

    def show_model_manager(self) -> ModelManager:
        self.model.library.refresh()
        manager = self.show_dialog("models", lambda: ModelManager(self.model.library, self.model.choose_model, self))
        manager.select(self.model.settings.get("model"))
        return manager

    def show_log(self) -> LogWindow:
        window = self.show_dialog("log", lambda: LogWindow(data_dir() / "studio.log", self.open_path, self))
        window.reload()
        return window

    def show_shortcuts(self) -> TextWindow:
        return self.show_dialog("shortcuts", lambda: TextWindow("Keyboard shortcuts", shortcut_sheet_html(), self))

    def show_about(self) -> TextWindow:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("talkingpose-studio")
        except PackageNotFoundError:
            number = ""
        return self.show_dialog("about", lambda: TextWindow("About TalkingPose Studio", about_html(number), self))

    # --- drag and drop, window state -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_paths(event):
            self.preview_panel.setStyleSheet(PREVIEW_DROP_HIGHLIGHT)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self.preview_panel.setStyleSheet("")

    def dropEvent(self, event) -> None:
        self.preview_panel.setStyleSheet("")
        for path in dropped_paths(event)[:2]:
            self.model.open_any(path)
        event.acceptProposedAction()

    def _restore_layout(self) -> None:
        prefs = self.model.prefs
        if prefs.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(prefs.window_geometry.encode()))
        if prefs.window_state:
            self.restoreState(QByteArray.fromBase64(prefs.window_state.encode()))

    def settle_unsaved(self) -> bool:
        """Offer to save unsaved changes; False when the user cancels what they were doing."""
        if not self.model.dirty or getattr(self, "skip_close_question", False):
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save the changes to the project first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_project()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:
        running = self.model.queue.running_entry
        if running is not None and running.state == RUNNING and not getattr(self, "skip_close_question", False):
            if not self.ask("Render running", f"“{running.name}” is still rendering. Stop it and quit? "
                            "Finished frames are kept; Resume continues later."):
                event.ignore()
                return
        if not self.settle_unsaved():
            event.ignore()
            return
        prefs = self.model.prefs
        prefs.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        prefs.window_state = bytes(self.saveState().toBase64()).decode()
        self.model.save_prefs()
        self.model.shutdown()
        for dialog in self.dialogs.values():
            dialog.close()
        super().closeEvent(event)
