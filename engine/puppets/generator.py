"""Procedural 2D upper-body "puppets": the synthetic training data of the bundled demo model.

``render_puppet(identity, pose, width, height)`` draws one character at any keypoints of the
canonical format (engine/pose/keypoints.py). The picture is a function of the identity and the
keypoints only, so the same puppet looks the same in every pose and a pose image drawn from the
same keypoints (engine/pose/draw.py) says exactly where its parts are. The head's turn, nod and
tilt are recovered from the face points by a scaled-orthographic fit to the identity's face
template (motion.face_rig), so hair, ears, hat and glasses turn with the face.

Seeds: ``TRAIN_IDENTITY_SEEDS`` (0..99_999) are for training; ``HELDOUT_IDENTITY_SEEDS``
(1_000_000 and up) are never used in training: evaluation and the bundled samples use them.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np

from engine.pose.keypoints import Pose
from engine.puppets import draw
from engine.puppets import head as puppet_head
from engine.puppets.motion import (
    HELDOUT_MOTION_SEEDS, REST_CONTROLS, TRAIN_MOTION_SEEDS, Build, MotionGenerator, face_rig,
    frame_controls, pose_from_controls, sample_build,
)

TRAIN_IDENTITY_SEEDS = range(0, 100_000)
HELDOUT_IDENTITY_SEEDS = range(1_000_000, 1_100_000)
_IDENTITY_STREAM = 0x696474  # mixed into the seed so identity and motion seed n are unrelated

RGB = tuple[int, int, int]
SKIN_TONES: tuple[RGB, ...] = ((255, 224, 196), (246, 204, 172), (234, 186, 140), (224, 172, 138),
                               (198, 134, 103), (176, 118, 80), (161, 102, 73), (125, 80, 55), (96, 60, 42))
HAIR_COLOURS: tuple[RGB, ...] = ((25, 20, 20), (60, 40, 30), (105, 70, 40), (150, 70, 35), (220, 185, 110),
                                 (170, 170, 170), (235, 232, 225), (60, 90, 200), (230, 100, 170), (110, 60, 170))
_HAIR_WEIGHTS = (0.22, 0.2, 0.16, 0.1, 0.12, 0.07, 0.04, 0.03, 0.03, 0.03)
EYE_COLOURS: tuple[RGB, ...] = ((90, 55, 30), (40, 30, 25), (70, 120, 190), (70, 130, 80), (130, 100, 50))
HAIR_STYLES = ("bald", "short", "spiky", "bob", "long", "bun", "afro")
_STYLE_WEIGHTS = (0.07, 0.25, 0.08, 0.15, 0.2, 0.13, 0.12)
CLOTHES, NECKLINES = ("tshirt", "longsleeve", "jacket"), ("round", "v")
PATTERNS = ("solid", "hstripes", "vstripes", "dots")
GLASSES, HATS, FACIAL_HAIR = ("none", "round", "square"), ("none", "cap", "beanie"), ("none", "moustache", "beard")
BACKGROUNDS = ("plain", "gradient", "stripes", "checker", "dots")


@dataclass(frozen=True)
class Look:
    """Everything about a puppet's appearance that is not its skeleton (colours are RGB)."""

    skin: RGB
    hair_colour: RGB
    hair_style: str
    eye_colour: RGB
    lip_colour: RGB
    brow_thickness: float  # in head radii
    clothes: str
    clothes_colour: RGB
    clothes_colour2: RGB  # pattern, inner shirt of a jacket
    pattern: str
    neckline: str
    glasses: str
    glasses_colour: RGB
    hat: str
    hat_colour: RGB
    earrings: RGB | None
    facial_hair: str
    background: str
    background_colour: RGB
    background_colour2: RGB


@dataclass(frozen=True)
class Identity:
    """One puppet: its seed, skeleton proportions (``build``) and appearance (``look``)."""

    seed: int
    build: Build
    look: Look

    def rest_pose(self) -> Pose:
        """The puppet standing still, facing the camera, mouth closed: a neutral source pose."""
        return pose_from_controls(self.build, REST_CONTROLS)


def _hsv(h: float, s: float, v: float) -> RGB:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _mix(a, b, t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def _shade(colour, factor: float) -> RGB:
    return tuple(int(min(255, round(c * factor))) for c in colour)


def _distance(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b, dtype=float)))


def sample_identity(seed: int) -> Identity:
    """The puppet of ``seed``: the same seed always gives the same identity."""
    rng = np.random.default_rng([int(seed), _IDENTITY_STREAM])
    build = sample_build(rng)
    pick = lambda options, weights=None: options[rng.choice(len(options), p=weights)]  # noqa: E731
    skin = _mix(pick(SKIN_TONES), (128, 128, 128), rng.uniform(-0.08, 0.08))
    hair_style = pick(HAIR_STYLES, _STYLE_WEIGHTS)
    clothes_colour = _hsv(rng.uniform(), rng.uniform(0.25, 0.9), rng.uniform(0.3, 0.95))
    second = (_hsv(rng.uniform(), rng.uniform(0.1, 0.8), rng.uniform(0.2, 1.0)) if rng.uniform() < 0.6
              else pick(((245, 245, 240), (30, 30, 35))))
    if _distance(second, clothes_colour) < 80:  # a pattern must be visible
        second = (245, 245, 240) if sum(clothes_colour) < 380 else (30, 30, 35)
    background, background2 = (200, 200, 200), (180, 180, 180)
    for _ in range(20):  # keep the figure readable against its background
        h, s, v = rng.uniform(), rng.uniform(0.05, 0.6), rng.uniform(0.15, 1.0)
        background = _hsv(h, s, v)
        background2 = _hsv(h + rng.uniform(-0.1, 0.1), s, float(np.clip(v + rng.choice([-0.15, 0.15]), 0, 1)))
        if _distance(background, clothes_colour) > 110 and _distance(background, skin) > 90:
            break
    hat = pick(HATS, (0.7, 0.15, 0.15)) if hair_style in ("bald", "short", "bob", "long") else "none"
    look = Look(
        skin=skin,
        hair_colour=pick(HAIR_COLOURS, _HAIR_WEIGHTS),
        hair_style=hair_style,
        eye_colour=pick(EYE_COLOURS),
        lip_colour=_mix(_shade(skin, 0.8), (190, 60, 80), rng.uniform(0.25, 0.6)),
        brow_thickness=rng.uniform(0.07, 0.12),
        clothes=pick(CLOTHES, (0.4, 0.3, 0.3)),
        clothes_colour=clothes_colour,
        clothes_colour2=second,
        pattern=pick(PATTERNS, (0.4, 0.2, 0.15, 0.25)),
        neckline=pick(NECKLINES, (0.6, 0.4)),
        glasses=pick(GLASSES, (0.65, 0.17, 0.18)),
        glasses_colour=pick(((20, 20, 20), (120, 60, 30), (200, 40, 40), (40, 60, 160), (200, 170, 60))),
        hat=hat,
        hat_colour=_hsv(rng.uniform(), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9)),
        earrings=pick(((230, 190, 60), (200, 200, 210), (220, 60, 90))) if rng.uniform() < 0.25 else None,
        facial_hair=pick(FACIAL_HAIR, (0.75, 0.1, 0.15)),
        background=pick(BACKGROUNDS, (0.3, 0.3, 0.15, 0.1, 0.15)),
        background_colour=background,
        background_colour2=background2,
    )
    return Identity(int(seed), build, look)




def _to_pixels(points, width: int, height: int) -> np.ndarray:
    """Keypoints (..., 3) in pixels; points that are not finite or far off the frame count as unseen."""
    pixels = np.asarray(points, np.float64) * [width, height, 1.0]
    wild = ~np.isfinite(pixels).all(-1) | (np.abs(pixels[..., :2]) > 4 * max(width, height)).any(-1)
    pixels[wild] = 0.0  # OpenCV's fixed-point coordinates would overflow
    return pixels


def render_puppet(identity: Identity, pose: Pose, width: int, height: int) -> np.ndarray:
    """Draw ``identity`` at ``pose`` on its background: (height, width, 3) uint8 RGB."""
    if width < 8 or height < 8:
        raise ValueError(f"puppet images must be at least 8x8 pixels, got {width}x{height}")
    look, build = identity.look, identity.build
    img = draw.background(look.background, look.background_colour, look.background_colour2, width, height).copy()
    body, hands, face = (_to_pixels(points, width, height) for points in (pose.body, pose.hands, pose.face))
    template = face_rig(build).neutral
    head = draw.fit_head(template, face[:, :2], face[:, 2] >= draw.MIN_CONFIDENCE)
    if head is None and (body[[0, 1], 2] >= draw.MIN_CONFIDENCE).all():
        # No face points: a frontal head at the nose, sized by the neck.
        scale = float(np.linalg.norm(body[0, :2] - body[1, :2])) / 1.55
        head = draw.Head(body[0, :2] - scale * template[30, :2], scale, np.eye(3))
        face = np.c_[head.project(template), np.ones(68)]
    unit = math.sqrt(width * height)
    outline = max(1.0, unit / 160)
    draw.draw_torso(img, look, build, body, head, unit, outline)
    puppet_head.draw_back_hair(img, look, head, outline)
    draw.draw_neck(img, look, body, head, outline)
    draw.draw_arms(img, look, build, body, unit, outline)
    if head is not None:
        puppet_head.draw_head(img, look, build, head, face[:, :2], outline)
    draw.draw_hands(img, look, build, hands, unit, outline)
    return img


PAIR_CLIP_SECONDS = 20.0  # a training pair's two moments lie within one clip this long


@dataclass(frozen=True)
class PairSpec:
    """Which puppet, which motion, and the two moments (seconds) a training pair shows."""

    identity_seed: int
    motion_seed: int
    source_time: float
    target_time: float


def sample_pair_spec(rng: np.random.Generator, held_out: bool = False) -> PairSpec:
    """Draw a pair from the training seeds, or from the held-out seeds for evaluation."""
    identities = HELDOUT_IDENTITY_SEEDS if held_out else TRAIN_IDENTITY_SEEDS
    motions = HELDOUT_MOTION_SEEDS if held_out else TRAIN_MOTION_SEEDS
    identity_seed = int(rng.integers(identities.start, identities.stop))
    motion_seed = int(rng.integers(motions.start, motions.stop))
    source_time, target_time = rng.uniform(0.0, PAIR_CLIP_SECONDS, 2)
    return PairSpec(identity_seed, motion_seed, float(source_time), float(target_time))


def sample_pair(rng_or_seed, size: int = 128, held_out: bool = False) -> tuple[np.ndarray, np.ndarray, Pose]:
    """A training pair: (source image, target image, target pose) of one puppet at two moments of one clip.

    Like the paper's pairs (two frames of one video), source and target share identity and
    background and differ only by pose. Images are (size, size, 3) uint8 RGB.
    """
    rng = rng_or_seed if isinstance(rng_or_seed, np.random.Generator) else np.random.default_rng(rng_or_seed)
    spec = sample_pair_spec(rng, held_out)
    identity = sample_identity(spec.identity_seed)
    controls = MotionGenerator(spec.motion_seed).controls_at(np.array([spec.source_time, spec.target_time]))
    source_pose, target_pose = (pose_from_controls(identity.build, frame_controls(controls, i)) for i in (0, 1))
    return (render_puppet(identity, source_pose, size, size), render_puppet(identity, target_pose, size, size),
            target_pose)
