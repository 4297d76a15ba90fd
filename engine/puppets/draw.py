"""Drawing primitives, the head-pose fit, and a puppet's body parts (used by generator.render_puppet).

Every part is a simple shape placed by pixel keypoints: the torso a polygon between shoulders and
hips, arms thick lines, hands a palm polygon with finger lines. ``fit_head`` recovers the head's
turn, nod, tilt and size from the face points for head.py. Dark outlines (the part's own
colour, darker) keep touching parts of one colour apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from engine.puppets.motion import NECK_TOP

MIN_CONFIDENCE = 0.3
OUTLINE_SHADE = 0.45

# ---- primitives: OpenCV with 4 fractional bits, so slow motion moves smoothly ----
_SHIFT = 4
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA


def _fx(points) -> np.ndarray:
    return np.rint(np.asarray(points, np.float64) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _pt(p) -> tuple[int, int]:
    return math.floor(p[0] * _ONE + 0.5), math.floor(p[1] * _ONE + 0.5)


def fill(img, points, colour) -> None:
    cv2.fillPoly(img, [_fx(points)], colour, _AA, _SHIFT)


def polyline(img, points, colour, width, closed=False) -> None:
    cv2.polylines(img, [_fx(points)], closed, colour, max(1, int(round(width))), _AA, _SHIFT)


def line(img, a, b, colour, width) -> None:
    cv2.line(img, _pt(a), _pt(b), colour, max(1, int(round(width))), _AA, _SHIFT)


def disc(img, centre, radius, colour) -> None:
    cv2.circle(img, _pt(centre), max(1, int(round(radius * _ONE))), colour, -1, _AA, _SHIFT)


def ellipse(img, centre, axes, angle_deg, colour, thickness=-1) -> None:
    axes_fx = (max(1, int(round(axes[0] * _ONE))), max(1, int(round(axes[1] * _ONE))))
    cv2.ellipse(img, _pt(centre), axes_fx, angle_deg, 0, 360, colour, thickness, _AA, _SHIFT)


def blend(img: np.ndarray, layer, alpha: np.ndarray) -> None:
    """img = img * (1 - alpha) + layer * alpha, alpha a uint8 mask (AA edges blend)."""
    a = alpha[..., None].astype(np.uint16)
    img[...] = ((img.astype(np.uint16) * (255 - a) + np.asarray(layer, np.uint16) * a + 127) // 255).astype(np.uint8)


@lru_cache(maxsize=32)
def background(kind: str, colour, colour2, width: int, height: int) -> np.ndarray:
    """The backdrop (read-only, cached): plain, gradient, stripes, checker or dots."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = colour
    cell = max(4, int(math.sqrt(width * height) / 7))
    if kind == "gradient":
        t = np.linspace(0.0, 1.0, height)[:, None, None]
        img[:] = np.round(np.asarray(colour) * (1 - t) + np.asarray(colour2) * t).astype(np.uint8)
    elif kind == "stripes":
        img[:, (np.arange(width) // cell) % 2 == 1] = colour2
    elif kind == "checker":
        ys, xs = np.mgrid[:height, :width]
        img[((ys // cell) + (xs // cell)) % 2 == 1] = colour2
    elif kind == "dots":
        for y in range(cell // 2, height + cell, cell):
            for x in range((y // cell % 2) * cell // 2, width + cell, cell):
                disc(img, (x, y), cell * 0.18, colour2)
    img.setflags(write=False)
    return img


@dataclass
class Head:
    """The head's pose in the image: pixel = origin + scale * rows[:2] @ template point."""

    origin: np.ndarray
    scale: float
    rows: np.ndarray  # (3, 3) rotation; rows[2] gives depth towards the camera

    def project(self, points) -> np.ndarray:
        return self.origin + self.scale * (np.asarray(points, np.float64) @ self.rows[:2].T)

    def depth(self, points) -> np.ndarray:
        return np.asarray(points, np.float64) @ self.rows[2]

    @property
    def roll(self) -> float:
        return math.atan2(self.rows[1, 0], self.rows[0, 0])

    def flat(self, centre, hx, hy) -> np.ndarray:
        """Points at head-frame offsets (hx, hy) from ``centre``: upright in the head, not turned."""
        c, s = math.cos(self.roll), math.sin(self.roll)
        hx, hy = np.asarray(hx, np.float64), np.asarray(hy, np.float64)
        return np.asarray(centre) + self.scale * np.stack([c * hx - s * hy, s * hx + c * hy], -1)

    def angle_of(self, point, centre) -> float:
        d = (np.asarray(point) - centre) / self.scale
        c, s = math.cos(self.roll), math.sin(self.roll)
        return math.atan2(-s * d[0] + c * d[1], c * d[0] + s * d[1])


_RIGID = np.r_[0:4, 13:17, 27:36, 36, 39, 42, 45]  # face points that expressions do not move


def fit_head(template: np.ndarray, face_px: np.ndarray, visible: np.ndarray) -> Head | None:
    """Scaled-orthographic fit of the template to the visible rigid face points."""
    index = _RIGID[visible[_RIGID]]
    if len(index) < 6:
        return None
    design = np.c_[template[index], np.ones(len(index))]
    solution = np.linalg.lstsq(design, face_px[index], rcond=None)[0]
    u, singular, vt = np.linalg.svd(solution[:3].T, full_matrices=False)
    rows2 = u @ vt
    rows = np.vstack([rows2, np.cross(rows2[0], rows2[1])])
    return Head(solution[3], float(singular.mean()), rows)



# ---- parts ----
def shade(colour, factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, round(c * factor))) for c in colour)


def _unit_vector(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else np.array([1.0, 0.0])


def _seen(points: np.ndarray, *index: int) -> bool:
    confidence = points[:, 2]
    return all(confidence[i] >= MIN_CONFIDENCE for i in index)


def outlined_fill(img, points, colour, outline) -> None:
    polyline(img, points, shade(colour, OUTLINE_SHADE), 2 * outline, closed=True)
    fill(img, points, colour)


def _torso_axes(body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along the shoulders (image left to right) and down the torso."""
    along = _unit_vector(body[5, :2] - body[2, :2])
    down = np.array([-along[1], along[0]])
    return along, (down if down[1] >= 0 else -down)


def _draw_pattern(layer, look, origin, along, down, period, box) -> None:
    if look.pattern == "solid":
        return
    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]]) - origin
    span_a, span_d = corners @ along / period, corners @ down / period
    a_range = range(math.floor(span_a.min()) - 1, math.ceil(span_a.max()) + 2)
    d_range = range(math.floor(span_d.min()) - 1, math.ceil(span_d.max()) + 2)
    length = 2.0 * period * (len(a_range) + len(d_range))
    if look.pattern == "hstripes":
        for k in d_range:
            c = origin + down * k * period
            line(layer, c - along * length, c + along * length, look.clothes_colour2, 0.45 * period)
    elif look.pattern == "vstripes":
        for k in a_range:
            c = origin + along * k * period
            line(layer, c - down * length, c + down * length, look.clothes_colour2, 0.4 * period)
    else:
        for j in d_range:
            for i in a_range:
                disc(layer, origin + along * (i + 0.5 * (j % 2)) * period + down * j * period, 0.17 * period,
                      look.clothes_colour2)


def draw_torso(img, look, build, body, head: Head | None, unit: float, outline: float) -> None:
    """The shirt or jacket: a polygon from the hips (continued below the frame) to the shoulders."""
    if not _seen(body, 2, 5):
        return
    r_sh, l_sh = body[2, :2], body[5, :2]
    neck = body[1, :2] if _seen(body, 1) else (r_sh + l_sh) / 2
    along, down = _torso_axes(body)
    arm = build.arm_radius * unit
    neck_half = 0.42 * head.scale if head is not None else 1.2 * arm
    r_hip = body[8, :2] if _seen(body, 8) else r_sh + down * 0.4 * unit
    l_hip = body[11, :2] if _seen(body, 11) else l_sh + down * 0.4 * unit
    below = 0.6 * unit
    polygon = [r_hip + _unit_vector(r_hip - r_sh) * below, r_hip - along * arm * 0.3,
               r_sh + down * arm * 0.8 - along * arm * 0.95, r_sh - down * arm * 0.95,
               neck - along * neck_half * 1.3 - down * arm * 1.1, neck + along * neck_half * 1.3 - down * arm * 1.1,
               l_sh - down * arm * 0.95, l_sh + down * arm * 0.8 + along * arm * 0.95,
               l_hip + along * arm * 0.3, l_hip + _unit_vector(l_hip - l_sh) * below]
    dark = shade(look.clothes_colour, OUTLINE_SHADE)
    for shoulder in (r_sh, l_sh):
        disc(img, shoulder, arm + outline, dark)
    outlined_fill(img, polygon, look.clothes_colour, outline)
    for shoulder in (r_sh, l_sh):
        disc(img, shoulder, arm, look.clothes_colour)
    if look.clothes == "jacket":
        bottom = (r_hip + l_hip) / 2 + down * below
        width = 0.3 * float(np.linalg.norm(l_sh - r_sh))
        inner = [neck - along * neck_half * 1.1 - down * arm * 0.6, neck + along * neck_half * 1.1 - down * arm * 0.6,
                 bottom + along * width, bottom - along * width]
        fill(img, inner, look.clothes_colour2)
        polyline(img, inner, shade(look.clothes_colour, 0.6), 2 * outline, closed=True)
    elif look.pattern != "solid":
        # The pattern is drawn on a copy of the torso's box and kept only inside the torso.
        h, w = img.shape[:2]
        corners = np.array(polygon + [r_sh - arm, l_sh + arm])
        x0, y0 = np.clip(np.floor(corners.min(0)).astype(int) - 1, 0, [w, h])
        x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + 2, 0, [w, h])
        if x1 <= x0 or y1 <= y0:
            return
        roi, offset = img[y0:y1, x0:x1], np.array([x0, y0], np.float64)
        mask = np.zeros(roi.shape[:2], np.uint8)
        fill(mask, np.array(polygon) - offset, 255)
        for shoulder in (r_sh, l_sh):
            disc(mask, shoulder - offset, arm, 255)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))  # keep the outline clear of the pattern
        layer = roi.copy()
        period = 0.24 * float(np.linalg.norm(l_sh - r_sh))
        _draw_pattern(layer, look, neck - offset, along, down, period, (0, 0, x1 - x0, y1 - y0))
        blend(roi, layer, mask)


def draw_neck(img, look, body, head: Head | None, outline: float) -> None:
    """Neck and neckline, between the torso and the head."""
    if head is None or not _seen(body, 2, 5):
        return
    neck = body[1, :2] if _seen(body, 1) else (body[2, :2] + body[5, :2]) / 2
    along, down = _torso_axes(body)
    half = 0.42 * head.scale
    skin = shade(look.skin, 0.9)
    bottom, top = neck - down * half * 0.3, head.project(NECK_TOP)
    line(img, bottom, top, shade(skin, OUTLINE_SHADE), 2 * half + 2 * outline)
    if look.neckline == "v":
        top = neck - down * half * 0.5
        outlined_fill(img, [top - along * half * 1.25, top + along * half * 1.25, neck + down * half * 1.6], skin, outline)
    else:
        angle = math.degrees(math.atan2(along[1], along[0]))
        ellipse(img, neck, (half * 1.3 + outline, half * 1.05 + outline), angle, shade(skin, OUTLINE_SHADE))
        ellipse(img, neck, (half * 1.3, half * 1.05), angle, skin)
    line(img, bottom, top, skin, 2 * half)


def draw_arms(img, look, build, body, unit: float, outline: float) -> None:
    """Upper arms and forearms as thick lines; sleeves follow the clothes."""
    arm = build.arm_radius * unit
    long_sleeves = look.clothes != "tshirt"
    sleeve = look.clothes_colour
    fore_colour = sleeve if long_sleeves else look.skin
    for shoulder, elbow, wrist in ((2, 3, 4), (5, 6, 7)):
        upper, fore = _seen(body, shoulder, elbow), _seen(body, elbow, wrist)
        s, e, w = body[shoulder, :2], body[elbow, :2], body[wrist, :2]
        if upper:
            line(img, s, e, shade(sleeve, OUTLINE_SHADE), 2 * arm + 2 * outline)
        if fore:
            line(img, e, w, shade(fore_colour, OUTLINE_SHADE), 1.7 * arm + 2 * outline)
        if upper:
            line(img, s, e, sleeve if long_sleeves else look.skin, 2 * arm)
        if fore:
            line(img, e, w, fore_colour, 1.7 * arm)
        if upper and not long_sleeves:
            cuff = s + 0.55 * (e - s)
            line(img, s, cuff, shade(sleeve, OUTLINE_SHADE), 2.2 * arm + 2 * outline)
            line(img, s, cuff, sleeve, 2.2 * arm)


_FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
_PALM = (0, 1, 5, 9, 13, 17)


def draw_hands(img, look, build, hands, unit: float, outline: float) -> None:
    """Each hand: a palm polygon, then five outlined finger lines."""
    dark = shade(look.skin, OUTLINE_SHADE)
    finger = max(1.0, 0.11 * build.hand_length * unit)
    for hand in hands:
        if _seen(hand, *_PALM):
            outlined_fill(img, hand[list(_PALM), :2], look.skin, outline)
        for chain in _FINGERS:
            if _seen(hand, *chain):
                polyline(img, hand[list(chain), :2], dark, finger + 2 * outline)
                polyline(img, hand[list(chain), :2], look.skin, finger)
