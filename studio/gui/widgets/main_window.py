"""The main window: lays out the panels, menus and shortcuts, and shows errors in a banner.

It binds widgets to the StudioModel's parts and opens dialogs; all decisions live in the model.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QScrollArea, QSplitter,
    QVBoxLayout, QWidget,
)

from studio.gui.viewmodels.studio import StudioModel
from studio.gui.widgets.export_dialog import ExportDialog
from studio.gui.widgets.preview import PreviewPanel
from studio.gui.widgets.queue_panel import QueuePanel
from studio.gui.widgets.settings_panel import SettingsPanel
from studio.gui.widgets.source_panel import SourcePanel, dropped_paths
from studio.gui.widgets.timeline import TimelinePanel

VIDEO_FILTER = "Driving videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v *.npz);;All files (*)"
PROJECT_FILTER = "TalkingPose projects (*.tpproj *.json);;All files (*)"
STATUS_MS = 8000


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
        first_word = message.split(" ", 1)[0]
        # Sentence case, except when the sentence starts with a file name ("notes.png is not ...").
        self.label.setText(message[:1].upper() + message[1:] if first_word.isalpha() else message)
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, model: StudioModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setWindowTitle("TalkingPose Studio")
        self.setAcceptDrops(True)
        self.resize(1400, 880)

        self.source_panel = SourcePanel(model.source, model.open_source, lambda: model.prefs.last_dir)
        self.settings_panel = SettingsPanel(model.settings)
        self.preview_panel = PreviewPanel(model.preview)
        self.timeline_panel = TimelinePanel(model.timeline, model.driving)
        self.queue_panel = QueuePanel(model.queue, self.export_entry)
        self.error_banner = ErrorBanner()
        self.render_button = QPushButton("Render range")
        self.render_button.setToolTip("Add a render of the in/out range with the current settings to the queue")
        self.render_button.clicked.connect(model.render)

        settings_scroll = QScrollArea()
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setWidget(self.settings_panel)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.source_panel)
        left.addWidget(settings_scroll)
        left.setSizes([320, 480])
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
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
        splitter.setSizes([330, 1070])
        self.setCentralWidget(splitter)
        self.queue_dock = QDockWidget("Render queue", self)
        self.queue_dock.setObjectName("renderQueueDock")
        self.queue_dock.setWidget(self.queue_panel)
        self.queue_panel.setMinimumHeight(150)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.queue_dock)
        self.resizeDocks([self.queue_dock], [180], Qt.Orientation.Vertical)

        self._build_menus()
        self._build_shortcuts()
        model.error.connect(self.error_banner.show_message)
        model.status.connect(lambda text, level: self.statusBar().showMessage(text, STATUS_MS))
        model.project_changed.connect(self._project_changed)
        model.lists_changed.connect(self.settings_panel.refresh_models)
        model.recent_changed.connect(self._refresh_recent)
        self._restore_layout()
        self.statusBar().showMessage("Open a source image and a driving video to begin.")

    # --- menus and keys ------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "Open &source image…", self.source_panel.browse, "Ctrl+Shift+O")
        self._action(file_menu, "Open &driving video…", self.browse_driving, "Ctrl+D")
        file_menu.addSeparator()
        self._action(file_menu, "&Open project…", self.browse_project, QKeySequence.StandardKey.Open)
        self._action(file_menu, "&Save project", self.save_project, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save project &as…", lambda: self.save_project(ask=True), QKeySequence.StandardKey.SaveAs)
        self.recent_menu = file_menu.addMenu("Recent projects")
        self.recent_sources_menu = file_menu.addMenu("Recent source images")
        self.recent_drivings_menu = file_menu.addMenu("Recent driving videos")
        self._refresh_recent()
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        render_menu = self.menuBar().addMenu("&Render")
        self._action(render_menu, "&Preview frame", self.model.preview.request_preview, "Ctrl+P")
        self._action(render_menu, "&Render range", self.model.render, "Ctrl+R")
        view_menu = self.menuBar().addMenu("&View")
        self.overlay_action = QAction("Pose &overlay", self, checkable=True)
        self.overlay_action.setChecked(self.model.preview.show_overlay)
        self.overlay_action.toggled.connect(self.model.preview.set_overlay)
        self.model.preview.changed.connect(lambda: self.overlay_action.setChecked(self.model.preview.show_overlay))
        view_menu.addAction(self.overlay_action)
        view_menu.addAction(self.queue_dock.toggleViewAction())

    def _build_shortcuts(self) -> None:
        timeline = self.model.timeline
        keys = {
            "Space": timeline.toggle_play, "Left": lambda: timeline.step(-1), "Right": lambda: timeline.step(1),
            "Shift+Left": lambda: timeline.step(-10), "Shift+Right": lambda: timeline.step(10),
            "Home": lambda: timeline.seek(0), "End": lambda: timeline.seek(timeline.frames - 1),
            "I": timeline.mark_in, "O": timeline.mark_out,
        }
        self.shortcuts = {}
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts[key] = shortcut

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
        name = self.model.project_path.name if self.model.project_path else "untitled"
        self.setWindowTitle(f"{name} — TalkingPose Studio")

    # --- dialogs -------------------------------------------------------------------------------
    def browse_driving(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open driving video", self.model.prefs.last_dir, VIDEO_FILTER)
        if path:
            self.model.open_driving(path)

    def browse_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self.model.prefs.last_dir, PROJECT_FILTER)
        if path:
            self.model.open_project(path)

    def save_project(self, ask: bool = False) -> None:
        path = self.model.project_path
        if ask or path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save project", str(path or Path(self.model.prefs.last_dir) / "untitled.tpproj"), PROJECT_FILTER)
            if not chosen:
                return
            path = Path(chosen)
        self.model.save_project(path)

    def export_dialog(self, entry_id: str) -> ExportDialog:
        entry = self.model.queue.entry(entry_id)
        folder = Path(self.model.prefs.last_dir or Path.home())
        return ExportDialog(self.model.presets, folder / f"{Path(entry.driving).stem}-animated.mp4",
                            self.model.prefs.export_preset, self.model.prefs.export_audio, self)

    def export_entry(self, entry_id: str) -> None:
        if not self.model.presets:
            self.error_banner.show_message("the export presets are still loading; try again in a moment")
            return
        dialog = self.export_dialog(entry_id)
        if dialog.exec() == ExportDialog.DialogCode.Accepted:
            out, preset, audio = dialog.choice()
            self.model.export(entry_id, out, preset, audio)

    # --- drag and drop, window state -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for path in dropped_paths(event)[:2]:
            self.model.open_any(path)
        event.acceptProposedAction()

    def _restore_layout(self) -> None:
        prefs = self.model.prefs
        if prefs.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(prefs.window_geometry.encode()))
        if prefs.window_state:
            self.restoreState(QByteArray.fromBase64(prefs.window_state.encode()))

    def closeEvent(self, event) -> None:
        running = self.model.queue.running_entry
        if running is not None and not getattr(self, "skip_close_question", False):
            answer = QMessageBox.question(
                self, "Render running",
                f"“{running.name}” is still rendering. Stop it and quit? Finished frames are kept; Resume continues later.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        prefs = self.model.prefs
        prefs.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        prefs.window_state = bytes(self.saveState().toBase64()).decode()
        self.model.save_prefs()
        self.model.shutdown()
        super().closeEvent(event)
