"""The main window's menus and single-key shortcuts.

The single keys act on the timeline (see studio.gui.widgets.keys for how focused fields keep theirs).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut


def _action(window, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda checked=False: slot())
    menu.addAction(action)
    return action


def build_menus(window) -> dict[str, QAction]:
    """File, Edit, Render, View, Models and Help; returns the actions the window enables and disables."""
    model, bar, actions = window.model, window.menuBar(), {}
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "Open &source image…", window.source_panel.browse, "Ctrl+Shift+O")
    _action(window, file_menu, "Open &driving video…", window.browse_driving, "Ctrl+D")
    file_menu.addSeparator()
    _action(window, file_menu, "&Open project…", window.browse_project, QKeySequence.StandardKey.Open)
    actions["save"] = _action(window, file_menu, "&Save project", window.save_project, QKeySequence.StandardKey.Save)
    _action(window, file_menu, "Save project &as…", lambda: window.save_project(ask=True), QKeySequence.StandardKey.SaveAs)
    window.recent_menu = file_menu.addMenu("Recent projects")
    window.recent_sources_menu = file_menu.addMenu("Recent source images")
    window.recent_drivings_menu = file_menu.addMenu("Recent driving videos")
    file_menu.addSeparator()
    actions["export"] = _action(window, file_menu, "&Export…", window.export_entry, "Ctrl+E",
                                "Write the newest render's frames as a file with a preset")
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    edit_menu = bar.addMenu("&Edit")
    undo = model.history.stack.createUndoAction(window, "&Undo")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = model.history.stack.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    edit_menu.addAction(undo)
    edit_menu.addAction(redo)
    actions["undo"], actions["redo"] = undo, redo
    edit_menu.addSeparator()
    _action(window, edit_menu, "Clear in/out", model.timeline.clear_range)  # Alt+X is a window shortcut

    render_menu = bar.addMenu("&Render")
    actions["preview"] = _action(window, render_menu, "&Preview frame", model.preview.request_preview, "Ctrl+P")
    actions["strip"] = _action(window, render_menu, "Try steadiness on &3 frames", window.try_steadiness)
    actions["render"] = _action(window, render_menu, "&Render range…", window.queue_render, "Ctrl+R")

    view_menu = bar.addMenu("&View")
    overlay = QAction("Pose &overlay", window, checkable=True)
    overlay.setChecked(model.preview.show_overlay)
    overlay.toggled.connect(model.preview.set_overlay)
    model.preview.changed.connect(lambda: overlay.setChecked(model.preview.show_overlay))
    view_menu.addAction(overlay)
    actions["overlay"] = overlay
    view_menu.addAction(window.queue_dock.toggleViewAction())
    actions["log"] = _action(window, view_menu, "&Log", window.show_log)

    models_menu = bar.addMenu("&Models")
    actions["models"] = _action(window, models_menu, "&Manage…", window.show_model_manager)

    help_menu = bar.addMenu("&Help")
    actions["shortcuts"] = _action(window, help_menu, "&Keyboard shortcuts", window.show_shortcuts, "F1")
    actions["about"] = _action(window, help_menu, "&About TalkingPose Studio", window.show_about)
    return actions


def build_shortcuts(window, strip) -> dict[str, QShortcut]:
    timeline = window.model.timeline
    keys = {
        "Space": timeline.toggle_play, "Left": lambda: timeline.step(-1), "Right": lambda: timeline.step(1),
        "Shift+Left": lambda: timeline.step(-10), "Shift+Right": lambda: timeline.step(10),
        "Home": lambda: timeline.seek(0), "End": lambda: timeline.seek(timeline.frames - 1),
        "I": timeline.mark_in, "O": timeline.mark_out, "Alt+X": timeline.clear_range,
        "J": lambda: timeline.shuttle(-1), "K": lambda: timeline.shuttle(0), "L": lambda: timeline.shuttle(1),
        "+": lambda: strip.zoom_by(2.0), "=": lambda: strip.zoom_by(2.0), "-": lambda: strip.zoom_by(0.5),
    }
    shortcuts = {}
    for key, slot in keys.items():
        shortcut = QShortcut(QKeySequence(key), window)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)
        shortcuts[key] = shortcut
    return shortcuts
