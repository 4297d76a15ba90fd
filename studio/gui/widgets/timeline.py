"""Timeline: a strip of frame thumbnails with the in/out range, markers and playhead, plus a readout.

Mouse: click or drag to scrub (a click also gives the strip the keyboard focus); Ctrl+wheel zooms
around the pointer, the wheel scrolls a zoomed strip. Keys (handled by the window so they work
everywhere except inside a field): space play/pause, J/K/L shuttle, ←/→ one frame, Shift+←/→ ten
frames, Home/End, I/O set in/out, Alt+X clears them, +/- zoom. The "Go to" field takes a frame
number or a time (m:ss or h:mm:ss).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy, QStyle, QVBoxLayout, QWidget,
)

from studio.gui.viewmodels.media import POSE_MADE_BY, DrivingModel
from studio.gui.viewmodels.timeline import TimelineModel, format_duration
from studio.gui.widgets.images import to_pixmap

PLAYHEAD_COLOUR = QColor(255, 80, 60)
RANGE_COLOUR = QColor(80, 160, 255, 70)
MARKER_COLOUR = QColor(80, 160, 255)
MIN_RANGE_PX = 4  # a one-frame range on a long video still shows as a visible band
MAX_ZOOM = 64.0


class TimelineStrip(QWidget):
    def __init__(self, timeline: TimelineModel, driving: DrivingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timeline, self._driving = timeline, driving
        self._pixmaps: dict[int, object] = {}
        self.zoom = 1.0
        self.offset = 0.0  # first visible frame (fractional) when zoomed in
        self.setMinimumHeight(56)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Click or drag to scrub; I / O set the render range, Alt+X clears it; space or J/K/L play; "
                        "Ctrl+wheel or +/- zoom")
        timeline.changed.connect(self.update)
        timeline.playhead_changed.connect(self._follow_playhead)
        driving.thumbnails_changed.connect(self._thumbnails_changed)

    def sizeHint(self) -> QSize:
        return QSize(600, 56)

    def _thumbnails_changed(self) -> None:
        self._pixmaps = {index: to_pixmap(image) for index, image in self._driving.thumbnails.items()}
        self.update()

    @property
    def visible_frames(self) -> float:
        return max(1.0, self._timeline.frames / self.zoom)

    def x_for_frame(self, frame: float) -> float:
        return (frame + 0.5 - self.offset) * self.width() / self.visible_frames

    def frame_at(self, x: float) -> int:
        frame = int(self.offset + min(max(x, 0), self.width() - 1) * self.visible_frames / max(1, self.width()))
        return max(0, min(frame, self._timeline.frames - 1))

    def set_zoom(self, zoom: float, anchor_x: float | None = None) -> None:
        """Zoom keeping the frame under ``anchor_x`` (default: the playhead) where it is."""
        anchor_x = self.x_for_frame(self._timeline.playhead) if anchor_x is None else anchor_x
        anchor_frame = self.offset + anchor_x * self.visible_frames / max(1, self.width())
        self.zoom = min(max(1.0, zoom), MAX_ZOOM)
        self._scroll_to(anchor_frame - anchor_x * self.visible_frames / max(1, self.width()))

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def _scroll_to(self, offset: float) -> None:
        self.offset = min(max(0.0, offset), max(0.0, self._timeline.frames - self.visible_frames))
        self.update()

    def _follow_playhead(self, frame: int) -> None:
        if not self.offset <= frame < self.offset + self.visible_frames - 0.5:
            self._scroll_to(frame - self.visible_frames / 2)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(32, 32, 36))
        timeline = self._timeline
        if timeline.frames > 0:
            self._paint_thumbnails(painter)
            left = self.x_for_frame(timeline.range_in - 0.5)
            right = max(self.x_for_frame(timeline.range_out + 0.5), left + MIN_RANGE_PX)
            painter.fillRect(QRectF(left, 0, right - left, self.height()), RANGE_COLOUR)
            painter.setPen(QPen(MARKER_COLOUR, 2))
            painter.drawLine(round(left), 0, round(left), self.height())
            painter.drawLine(round(right), 0, round(right), self.height())
            x = round(self.x_for_frame(timeline.playhead))
            painter.setPen(QPen(PLAYHEAD_COLOUR, 2))
            painter.drawLine(x, 0, x, self.height())
        if self.hasFocus():
            painter.setPen(QPen(MARKER_COLOUR, 1))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()

    def _paint_thumbnails(self, painter: QPainter) -> None:
        indices = sorted(self._pixmaps)
        for position, index in enumerate(indices):
            start = self.x_for_frame(index - 0.5) if position == 0 else (self.x_for_frame(indices[position - 1]) + self.x_for_frame(index)) / 2
            end = self.x_for_frame(self._timeline.frames - 0.5) if position == len(indices) - 1 else \
                (self.x_for_frame(index) + self.x_for_frame(indices[position + 1])) / 2
            if end < 0 or start > self.width():
                continue
            pixmap = self._pixmaps[index]
            painter.drawPixmap(QRectF(start, 0, end - start, self.height()), pixmap, QRectF(pixmap.rect()))

    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self._timeline.stop()
        self._timeline.seek(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._timeline.seek(self.frame_at(event.position().x()))

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.zoom * (1.25 if delta > 0 else 0.8), event.position().x())
        elif self.zoom > 1.0:
            self._scroll_to(self.offset - delta / 120 * self.visible_frames / 10)
        event.accept()

    def focusInEvent(self, event) -> None:
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:
        self.update()
        super().focusOutEvent(event)


class TimelinePanel(QWidget):
    """The strip plus play button, go-to field, readout and the pose-extraction progress."""

    def __init__(self, timeline: TimelineModel, driving: DrivingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timeline, self._driving = timeline, driving
        self.strip = TimelineStrip(timeline, driving)
        self.play_button = QPushButton()
        self.play_button.setFixedWidth(36)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # space must stay the window's play key
        self.play_button.clicked.connect(timeline.toggle_play)
        self.in_button = QPushButton("In")
        self.in_button.setToolTip("Set the render range start at the playhead (I)")
        self.in_button.clicked.connect(timeline.mark_in)
        self.out_button = QPushButton("Out")
        self.out_button.setToolTip("Set the render range end at the playhead (O)")
        self.out_button.clicked.connect(timeline.mark_out)
        for button in (self.in_button, self.out_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.goto_edit = QLineEdit()
        self.goto_edit.setPlaceholderText("Go to…")
        self.goto_edit.setMaximumWidth(80)
        self.goto_edit.setToolTip("Type a frame number (120) or a time (0:05.5 or 0:00:05) and press Enter")
        self.goto_edit.returnPressed.connect(self._go_to)
        self.readout = QLabel()
        self.video_label = QLabel()
        for label in (self.readout, self.video_label):  # long texts may be cut, never widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(60)
        self.pose_progress = QProgressBar()
        self.pose_progress.setFormat("poses %p%")
        self.pose_progress.setMaximumWidth(120)
        self.pose_detail = QLabel()
        self.pose_cancel = QPushButton("Cancel")
        self.pose_cancel.setToolTip("Stop analysing the driving video (renders analyse it again when they start)")
        self.pose_cancel.clicked.connect(driving.cancel_extraction)
        for button in (self.in_button, self.out_button):
            button.setFixedWidth(52)
        row = QHBoxLayout()
        for widget in (self.play_button, self.in_button, self.out_button, self.goto_edit):
            row.addWidget(widget)
        row.addWidget(self.readout, 1)
        status = QHBoxLayout()  # what the video is and how its analysis goes, on a line of its own
        status.addWidget(self.video_label, 1)
        status.addWidget(self.pose_progress)
        status.addWidget(self.pose_detail)
        status.addWidget(self.pose_cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.strip)
        layout.addLayout(row)
        layout.addLayout(status)
        timeline.changed.connect(self.refresh)
        driving.changed.connect(self.refresh)
        driving.poses_progress.connect(self._pose_progress)
        self.refresh()

    def _go_to(self) -> None:
        if self._timeline.go_to(self.goto_edit.text()):
            self.goto_edit.clear()
            self.strip.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.goto_edit.selectAll()

    def _pose_progress(self, done: int, total: int) -> None:
        self.pose_progress.setRange(0, max(1, total))
        self.pose_progress.setValue(done)
        speed, eta = self._driving.pose_speed, self._driving.pose_eta
        parts = [f"{done}/{total}"]
        if speed > 0:
            parts.append(f"{speed:.0f} fps")
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        self.pose_detail.setText(" · ".join(parts) if self._driving.extracting else "")

    def refresh(self) -> None:
        playing = self._timeline.playing
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setToolTip("Pause (space or K)" if playing else "Play (space or L)")
        self.readout.setText(self._timeline.readout())
        info = self._driving.info
        if self._driving.loading:
            self.video_label.setText("reading video…")
        elif info is None:
            self.video_label.setText("")
        else:
            made_by = POSE_MADE_BY.get(self._driving.pose_backend_used, "")
            self.video_label.setText(f"{info.width}x{info.height} · {info.fps:.2f} fps · {info.duration:.1f} s"
                                     + (f" · poses {made_by}" if made_by else ""))
        done, total = self._driving.pose_progress
        self._pose_progress(done, total)
        self.pose_progress.setVisible(info is not None)
        self.pose_cancel.setVisible(self._driving.extracting)
        self.pose_detail.setVisible(self._driving.extracting)
        if self._driving.pose_error and not self._driving.extracting:
            self.pose_progress.setFormat("no poses")
            self.pose_progress.setToolTip(self._driving.pose_error)
        else:
            self.pose_progress.setFormat("poses ready" if self._driving.poses is not None else "poses %p%")
            self.pose_progress.setToolTip("Pose extraction runs in the background; the overlay shows each frame as "
                                          "soon as it is analysed, and a render can start before it ends")
