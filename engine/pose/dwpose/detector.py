"""The YOLOX person detector of the DWPose release: letterbox in, person boxes out.

Steps as the official ``DWposeDetector`` does them (docs/architecture.md, "Pose"): the BGR frame
is resized (linear) so it fits 640x640 keeping its aspect, placed at the top-left of a canvas
filled with 114 and fed as float 0..255 (no mean/std). The raw (8400, 85) output rows are
(cx, cy, log w, log h, objectness, 80 class scores) on the grids of strides 8, 16 and 32; class
score = objectness x class probability; class-aware NMS (IoU 0.45, score > 0.1), then only
persons (class 0) scoring > 0.3 are kept.
"""

from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = 640
PAD_VALUE = 114
STRIDES = (8, 16, 32)
NUM_CLASSES = 80
ROWS = sum((INPUT_SIZE // s) ** 2 for s in STRIDES)  # 8400
NMS_IOU = 0.45
NMS_SCORE = 0.1
PERSON_SCORE = 0.3
PERSON_CLASS = 0


def letterbox(image_bgr: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """The detector input for one HxWx3 uint8 BGR image.

    Returns the (3, size, size) float32 tensor (0..255, BGR) and the resize ratio (input px per image px).
    """
    height, width = image_bgr.shape[:2]
    ratio = min(size / height, size / width)
    new_w, new_h = int(width * ratio), int(height * ratio)
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32), ratio


def _grid_and_strides(size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    grids, strides = [], []
    for stride in STRIDES:
        cells = size // stride
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")  # row-major: x varies fastest
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full((cells * cells, 1), stride))
    return np.concatenate(grids).astype(np.float64), np.concatenate(strides).astype(np.float64)


_GRID, _STRIDE = _grid_and_strides()


def decode_persons(raw: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes from one image's raw YOLOX output.

    Args:
        raw: (8400, 85) output rows for one image.
        ratio: the ``letterbox`` ratio of that image.
    Returns:
        boxes (N, 4) as x0, y0, x1, y1 in image pixels, and scores (N,), best first.
    """
    raw = np.asarray(raw, np.float64)
    centres = (raw[:, :2] + _GRID) * _STRIDE
    with np.errstate(over="ignore"):  # a model gone wrong must not take the process down: such boxes are dropped
        sizes = np.exp(raw[:, 2:4]) * _STRIDE
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) / ratio
    # NMS is class-aware, so the other 79 classes never suppress a person box: only class 0 matters.
    scores = raw[:, 4] * raw[:, 5 + PERSON_CLASS]
    usable = np.isfinite(boxes).all(axis=1) & np.isfinite(scores) & (sizes > 0).all(axis=1) & np.isfinite(sizes).all(axis=1)
    candidates = usable & (scores > NMS_SCORE)
    boxes, scores = boxes[candidates], scores[candidates]
    keep = nms(boxes, scores, NMS_IOU)
    boxes, scores = boxes[keep], scores[keep]
    persons = scores > PERSON_SCORE
    return boxes[persons], scores[persons]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy NMS; areas use the inclusive-pixel (+1) convention of the official code."""
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(scores, kind="stable")[::-1]
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.maximum(0.0, np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]) + 1)
        overlap = w * h / (areas[best] + areas[rest] - w * h)
        order = rest[overlap <= iou_threshold]
    return keep
