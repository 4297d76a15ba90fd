"""DWPose whole-body keypoints: the person crop, SimCC decoding and the OpenPose-18 layout.

Steps as the official ``DWposeDetector`` does them (docs/architecture.md, "Pose"): a person box
becomes a centre and a scale 1.25x its size, widened or heightened to the model's 288:384 aspect;
an affine warp (linear) maps that region onto the 288x384 input, normalised with the ImageNet
mean/std in the frame's channel order (BGR). The model answers per keypoint two SimCC vectors
(576 = 2 x 288 bins in x, 768 = 2 x 384 in y): the keypoint is the argmax / 2 mapped back through
the crop; its score the smaller of the two maxima. The 133 COCO-WholeBody points map to our
format: body = 17 points + neck (mean of the shoulders), reordered mmpose -> OpenPose; face =
points 23..90 (68); hands = 91..111 (the person's left) then 112..132 (right); points scoring
0.3 or less are not visible.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.pose.keypoints import Pose

INPUT_W, INPUT_H = 288, 384
SPLIT_RATIO = 2.0
BOX_PADDING = 1.25
KEYPOINTS = 133
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)
VISIBLE = 0.3
# OpenPose-18 joint i is COCO body point BODY_FROM_COCO[i]; -1 = the neck (mean of shoulders 5 and 6).
BODY_FROM_COCO = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]
FACE = slice(23, 91)
LEFT_HAND, RIGHT_HAND = slice(91, 112), slice(112, 133)


def box_to_center_scale(box: np.ndarray, input_size: tuple[int, int] = (INPUT_W, INPUT_H)) -> tuple[np.ndarray, np.ndarray]:
    """Centre (x, y) and crop size (w, h) in image pixels for a box x0, y0, x1, y1: padded, then fixed to the input aspect."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    center = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    w, h = (x1 - x0) * BOX_PADDING, (y1 - y0) * BOX_PADDING
    aspect = input_size[0] / input_size[1]
    scale = np.array([w, w / aspect]) if w > h * aspect else np.array([h * aspect, h])
    return center, scale


def crop(image_bgr: np.ndarray, center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int] = (INPUT_W, INPUT_H)) -> np.ndarray:
    """The pose-model input (3, H, W) float32 for one person: affine crop, then mean/std per channel."""
    width, height = input_size
    k = width / scale[0]  # same in y: the scale already has the input's aspect
    warp = np.array([[k, 0.0, width / 2 - k * center[0]], [0.0, k, height / 2 - k * center[1]]], np.float64)
    patch = cv2.warpAffine(image_bgr, warp, (width, height), flags=cv2.INTER_LINEAR)
    return np.ascontiguousarray(((patch.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1))


def decode_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, center: np.ndarray, scale: np.ndarray,
    input_size: tuple[int, int] = (INPUT_W, INPUT_H),
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (K, 2) in image pixels and scores (K,) from one person's SimCC vectors (K, 2W) and (K, 2H)."""
    x_bins, y_bins = np.argmax(simcc_x, axis=1), np.argmax(simcc_y, axis=1)
    scores = np.minimum(np.max(simcc_x, axis=1), np.max(simcc_y, axis=1)).astype(np.float64)
    locs = np.stack([x_bins, y_bins], axis=1).astype(np.float64)
    locs[scores <= 0] = -1  # no response: the official decoder marks the point, the score hides it
    in_crop = locs / SPLIT_RATIO
    points = in_crop / np.array(input_size, np.float64) * scale + center - scale / 2
    return points, scores


def body_scores(scores: np.ndarray) -> np.ndarray:
    """The 18 OpenPose body scores of one person, neck 1 or 0 as in the official code (used to pick the person)."""
    neck = float(scores[5] > VISIBLE and scores[6] > VISIBLE)
    return np.array([neck if i < 0 else scores[i] for i in BODY_FROM_COCO])


def to_pose(points: np.ndarray, scores: np.ndarray, width: int, height: int) -> Pose:
    """One person's 133 keypoints (pixels of a ``width`` x ``height`` frame) in our format.

    Coordinates are normalised to [0, 1]; points at or under the 0.3 visibility threshold, and
    points outside the frame (the crop may reach past it), are stored as not found (zeros).
    Confidences are clipped to 1 (SimCC maxima are not probabilities).
    """
    xy = points / np.array([width, height], np.float64)
    table = np.concatenate([xy, np.clip(scores, 0.0, 1.0)[:, None]], axis=1)
    visible = (scores > VISIBLE) & (xy >= 0).all(axis=1) & (xy <= 1).all(axis=1)
    table[~visible] = 0.0
    neck = (xy[5] + xy[6]) / 2
    body = np.zeros((len(BODY_FROM_COCO), 3))
    for joint, source in enumerate(BODY_FROM_COCO):
        if source >= 0:
            body[joint] = table[source]
        elif min(scores[5], scores[6]) > VISIBLE and (neck >= 0).all() and (neck <= 1).all():
            # the official neck scores 1; the weaker shoulder keeps the confidence meaningful for smoothing
            body[joint] = [*neck, min(1.0, scores[5], scores[6])]
    hands = np.stack([table[LEFT_HAND], table[RIGHT_HAND]])
    return Pose(body.astype(np.float32), hands.astype(np.float32), table[FACE].astype(np.float32))


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one x0, y0, x1, y1 box with each of ``boxes`` (N, 4)."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return w * h / np.maximum(area + areas - w * h, 1e-9)


def choose_person(boxes: np.ndarray, mean_body_scores: np.ndarray, previous: np.ndarray | None, min_iou: float = 0.3) -> int:
    """Index of the person to follow among ``boxes`` (N, 4).

    The official code takes the highest mean body score on every frame, which can jump between
    people; we take it only to start (or when the followed person is gone), and otherwise the box
    overlapping the previous frame's choice most (IoU >= ``min_iou``).
    """
    if previous is not None and len(boxes):
        overlaps = box_iou(previous, boxes)
        best = int(np.argmax(overlaps))
        if overlaps[best] >= min_iou:
            return best
    return int(np.argmax(mean_body_scores))
