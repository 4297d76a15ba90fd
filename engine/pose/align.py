"""Retargeting: move the driver's motion onto the source person's proportions and placement.

Method. Work in height units (x times aspect, y) so lengths mean the same along both axes.
From one reference driving frame and the source pose:
- a global scale (median of the shoulder-width, neck-to-nose and face-size ratios that are
  visible in both) and an anchor (the neck, or the nose for head-only sources) give a similarity
  map G(p) = source_anchor + (p - driver_reference_anchor) * scale;
- every body bone (parent -> child along neck -> shoulders -> elbows -> wrists,
  neck -> hips -> knees -> ankles, neck -> nose -> eyes -> ears) gets its own length ratio
  source / driver where visible in both, else the global scale.
Each frame is then rebuilt down the tree: the root follows G, each child sits at its new parent
plus the driver's bone vector times the bone's ratio. Hands are scaled about the wrist and the
face about the nose. So every frame has the source's bone lengths and, in the reference frame,
the source's placement, while the directions of the bones and the movement are the driver's
(a driver shaped like the source, only bigger and elsewhere, maps exactly onto the source).
Points missing in the driver stay missing.
"""

from __future__ import annotations

import numpy as np

from engine.pose.draw import MIN_CONFIDENCE
from engine.pose.keypoints import Pose, PoseSequence

NOSE, NECK, R_SHOULDER, R_WRIST, L_SHOULDER, L_WRIST = 0, 1, 2, 4, 5, 7
# OpenPose-18 parent of each joint; the neck is the root.
BODY_PARENT = {
    2: 1, 3: 2, 4: 3, 5: 1, 6: 5, 7: 6, 8: 1, 9: 8, 10: 9, 11: 1, 12: 11, 13: 12,
    0: 1, 14: 0, 15: 0, 16: 14, 17: 15,
}
BODY_ORDER = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0, 14, 15, 16, 17]  # parents first
HAND_WRISTS = (L_WRIST, R_WRIST)  # hands are stored [left, right]
# A bone whose length ratio is far from the global scale was foreshortened in one of the two
# poses (an arm pointing at the camera); limit how far it may deviate.
MAX_BONE_DEVIATION = 2.0
_EPS = 1e-6


def _to_units(points: np.ndarray, aspect: float) -> np.ndarray:
    out = np.asarray(points, np.float64)[..., :2].copy()
    out[..., 0] *= aspect
    return out


def _bone_length(xy: np.ndarray, conf: np.ndarray, a: int, b: int) -> float | None:
    # Only joints confident enough to be drawn are measured: MediaPipe also returns guesses for
    # hidden joints (a hip behind a desk), whose lengths would mislead the ratios.
    if conf[a] >= MIN_CONFIDENCE and conf[b] >= MIN_CONFIDENCE:
        length = float(np.linalg.norm(xy[a] - xy[b]))
        return length if length > _EPS else None
    return None


def _spread(xy: np.ndarray, conf: np.ndarray) -> float | None:
    """Root-mean-square distance of the visible points to their centroid (a rotation-invariant size)."""
    visible = xy[conf > 0]
    if len(visible) < 3:
        return None
    size = float(np.sqrt(((visible - visible.mean(axis=0)) ** 2).sum(axis=1).mean()))
    return size if size > _EPS else None


def _ratio(source: float | None, driver: float | None) -> float | None:
    return source / driver if source is not None and driver is not None else None


def _reference_frame(seq: PoseSequence, wanted: int) -> int | None:
    usable = (seq.body[:, NECK, 2] > 0) | (seq.body[:, NOSE, 2] > 0)
    candidates = np.flatnonzero(usable)
    if len(candidates) == 0:
        return None
    later = candidates[candidates >= wanted]
    return int(later[0] if len(later) else candidates[-1])


def _clamped(ratio: float | None, scale: float) -> float:
    if ratio is None:
        return scale
    return float(np.clip(ratio, scale / MAX_BONE_DEVIATION, scale * MAX_BONE_DEVIATION))


def _unchanged(seq: PoseSequence, warning: str) -> PoseSequence:
    meta = dict(seq.meta)
    meta["alignment_warning"] = warning
    return PoseSequence(
        seq.body.copy(), seq.hands.copy(), seq.face.copy(), seq.fps, seq.width, seq.height, seq.fingerprint, meta
    )


def align_sequence(
    seq: PoseSequence,
    source: Pose,
    source_aspect: float | None = None,
    reference_frame: int = 0,
) -> PoseSequence:
    """Retarget ``seq`` onto ``source``'s proportions and placement (see the module docstring).

    ``source_aspect`` is the source image's width / height (default: the driver's). The result is
    normalised to the source frame. Without a person in the source or the driver, the input comes
    back unchanged with ``meta["alignment_warning"]`` saying why.
    """
    driver_aspect = seq.width / seq.height if seq.width > 0 and seq.height > 0 else (source_aspect or 1.0)
    source_aspect = float(source_aspect or driver_aspect)

    # 1. choose the reference frame and the anchor joint visible in both poses
    ref = _reference_frame(seq, reference_frame)
    if ref is None:
        return _unchanged(seq, "no person found in the driving poses, so they were not aligned")
    anchor = next((j for j in (NECK, NOSE) if source.body[j, 2] > 0 and seq.body[ref, j, 2] > 0), None)
    if anchor is None:
        return _unchanged(seq, "no person (neck or nose) found in the source image, so the motion was not aligned")

    src_body = _to_units(source.body, source_aspect)
    ref_body = _to_units(seq.body[ref], driver_aspect)

    # 2.-3. global scale and per-bone length ratios
    scale, bone_ratio, face_scale = _scales(seq, source, ref, src_body, ref_body, source_aspect, driver_aspect)

    # 4. rebuild every frame down the tree
    body_units = _to_units(seq.body, driver_aspect)  # (T, 18, 2)
    body_present = seq.body[:, :, 2] > 0  # (T, 18)
    src_anchor, drv_anchor = src_body[anchor], ref_body[anchor]

    def similarity(points: np.ndarray) -> np.ndarray:
        return src_anchor + (points - drv_anchor) * scale

    new_body = np.zeros_like(body_units)
    for joint in BODY_ORDER:
        parent = BODY_PARENT.get(joint)
        new_body[:, joint] = similarity(body_units[:, joint])
        if parent is not None:
            attached = body_present[:, parent]
            bone = body_units[attached, joint] - body_units[attached, parent]
            new_body[attached, joint] = new_body[attached, parent] + bone * bone_ratio[joint]

    def about_anchor(points: np.ndarray, anchor_joint: int, part_scale: float) -> np.ndarray:
        """Scale (T, N, 2) points about a body joint; frames without that joint use the similarity map."""
        out = similarity(points)
        attached = body_present[:, anchor_joint]
        offsets = points[attached] - body_units[attached, anchor_joint][:, None, :]
        out[attached] = new_body[attached, anchor_joint][:, None, :] + offsets * part_scale
        return out

    hands_units = _to_units(seq.hands, driver_aspect)
    new_hands = np.stack([about_anchor(hands_units[:, side], HAND_WRISTS[side], scale) for side in range(2)], axis=1)
    new_face = about_anchor(_to_units(seq.face, driver_aspect), NOSE, face_scale)

    # 5. back to normalised source-frame coordinates; missing points stay exactly missing
    def finish(units: np.ndarray, original: np.ndarray) -> np.ndarray:
        return _to_source_frame(units, original, source_aspect)

    meta = dict(seq.meta)
    meta["alignment"] = {"reference_frame": ref, "scale": scale, "anchor": "neck" if anchor == NECK else "nose"}
    height = seq.height
    width = seq.width if abs(source_aspect - driver_aspect) < 1e-9 else int(round(height * source_aspect))
    return PoseSequence(
        finish(new_body, seq.body), finish(new_hands, seq.hands), finish(new_face, seq.face),
        seq.fps, width, height, seq.fingerprint, meta,
    )


def _scales(
    seq: PoseSequence, source: Pose, ref: int, src_body: np.ndarray, ref_body: np.ndarray,
    source_aspect: float, driver_aspect: float,
) -> tuple[float, dict[int, float], float]:
    """(global scale, per-bone length ratio by child joint, face scale) from the reference frame.

    The global scale is the median of the size ratios visible in both poses (shoulder width, neck to
    nose, face spread); a bone or the face missing in either pose takes the global scale.
    """
    src_conf, ref_conf = source.body[:, 2], seq.body[ref, :, 2]
    src_face, drv_face = _to_units(source.face, source_aspect), _to_units(seq.face[ref], driver_aspect)
    face_ratio = _ratio(_spread(src_face, source.face[:, 2]), _spread(drv_face, seq.face[ref, :, 2]))

    def bone_ratio_of(a: int, b: int) -> float | None:
        return _ratio(_bone_length(src_body, src_conf, a, b), _bone_length(ref_body, ref_conf, a, b))

    candidates = [bone_ratio_of(R_SHOULDER, L_SHOULDER), bone_ratio_of(NECK, NOSE), face_ratio]
    found = [r for r in candidates if r is not None]
    scale = float(np.median(found)) if found else 1.0
    bone_ratio = {child: _clamped(bone_ratio_of(parent, child), scale) for child, parent in BODY_PARENT.items()}
    return scale, bone_ratio, _clamped(face_ratio, scale)


def _to_source_frame(units: np.ndarray, original: np.ndarray, source_aspect: float) -> np.ndarray:
    """(..., 2) aspect units back to normalised (..., 3) source-frame points; missing points stay zero."""
    out = np.empty(original.shape, np.float32)
    out[..., 0] = units[..., 0] / source_aspect
    out[..., 1] = units[..., 1]
    out[..., 2] = original[..., 2]
    out[original[..., 2] <= 0] = 0.0
    return out
