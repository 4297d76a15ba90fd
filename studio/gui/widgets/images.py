"""Showing numpy RGB images in Qt: conversion and a view that scales with its box, keeping the aspect."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(image: np.ndarray) -> QImage:
    """HxWx3 (or HxW) uint8 array -> a QImage that owns its pixels (safe after the array is freed)."""
    array = np.ascontiguousarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {array.dtype}")
    if array.ndim == 2:
        array = np.ascontiguousarray(np.repeat(array[:, :, None], 3, axis=2))
    height, width = array.shape[:2]
    return QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888).copy()


def to_pixmap(image: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(image))


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage (any format) -> HxWx3 uint8 RGB copy; used by tests and screenshots."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return buffer[:, : width * 3].reshape(height, width, 3).copy()


class ImageView(QWidget):
    """Draws one image fitted into the widget (letterboxed), or a hint text when there is none."""

    clicked = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._shown: np.ndarray | None = None
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)

    def set_image(self, image: np.ndarray | None) -> None:
        """Show ``image``; the same array object again is a no-op (view-models replace, never mutate, images)."""
        if image is self._shown:
            return
        self._shown = image
        self._pixmap = to_pixmap(image) if image is not None else None
        self.update()

    def has_image(self) -> bool:
        return self._pixmap is not None

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def image_rect(self) -> QRectF:
        """Where the image is drawn inside the widget (empty when there is no image)."""
        if self._pixmap is None or self._pixmap.isNull():
            return QRectF()
        scale = min(self.width() / self._pixmap.width(), self.height() / self._pixmap.height())
        width, height = self._pixmap.width() * scale, self._pixmap.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        if self._pixmap is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(self.image_rect(), self._pixmap, QRectF(self._pixmap.rect()))
        elif self.placeholder:
            painter.setPen(QColor(150, 150, 160))
            painter.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
        painter.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)
