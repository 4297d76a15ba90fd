"""Timeline: a strip of frame thumbnails with the in/out range, markers and playhead, plus a readout.

Mouse: click or drag to scrub. Keys (handled by the window so they work everywhere): space play/pause,
←/→ one frame, Shift+←/→ ten frames, Home/End, I/O set in/out.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from studio.gui.viewmodels.media import DrivingModel
from studio.gui.viewmodels.timeline import TimelineModel
from studio.gui.widgets.images import to_pixmap

PLAYHEAD_COLOUR = QColor(255, 80, 60)
RANGE_COLOUR = QColor(80, 160, 255, 70)
MARKER_COLOUR = QColor(80, 160, 255)


class TimelineStrip(QWidget):
    def __init__(self, timeline: TimelineModel, driving: DrivingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timeline, self._driving = timeline, driving
        self._pixmaps: dict[int, object] = {}
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Click or drag to scrub; I / O set the render range; space plays")
        timeline.changed.connect(self.update)
        driving.thumbnails_changed.connect(self._thumbnails_changed)

    def sizeHint(self) -> QSize:
        return QSize(600, 64)

    def _thumbnails_changed(self) -> None:
        self._pixmaps = {index: to_pixmap(image) for index, image in self._driving.thumbnails.items()}
        self.update()

    def x_for_frame(self, frame: float) -> float:
        frames = max(1, self._timeline.frames)
        return (frame + 0.5) * self.width() / frames

    def frame_at(self, x: float) -> int:
        frames = max(1, self._timeline.frames)
        return int(min(max(x, 0), self.width() - 1) * frames / max(1, self.width()))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(32, 32, 36))
        timeline = self._timeline
        if timeline.frames > 0:
            self._paint_thumbnails(painter)
            left = self.x_for_frame(timeline.range_in - 0.5)
            right = self.x_for_frame(timeline.range_out + 0.5)
            painter.fillRect(QRectF(left, 0, right - left, self.height()), RANGE_COLOUR)
            painter.setPen(QPen(MARKER_COLOUR, 2))
            painter.drawLine(round(left), 0, round(left), self.height())
            painter.drawLine(round(right), 0, round(right), self.height())
            x = round(self.x_for_frame(timeline.playhead))
            painter.setPen(QPen(PLAYHEAD_COLOUR, 2))
            painter.drawLine(x, 0, x, self.height())
        painter.end()

    def _paint_thumbnails(self, painter: QPainter) -> None:
        indices = sorted(self._pixmaps)
        for position, index in enumerate(indices):
            start = self.x_for_frame(index - 0.5) if position == 0 else (self.x_for_frame(indices[position - 1]) + self.x_for_frame(index)) / 2
            end = self.width() if position == len(indices) - 1 else (self.x_for_frame(index) + self.x_for_frame(indices[position + 1])) / 2
            pixmap = self._pixmaps[index]
            painter.drawPixmap(QRectF(start, 0, end - start, self.height()), pixmap, QRectF(pixmap.rect()))

    def mousePressEvent(self, event) -> None:
        self._timeline.stop()
        self._timeline.seek(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._timeline.seek(self.frame_at(event.position().x()))


class TimelinePanel(QWidget):
    """The strip plus play button, readout and the pose-extraction progress."""

    def __init__(self, timeline: TimelineModel, driving: DrivingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timeline, self._driving = timeline, driving
        self.strip = TimelineStrip(timeline, driving)
        self.play_button = QPushButton("▶")
        self.play_button.setFixedWidth(36)
        self.play_button.setToolTip("Play / pause (space)")
        self.play_button.clicked.connect(timeline.toggle_play)
        self.in_button = QPushButton("In")
        self.in_button.setToolTip("Set the render range start at the playhead (I)")
        self.in_button.clicked.connect(timeline.mark_in)
        self.out_button = QPushButton("Out")
        self.out_button.setToolTip("Set the render range end at the playhead (O)")
        self.out_button.clicked.connect(timeline.mark_out)
        self.readout = QLabel()
        self.video_label = QLabel()
        self.pose_progress = QProgressBar()
        self.pose_progress.setFormat("poses %v / %m")
        self.pose_progress.setMaximumWidth(220)
        row = QHBoxLayout()
        for widget in (self.play_button, self.in_button, self.out_button):
            row.addWidget(widget)
        row.addWidget(self.readout, 1)
        row.addWidget(self.video_label)
        row.addWidget(self.pose_progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.strip)
        layout.addLayout(row)
        timeline.changed.connect(self.refresh)
        driving.changed.connect(self.refresh)
        driving.poses_progress.connect(self._pose_progress)
        self.refresh()

    def _pose_progress(self, done: int, total: int) -> None:
        self.pose_progress.setRange(0, max(1, total))
        self.pose_progress.setValue(done)

    def refresh(self) -> None:
        self.play_button.setText("⏸" if self._timeline.playing else "▶")
        self.readout.setText(self._timeline.readout())
        info = self._driving.info
        if self._driving.loading:
            self.video_label.setText("reading video…")
        elif info is None:
            self.video_label.setText("")
        else:
            self.video_label.setText(f"{info.width}x{info.height} · {info.fps:.2f} fps · {info.duration:.1f} s")
        done, total = self._driving.pose_progress
        self._pose_progress(done, total)
        self.pose_progress.setVisible(info is not None)
        if self._driving.pose_error and not self._driving.extracting:
            self.pose_progress.setFormat("no poses")
            self.pose_progress.setToolTip(self._driving.pose_error)
        else:
            self.pose_progress.setFormat("poses ready" if self._driving.poses is not None else "extracting poses %v / %m")
            self.pose_progress.setToolTip("Pose extraction runs in the background; the render waits for it")
