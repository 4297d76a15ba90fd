"""Drawing a puppet's head from its fitted pose (``draw.Head``) and its face points.

The skull is an ellipse joined to the jaw points; eyes, brows, nose and mouth sit on the face
points. Hair, ears, hat and glasses are placed in the head's own 3D frame (the face template's
units: head radius 1, y down, z towards the camera) and projected, so they turn with the face.
"""

from __future__ import annotations

import math

import numpy as np

from engine.puppets.motion import EAR_POINTS
from engine.puppets.draw import (
    OUTLINE_SHADE, Head, blend, disc, ellipse, fill, line, outlined_fill, polyline, shade,
)


def _sphere_z(x, y) -> np.ndarray:
    return np.sqrt(np.clip(1.0 - x**2 - (y + 0.1) ** 2, 0.0, 1.0))


def _cap(head: Head, line_y, line_k, radii, width=1.0, part=0.0) -> np.ndarray:
    """Polygon of the head's top above a curve on the skull (hairline, hat band)."""
    x = np.linspace(-0.95, 0.95, 13)
    y = line_y + line_k * x**2 + part * x
    edge = head.project(np.stack([x * width, y, _sphere_z(x, y)], 1))
    centre = head.project([0.0, -0.1, 0.0])
    right, left = head.angle_of(edge[-1], centre), head.angle_of(edge[0], centre)
    left = left - 2 * math.pi if left > 0 else left
    angles = np.linspace(right, left, 20)
    arc = head.flat(centre, radii[0] * np.cos(angles), radii[1] * np.sin(angles))
    return np.concatenate([edge, arc])


_HAIRLINES = {  # style: (height at the middle, curvature, side parting)
    "short": (-0.62, 0.45, 0.0), "spiky": (-0.62, 0.45, 0.0), "bob": (-0.58, 0.12, 0.0),
    "long": (-0.62, 0.4, 0.12), "bun": (-0.66, 0.5, 0.0), "afro": (-0.62, 0.42, 0.0),
}


def _arc(head: Head, centre, radii, start_deg, end_deg, count=24) -> np.ndarray:
    angles = np.radians(np.linspace(start_deg, end_deg, count))
    return head.flat(centre, radii[0] * np.cos(angles), radii[1] * np.sin(angles))


def draw_back_hair(img, look, head: Head | None, outline: float) -> None:
    """Hair behind the head (volume, long strands, bun), drawn before neck and head."""
    if head is None or look.hair_style == "bald":
        return
    style, colour = look.hair_style, look.hair_colour
    centre = head.project([0.0, -0.15, -0.3])
    shapes = []
    if style in ("short", "spiky", "bun"):
        shapes.append(_arc(head, centre, (1.06, 1.1), 170, 370))
    if style == "spiky":
        for angle in np.linspace(200, 340, 7):
            shapes.append(np.concatenate([_arc(head, centre, (0.9, 0.9), angle - 10, angle - 10, 1),
                                          _arc(head, centre, (1.38, 1.38), angle, angle, 1),
                                          _arc(head, centre, (0.9, 0.9), angle + 10, angle + 10, 1)]))
    if style == "bun":
        shapes.append(_arc(head, head.project([0.0, -1.1, -0.35]), (0.42, 0.42), 0, 360))
    if style == "bob":
        shapes.append(np.concatenate([_arc(head, centre, (1.14, 1.16), 180, 360),
                                      head.flat(centre, [1.14, -1.14], [0.75, 0.75])]))
    if style == "long":
        shapes.append(np.concatenate([_arc(head, centre, (1.12, 1.14), 180, 360),
                                      head.flat(centre, [1.2, 1.32, 0.6, -0.6, -1.32, -1.2],
                                                [1.0, 1.95, 2.05, 2.05, 1.95, 1.0])]))
    if style == "afro":
        shapes.append(_arc(head, head.flat(centre, 0.0, -0.2), (1.45, 1.38), 0, 360, 40))
    for shape in shapes:
        outlined_fill(img, shape, colour, outline)


def _draw_eye(img, points, look, scale, eye_size, outline) -> None:
    centre = points.mean(0)
    opening = (np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])) / 2
    lash = (35, 25, 25)
    if opening < 0.06 * scale:
        polyline(img, points[[0, 5, 4, 3]], lash, outline)
        return
    h, w = img.shape[:2]
    x0, y0 = np.maximum(np.floor(points.min(0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(points.max(0)).astype(int) + 3, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    local, iris_centre = points - [x0, y0], centre - [x0, y0]
    layer = roi.copy()
    fill(layer, local, (246, 246, 242))
    iris = 0.09 * scale * eye_size
    disc(layer, iris_centre, iris, look.eye_colour)
    disc(layer, iris_centre, 0.5 * iris, (15, 15, 15))
    disc(layer, iris_centre - 0.35 * iris, 0.25 * iris, (255, 255, 255))
    mask = np.zeros(roi.shape[:2], np.uint8)
    fill(mask, local, 255)
    blend(roi, layer, mask)
    polyline(img, points[0:4], lash, outline)


def _draw_mouth(img, head: Head, lips, look, outline) -> None:
    outer, inner = lips[:12], lips[12:]
    fill(img, outer, look.lip_colour)
    gap = float(np.linalg.norm(inner[6] - inner[2]))
    if gap > 0.04 * head.scale:
        fill(img, inner, (70, 20, 30))
        down = head.flat([0.0, 0.0], 0.0, 1.0)
        upper = inner[0:5]
        teeth = np.concatenate([upper, (upper + down * min(0.35 * gap / head.scale, 0.07))[::-1]])
        fill(img, teeth, (240, 240, 232))
    polyline(img, inner, shade(look.lip_colour, 0.5), outline, closed=True)


def _draw_ear(img, head: Head, position, look, outline) -> None:
    s, angle = head.scale, math.degrees(head.roll)
    ellipse(img, position, (0.17 * s + outline, 0.26 * s + outline), angle, shade(look.skin, OUTLINE_SHADE))
    ellipse(img, position, (0.17 * s, 0.26 * s), angle, look.skin)
    ellipse(img, position, (0.07 * s, 0.14 * s), angle, shade(look.skin, 0.8))
    if look.earrings is not None:
        disc(img, head.flat(position, 0.0, 0.32), 0.08 * s, look.earrings)


def _draw_glasses(img, head: Head, face, look, eye_size, ears, ear_depth) -> None:
    s = head.scale
    width, radius = max(1.0, 0.06 * s), 0.3 * s * eye_size
    centres = [face[36:42].mean(0), face[42:48].mean(0)]
    along = head.flat([0.0, 0.0], 1.0, 0.0) / s
    for centre in centres:
        if look.glasses == "round":
            ellipse(img, centre, (radius, radius * 0.9), math.degrees(head.roll), look.glasses_colour,
                    int(round(width)))
        else:
            corners = head.flat(centre, np.array([-1.05, 1.05, 1.05, -1.05]) * radius / s,
                                np.array([-0.8, -0.8, 0.8, 0.8]) * radius / s)
            polyline(img, corners, look.glasses_colour, width, closed=True)
    line(img, centres[0] + along * radius * 0.95, centres[1] - along * radius * 0.95, look.glasses_colour, width)
    for side, sign in ((0, -1.0), (1, 1.0)):
        if ear_depth[side] > -0.2:
            line(img, centres[side] + sign * along * radius, ears[side], look.glasses_colour, width)


def _draw_hat(img, head: Head, look, face_width, outline) -> None:
    colour, s = look.hat_colour, head.scale
    x = np.linspace(-0.95, 0.95, 13)
    if look.hat == "cap":
        outlined_fill(img, _cap(head, -0.5, 0.05, (1.0 * face_width, 1.1), face_width), colour, outline)
        x = np.linspace(-0.75, 0.75, 9)
        y = -0.5 + 0.05 * x**2
        base = np.stack([x * face_width, y, _sphere_z(x, y)], 1)
        front = np.stack([x * face_width * 1.1, y + 0.1, _sphere_z(x, y) + 0.5 * (1 - (x / 0.8) ** 2)], 1)
        outlined_fill(img, head.project(np.concatenate([base, front[::-1]])), shade(colour, 0.75), outline)
    elif look.hat == "beanie":
        outlined_fill(img, _cap(head, -0.4, 0.08, (1.02 * face_width, 1.12), face_width), colour, outline)
        y = -0.4 + 0.08 * x**2
        band = head.project(np.stack([x * face_width, y, _sphere_z(x, y)], 1))
        polyline(img, band, shade(colour, 0.7), 0.18 * s)


def draw_head(img, look, build, head: Head, face: np.ndarray, outline: float) -> None:
    """Ears, skull and jaw, beard, eyes, brows, nose, mouth, hair over the forehead, hat, glasses."""
    s, skin = head.scale, look.skin
    ears, ear_depth = head.project(EAR_POINTS), head.depth(EAR_POINTS)
    for side in (0, 1):
        if ear_depth[side] < 0.15:  # turned away: behind the skull
            _draw_ear(img, head, ears[side], look, outline)
    centre, axes = head.project([0.0, -0.1, 0.0]), (0.93 * build.face_width * s, 1.0 * s)
    angle = math.degrees(head.roll)
    ellipse(img, centre, (axes[0] + outline, axes[1] + outline), angle, shade(skin, OUTLINE_SHADE))
    polyline(img, face[0:17], shade(skin, OUTLINE_SHADE), 2 * outline)
    ellipse(img, centre, axes, angle, skin)
    fill(img, face[0:17], skin)
    for side in (0, 1):
        if ear_depth[side] >= 0.15:
            _draw_ear(img, head, ears[side], look, outline)
    if look.facial_hair == "beard":
        fill(img, np.concatenate([face[2:15], face[[54, 55, 56, 57, 58, 59, 48]]]), look.hair_colour)
    for first in (36, 42):
        _draw_eye(img, face[first:first + 6], look, s, build.eye_size, outline)
    brow_colour = shade(look.hair_colour, 0.8) if sum(look.hair_colour) < 450 else (90, 70, 50)
    for first in (17, 22):
        polyline(img, face[first:first + 5], brow_colour, look.brow_thickness * s)
    ellipse(img, face[30], (0.1 * s, 0.08 * s), angle, shade(skin, 0.88))
    polyline(img, face[31:36], shade(skin, 0.6), max(1.0, 0.05 * s))
    _draw_mouth(img, head, face[48:68], look, outline)
    if look.facial_hair == "moustache":
        polyline(img, face[48:55] + head.flat([0.0, 0.0], 0.0, -0.07), look.hair_colour, 0.1 * s)
    if look.hair_style in _HAIRLINES and look.hat == "none":
        middle, curve, part = _HAIRLINES[look.hair_style]
        cap = _cap(head, middle, curve, (0.97 * build.face_width, 1.04), build.face_width, part)
        outlined_fill(img, cap, look.hair_colour, outline)
    _draw_hat(img, head, look, build.face_width, outline)
    if look.glasses != "none":
        _draw_glasses(img, head, face, look, build.eye_size, ears, ear_depth)
