"""Pose images in the DWPose style the released weights were trained on (docs/architecture.md, "Pose format").

The canvas is black and RGB. Body limbs are filled ellipses dimmed by 0.6, then the joints are
drawn on top at full colour; hands (coloured edges, blue points) and white face dots come last.
The integer rounding (``int(...)`` truncation of coordinates, OpenCV's default 8-connected
rasterisation) follows the reference renderer so that images match it pixel for pixel.
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

from engine.pose.keypoints import Pose

MIN_CONFIDENCE = 0.3
LIMB_HALF_WIDTH = 4
JOINT_RADIUS = 4
HAND_POINT_RADIUS = 4
HAND_EDGE_THICKNESS = 2
FACE_DOT_RADIUS = 3
LIMB_DIMMING = 0.6

# OpenPose-18 limbs as 1-based joint pairs, in drawing order; limb i is drawn in BODY_COLORS[i].
BODY_LIMBS_1BASED = [
    (2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12),
    (12, 13), (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18),
]
BODY_LIMBS = [(a - 1, b - 1) for a, b in BODY_LIMBS_1BASED]
BODY_COLORS = [
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
]
HAND_EDGES = [
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
    (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
]
# Edge e's colour is hsv(e/20, 1, 1) scaled to 0..255, passed to OpenCV as floats like the reference.
HAND_EDGE_COLORS = [
    tuple(c * 255.0 for c in colorsys.hsv_to_rgb(e / len(HAND_EDGES), 1.0, 1.0)) for e in range(len(HAND_EDGES))
]
HAND_POINT_COLOR = (0, 0, 255)
FACE_DOT_COLOR = (255, 255, 255)

# Coordinates far outside the canvas are dropped: OpenCV works in int32 and a wild value
# (e.g. from a bad alignment) must not overflow or slow rasterisation down.
_MAX_OUTSIDE = 4.0


def _visible(points: np.ndarray) -> np.ndarray:
    xy = points[:, :2]
    inside = np.all(np.isfinite(xy), axis=1) & np.all(np.abs(xy) < _MAX_OUTSIDE, axis=1)
    return (points[:, 2] >= MIN_CONFIDENCE) & inside


def _draw_body(canvas: np.ndarray, body: np.ndarray) -> np.ndarray:
    height, width = canvas.shape[:2]
    visible = _visible(body)
    for limb_index, (a, b) in enumerate(BODY_LIMBS):
        if not (visible[a] and visible[b]):
            continue
        xs = body[[a, b], 0] * float(width)
        ys = body[[a, b], 1] * float(height)
        length = math.hypot(xs[0] - xs[1], ys[0] - ys[1])
        angle = math.degrees(math.atan2(ys[0] - ys[1], xs[0] - xs[1]))
        centre = (int(np.mean(xs)), int(np.mean(ys)))
        polygon = cv2.ellipse2Poly(centre, (int(length / 2), LIMB_HALF_WIDTH), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, BODY_COLORS[limb_index])
    canvas = (canvas * LIMB_DIMMING).astype(np.uint8)
    for joint in range(len(body)):
        if visible[joint]:
            x, y = int(body[joint, 0] * width), int(body[joint, 1] * height)
            cv2.circle(canvas, (x, y), JOINT_RADIUS, BODY_COLORS[joint], thickness=-1)
    return canvas


def _draw_hand(canvas: np.ndarray, hand: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    visible = _visible(hand)
    pixels = {i: (int(hand[i, 0] * width), int(hand[i, 1] * height)) for i in np.flatnonzero(visible)}
    for edge_index, (a, b) in enumerate(HAND_EDGES):
        if visible[a] and visible[b]:
            cv2.line(canvas, pixels[a], pixels[b], HAND_EDGE_COLORS[edge_index], thickness=HAND_EDGE_THICKNESS)
    for point in np.flatnonzero(visible):
        cv2.circle(canvas, pixels[point], HAND_POINT_RADIUS, HAND_POINT_COLOR, thickness=-1)


def _draw_face(canvas: np.ndarray, face: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    for point in np.flatnonzero(_visible(face)):
        x, y = int(face[point, 0] * width), int(face[point, 1] * height)
        cv2.circle(canvas, (x, y), FACE_DOT_RADIUS, FACE_DOT_COLOR, thickness=-1)


def draw_pose(pose: Pose, width: int, height: int) -> np.ndarray:
    """Draw one pose as a DWPose-style image: (height, width, 3) uint8 RGB on black."""
    if width < 1 or height < 1:
        raise ValueError(f"pose image size must be positive, got {width}x{height}")
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas = _draw_body(canvas, np.asarray(pose.body, np.float64))
    for hand in np.asarray(pose.hands, np.float64):
        _draw_hand(canvas, hand)
    _draw_face(canvas, np.asarray(pose.face, np.float64))
    return canvas


def draw_overlay(frame: np.ndarray, pose: Pose, alpha: float = 0.7) -> np.ndarray:
    """Blend the pose drawing over ``frame`` (HxWx3 uint8 RGB); only drawn pixels change."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be an HxWx3 uint8 image, got {frame.shape} {frame.dtype}")
    height, width = frame.shape[:2]
    drawing = draw_pose(pose, width, height)
    drawn = drawing.any(axis=2)
    out = frame.copy()
    blended = frame[drawn].astype(np.float32) * (1.0 - alpha) + drawing[drawn].astype(np.float32) * alpha
    out[drawn] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out
