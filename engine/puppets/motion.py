"""Puppet bodies and their talking-and-gesturing motion, as canonical keypoints.

A puppet's skeleton is a ``Build`` (proportions and rest position, part of its identity); what it
does over time is a ``Motion``: named control channels (head turn, blink, mouth opening, arm
raise, finger curl, ...) that are smooth functions of time. ``pose_from_controls`` turns one
frame's controls into a ``Pose`` for one build, so any motion plays on any puppet.

The face is a 3D template of the 68 iBUG points (x right, y down, z towards the camera, in units
of the head radius) with linear expression shapes, rotated and projected orthographically; so a
head turn moves nose, eyes and jaw the way a real face's keypoints move.

Seeds: training uses motion seeds in ``TRAIN_MOTION_SEEDS`` (0..99_999); evaluation and the
bundled samples use held-out seeds from ``HELDOUT_MOTION_SEEDS`` (1_000_000 and up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np

from engine.pose.keypoints import Pose, PoseSequence

TRAIN_MOTION_SEEDS = range(0, 100_000)
HELDOUT_MOTION_SEEDS = range(1_000_000, 1_100_000)
_MOTION_STREAM = 0x6D6F74  # mixed into the seed so motion and identity seed n are unrelated

_ARM_CHANNELS = ("raise", "spread", "reach", "wrist", "turn", "curl0", "curl1", "curl2", "curl3", "curl4")
CHANNELS = (
    "head_yaw", "head_pitch", "head_roll", "head_dx", "head_dy",
    "eyes_closed", "brow", "mouth_open", "smile",
    "lean", "sway", "shrug_r", "shrug_l",
) + tuple(f"{side}_{name}" for side in ("r", "l") for name in _ARM_CHANNELS)
REST_CONTROLS: Mapping[str, float] = {name: 0.0 for name in CHANNELS}

# Template landmarks outside the 68: eye centres and ears (OpenPose body points 14..17).
EAR_POINTS = np.array([[-1.0, 0.08, -0.1], [1.0, 0.08, -0.1]])  # [right ear, left ear]
NECK_TOP = np.array([0.0, 0.75, -0.3])  # where the neck meets the head, hidden under the jaw


@dataclass(frozen=True)
class Build:
    """Skeleton proportions and rest position of one puppet, in normalised frame units."""

    center_x: float = 0.5
    hip_y: float = 0.97
    torso_length: float = 0.40
    head_radius: float = 0.13
    neck_length: float = 1.35  # head centre above the shoulder line, in head radii
    shoulder_half_width: float = 0.2
    hip_half_width: float = 0.17
    upper_arm: float = 0.21
    forearm: float = 0.18
    hand_length: float = 0.13
    arm_radius: float = 0.042  # used by the renderer: sleeve thickness
    face_width: float = 1.0  # the face template's x scale
    eye_size: float = 1.0
    eye_spacing: float = 1.0
    mouth_width: float = 1.0
    chin_length: float = 1.0


def sample_build(rng: np.random.Generator) -> Build:
    """Random proportions, chosen so that the head and hands stay in frame while moving."""
    u = rng.uniform
    head_radius = u(0.125, 0.155)
    neck_y = u(0.53, 0.59)
    torso_length = u(0.37, 0.44)
    shoulder = u(0.17, 0.235)
    return Build(
        center_x=0.5 + u(-0.05, 0.05),
        hip_y=min(neck_y + torso_length, 0.985),
        torso_length=min(torso_length, 0.985 - neck_y),
        head_radius=head_radius,
        neck_length=u(1.25, 1.45),
        shoulder_half_width=shoulder,
        hip_half_width=shoulder * u(0.78, 0.95),
        upper_arm=u(0.19, 0.23),
        forearm=u(0.16, 0.19),
        hand_length=u(0.12, 0.145),
        arm_radius=u(0.036, 0.05),
        face_width=u(0.9, 1.08),
        eye_size=u(0.85, 1.2),
        eye_spacing=u(0.92, 1.08),
        mouth_width=u(0.85, 1.15),
        chin_length=u(0.9, 1.1),
    )


@dataclass(frozen=True)
class FaceRig:
    """A build's 68-point face template and its linear expression shapes (each (68, 3))."""

    neutral: np.ndarray
    mouth_open: np.ndarray
    smile: np.ndarray
    eyes_closed: np.ndarray
    brow: np.ndarray


@lru_cache(maxsize=4096)
def face_rig(build: Build) -> FaceRig:
    """The iBUG-68 template for ``build`` (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, lips 48-67)."""
    p = np.zeros((68, 3))
    # Jaw: a squarish U from the right ear (image left) round the chin to the left ear.
    a = np.linspace(0.0, math.pi, 17)
    c, s = np.cos(a), np.sin(a)
    p[:17, 0] = -0.9 * np.sign(c) * np.abs(c) ** 0.75
    p[:17, 1] = 0.05 + 0.93 * build.chin_length * np.abs(s) ** 1.4
    p[:17, 2] = 0.6 * s**2
    brow_x = np.array([-0.66, -0.54, -0.40, -0.27, -0.15])
    brow_y = np.array([-0.31, -0.39, -0.41, -0.39, -0.34])
    p[17:22, :2] = np.stack([brow_x, brow_y], 1)
    p[22:27, :2] = np.stack([-brow_x[::-1], brow_y[::-1]], 1)
    p[27:31, 1] = [-0.18, -0.05, 0.08, 0.2]
    p[27:31, 2] = [0.9, 0.98, 1.05, 1.12]
    p[31:36, 0] = [-0.16, -0.08, 0.0, 0.08, 0.16]
    p[31:36, 1] = [0.27, 0.30, 0.31, 0.30, 0.27]
    p[31:36, 2] = [0.88, 0.95, 1.0, 0.95, 0.88]
    # Eyes: corner, two upper-lid points, corner, two lower-lid points (iBUG order per eye).
    half_w, half_up, half_down = 0.19 * build.eye_size, 0.115 * build.eye_size, 0.1 * build.eye_size
    eye_shape = np.array([[-half_w, 0], [-0.35 * half_w, -half_up], [0.35 * half_w, -half_up],
                          [half_w, 0], [0.35 * half_w, half_down], [-0.35 * half_w, half_down]])
    for first, centre_x in ((36, -0.4), (42, 0.4)):
        p[first:first + 6, 0] = centre_x * build.eye_spacing + eye_shape[:, 0]
        p[first:first + 6, 1] = -0.04 + eye_shape[:, 1]
    # Lips: outer 48-59 from the right corner over the top and back along the bottom; inner 60-67.
    w = 0.26 * build.mouth_width
    outer = [(-w, 0), (-0.6 * w, -0.07), (-0.22 * w, -0.1), (0, -0.08), (0.22 * w, -0.1), (0.6 * w, -0.07),
             (w, 0), (0.6 * w, 0.08), (0.25 * w, 0.11), (0, 0.12), (-0.25 * w, 0.11), (-0.6 * w, 0.08)]
    inner = [(-0.8 * w, 0), (-0.35 * w, -0.03), (0, -0.03), (0.35 * w, -0.03),
             (0.8 * w, 0), (0.35 * w, 0.03), (0, 0.03), (-0.35 * w, 0.03)]
    p[48:68, :2] = np.array(outer + inner) + [0.0, 0.55]
    # Points on the face front get the depth of a rounded face (nose already set).
    front = np.r_[17:27, 36:68]
    p[front, 2] = 0.92 * np.sqrt(np.clip(1.0 - (p[front, 0] / 1.05) ** 2, 0.0, 1.0))
    p[:, 0] *= build.face_width

    mouth_open = np.zeros_like(p)
    lower = np.r_[55:60, 65:68]
    mouth_open[lower, 1] = 0.3 * (1.0 - 0.5 * (p[lower, 0] / (w * build.face_width)) ** 2)
    mouth_open[[48, 54, 60, 64], 1] = [0.08, 0.08, 0.12, 0.12]
    mouth_open[[48, 54], 0] = [0.04, -0.04]  # an open mouth is rounder
    mouth_open[np.r_[49:54, 61:64], 1] = -0.02
    mouth_open[4:13, 1] = 0.22 * s[4:13] ** 3  # the jaw drops with the lower lip
    smile = np.zeros_like(p)
    for index, sign in ((48, -1), (60, -1), (54, 1), (64, 1)):
        smile[index] = [0.06 * sign, -0.06, 0]
    for index, sign in ((49, -1), (59, -1), (53, 1), (55, 1)):
        smile[index] = [0.02 * sign, -0.03, 0]
    eyes_closed = np.zeros_like(p)
    eyes_closed[[37, 38, 43, 44], 1] = half_up + 0.6 * half_down
    eyes_closed[[40, 41, 46, 47], 1] = -0.4 * half_down
    brow = np.zeros_like(p)
    brow[17:27, 1] = -0.09
    shapes = (p, mouth_open, smile, eyes_closed, brow)
    for shape in shapes:
        shape.setflags(write=False)  # shared through the cache
    return FaceRig(*shapes)


def head_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation (3, 3) of the head template: turn about y, nod about x, then tilt in the image plane."""
    cy, sy, cp, sp, cr, sr = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch),
                              math.cos(roll), math.sin(roll))
    turn = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    nod = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    tilt = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return tilt @ nod @ turn


def _rotate2(vector: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]])


# Hand layout in units of hand length: u along the hand, v towards the thumb.
_FINGER_MCP = np.array([[0.46, 0.17], [0.5, 0.05], [0.48, -0.07], [0.43, -0.18]])
_FINGER_FAN = np.array([0.12, 0.02, -0.08, -0.2])
_FINGER_SEGMENTS = np.array([[0.22, 0.14, 0.11], [0.25, 0.16, 0.12], [0.23, 0.15, 0.11], [0.18, 0.11, 0.09]])
_FINGER_FLEX = np.radians([75.0, 100.0, 70.0])  # per joint at full curl; fingers bend towards the palm
_THUMB_OPEN = np.array([[0.1, 0.12], [0.22, 0.25], [0.32, 0.33], [0.42, 0.38]])
_THUMB_CURLED = np.array([[0.1, 0.12], [0.25, 0.2], [0.38, 0.12], [0.45, 0.02]])


def _hand_points(wrist: np.ndarray, angle: float, outward: float, length: float,
                 turn: float, curls: np.ndarray) -> np.ndarray:
    """21 OpenPose hand points (2D) for a hand pointing ``angle`` radians from straight down."""
    along = np.array([outward * math.sin(angle), math.cos(angle)])
    towards_thumb = np.array([-outward * math.cos(angle), math.sin(angle)]) * math.cos(turn * math.radians(65))
    local = np.zeros((21, 2))
    local[1:5] = _THUMB_OPEN + (_THUMB_CURLED - _THUMB_OPEN) * curls[0]
    for finger in range(4):
        fan = _FINGER_FAN[finger]
        direction = np.array([math.cos(fan), math.sin(fan)])
        # A curled finger bends out of the image plane: its projected segments shorten and turn back.
        bend = np.cumsum(_FINGER_FLEX * curls[finger + 1])
        reach = np.cumsum(_FINGER_SEGMENTS[finger] * np.cos(bend))
        first = 5 + 4 * finger
        local[first] = _FINGER_MCP[finger]
        local[first + 1:first + 4] = _FINGER_MCP[finger] + reach[:, None] * direction
    return wrist + length * (local[:, :1] * along + local[:, 1:] * towards_thumb)


def pose_from_controls(build: Build, controls: Mapping[str, float]) -> Pose:
    """The keypoints of ``build`` doing one frame of ``controls`` (missing channels are at rest)."""
    c = {**REST_CONTROLS, **controls}
    r = build.head_radius
    lean = math.radians(5.0) * c["lean"]
    hip_centre = np.array([build.center_x + 0.03 * c["sway"], build.hip_y])
    neck_base = hip_centre + _rotate2(np.array([0.0, -build.torso_length]), lean)
    axis = _rotate2(np.array([1.0, 0.0]), lean)
    up = _rotate2(np.array([0.0, -1.0]), lean)
    r_shoulder = neck_base - axis * build.shoulder_half_width + up * 0.03 * c["shrug_r"]
    l_shoulder = neck_base + axis * build.shoulder_half_width + up * 0.03 * c["shrug_l"]
    neck = (r_shoulder + l_shoulder) / 2

    rig = face_rig(build)
    local = (rig.neutral + c["mouth_open"] * rig.mouth_open + c["smile"] * rig.smile
             + c["eyes_closed"] * rig.eyes_closed + c["brow"] * rig.brow)
    rotation = head_rotation(math.radians(30) * c["head_yaw"], math.radians(15) * c["head_pitch"],
                             math.radians(12) * c["head_roll"] + 0.6 * lean)
    head_centre = (neck + _rotate2(np.array([0.0, -build.neck_length * r]), lean)
                   + r * np.array([0.15 * c["head_dx"], 0.1 * c["head_dy"]]))
    project = lambda points: (points @ rotation.T)[:, :2] * r + head_centre  # noqa: E731
    face = project(local)
    eyes = np.stack([face[36:42].mean(0), face[42:48].mean(0)])
    ears = project(EAR_POINTS)

    body = np.zeros((18, 3))
    body[[0, 1, 2, 5], :2] = [face[30], neck, r_shoulder, l_shoulder]
    body[[14, 15, 16, 17], :2] = [eyes[0], eyes[1], ears[0], ears[1]]
    body[8, :2] = hip_centre - axis * build.hip_half_width
    body[11, :2] = hip_centre + axis * build.hip_half_width
    hands = np.zeros((2, 21, 3))
    arms = (("r", r_shoulder, -1.0, (3, 4), 1), ("l", l_shoulder, 1.0, (6, 7), 0))  # hands are [left, right]
    for side, shoulder, outward, joints, hand_index in arms:
        raise_, spread = c[f"{side}_raise"], c[f"{side}_spread"]
        upper_angle = math.radians(12 + 14 * spread + 22 * raise_)  # from straight down, outwards
        fore_angle = upper_angle - math.radians(70 + 85 * raise_) + math.radians(35) * max(spread, 0.0)
        depth = 0.75 - 0.25 * c[f"{side}_reach"]  # a forearm pointing at the camera looks shorter
        elbow = shoulder + build.upper_arm * np.array([outward * math.sin(upper_angle), math.cos(upper_angle)])
        wrist = elbow + build.forearm * depth * np.array([outward * math.sin(fore_angle), math.cos(fore_angle)])
        curls = np.array([c[f"{side}_curl{k}"] for k in range(5)])
        hand = _hand_points(wrist, fore_angle + math.radians(35) * c[f"{side}_wrist"], outward,
                            build.hand_length * (0.85 + 0.15 * depth), c[f"{side}_turn"], curls)
        body[joints[0], :2], body[joints[1], :2] = elbow, wrist
        hands[hand_index, :, :2] = hand
    body[[0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 14, 15, 16, 17], 2] = 1.0
    hands[:, :, 2] = 1.0
    face3 = np.concatenate([face, np.ones((68, 1))], 1)
    for array in (body, hands, face3):
        array[..., :2] = np.clip(array[..., :2], 0.0, 1.0)
    body[[9, 10, 12, 13]] = 0.0  # knees and ankles: out of an upper-body frame
    return Pose(body.astype(np.float32), hands.astype(np.float32), face3.astype(np.float32))


_UNIPOLAR = {"eyes_closed", "mouth_open", "smile", "shrug_r", "shrug_l"} | {
    f"{side}_{name}" for side in ("r", "l") for name in ("raise", "turn", "curl0", "curl1", "curl2", "curl3", "curl4")
}


class _Wave:
    """A smooth random signal of unit RMS: a sum of sinusoids with random frequencies and phases."""

    def __init__(self, rng: np.random.Generator, low_hz: float, high_hz: float, count: int = 6):
        self.freqs = np.exp(rng.uniform(math.log(low_hz), math.log(high_hz), count))
        self.phases = rng.uniform(0.0, 2 * math.pi, count)
        amps = rng.uniform(0.5, 1.0, count) / np.sqrt(self.freqs / low_hz)  # slow parts dominate
        self.amps = amps / math.sqrt(float(np.sum(amps**2)) / 2)

    def __call__(self, times: np.ndarray) -> np.ndarray:
        angles = 2 * math.pi * self.freqs[:, None] * times[None, :] + self.phases[:, None]
        return (self.amps[:, None] * np.sin(angles)).sum(0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class MotionGenerator:
    """Speech-like motion for one seed; ``controls_at`` evaluates it at any times (seconds).

    Every channel is a smooth function of time, so a clip's first frames do not depend on its
    length, and a training pair can be drawn at two random times without rendering a clip.
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        rng = np.random.default_rng([self.seed, _MOTION_STREAM])
        w = lambda low, high: _Wave(rng, low, high)  # noqa: E731
        self._talk, self._syllable_jitter, self._loudness = w(0.03, 0.2), w(0.1, 0.5), w(0.2, 1.0)
        self._syllable_rate = rng.uniform(3.0, 4.5)
        self._talk_bias = rng.uniform(0.5, 2.0)
        self._head = [w(0.04, 0.4), w(0.08, 0.6), w(0.04, 0.3), w(0.05, 0.4), w(0.05, 0.4), w(0.5, 1.5)]
        self._face = [w(0.1, 0.6), w(0.02, 0.12)]
        self._body = [w(0.03, 0.2), w(0.03, 0.15), w(0.1, 0.5), w(0.1, 0.6), w(0.1, 0.6)]
        self._gesture_common = w(0.05, 0.3)
        self._arms = {side: [w(0.05, 0.3), w(0.3, 1.0), w(0.05, 0.4), w(0.05, 0.4), w(0.1, 0.8), w(0.05, 0.5),
                             w(0.1, 0.6)] + [w(0.2, 1.0) for _ in range(5)] for side in ("r", "l")}
        self._arm_bias = {side: rng.uniform(-0.5, 1.0) for side in ("r", "l")}
        self._blink_rng = np.random.default_rng([self.seed, _MOTION_STREAM, 1])
        self._blinks: list[float] = [float(self._blink_rng.uniform(0.3, 3.0))]

    def _blink_times(self, until: float) -> np.ndarray:
        while self._blinks[-1] < until + 1.0:
            self._blinks.append(self._blinks[-1] + float(self._blink_rng.uniform(1.5, 5.0)))
        return np.array(self._blinks)

    def controls_at(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Every channel of ``CHANNELS`` at ``times`` (seconds), as float32 arrays."""
        t = np.asarray(times, np.float64).reshape(-1)
        talk = _sigmoid(2.5 * self._talk(t) + self._talk_bias)
        syllables = 2 * math.pi * self._syllable_rate * t + 1.2 * self._syllable_jitter(t)
        loudness = np.clip(0.5 + 0.5 * self._loudness(t), 0.0, 1.0)
        out = {
            "mouth_open": talk * (0.35 + 0.65 * loudness) * (0.5 - 0.5 * np.cos(syllables)) ** 1.5,
            "head_yaw": 0.55 * self._head[0](t),
            "head_pitch": 0.35 * self._head[1](t) + 0.25 * talk * self._head[5](t),
            "head_roll": 0.45 * self._head[2](t),
            "head_dx": 0.6 * self._head[3](t),
            "head_dy": 0.6 * self._head[4](t),
            "brow": 0.45 * self._face[0](t) + 0.3 * talk * loudness - 0.1,
            "smile": 0.35 + 0.45 * self._face[1](t),
            "lean": 0.5 * self._body[0](t),
            "sway": 0.5 * self._body[1](t),
        }
        shrug = 0.7 * self._body[2](t) - 0.5
        out["shrug_r"] = shrug + 0.3 * self._body[3](t)
        out["shrug_l"] = shrug + 0.3 * self._body[4](t)
        blinks = self._blink_times(float(t.max(initial=0.0)))
        out["eyes_closed"] = np.exp(-0.5 * ((t[:, None] - blinks[None, :]) / 0.06) ** 2).sum(1)
        common = self._gesture_common(t)
        for side, waves in self._arms.items():
            gate = _sigmoid(2.0 * (0.6 * common + 0.8 * waves[0](t)) + self._arm_bias[side]) * (0.3 + 0.7 * talk)
            out[f"{side}_raise"] = gate * (0.55 + 0.45 * waves[1](t))
            out[f"{side}_spread"] = 0.5 * waves[2](t) + 0.3 * gate
            out[f"{side}_reach"] = 0.5 * waves[3](t) + 0.3 * gate
            out[f"{side}_wrist"] = 0.5 * waves[4](t)
            out[f"{side}_turn"] = 0.5 + 0.5 * waves[5](t)
            curl = 0.5 + 0.35 * waves[6](t) - 0.3 * gate  # gesturing hands open up
            for finger in range(5):
                out[f"{side}_curl{finger}"] = curl + 0.2 * waves[7 + finger](t)
        low = {name: (0.0 if name in _UNIPOLAR else -1.0) for name in CHANNELS}
        return {name: np.clip(out[name], low[name], 1.0).astype(np.float32) for name in CHANNELS}


@dataclass(frozen=True, eq=False)
class Motion:
    """A clip's control channels: ``channels[name]`` is a (frames,) float32 array."""

    seed: int
    fps: float
    channels: dict[str, np.ndarray] = field(repr=False)

    def __len__(self) -> int:
        return len(self.channels[CHANNELS[0]])

    def at(self, frame: int) -> dict[str, float]:
        """Frame ``frame``'s controls by channel name."""
        return frame_controls(self.channels, frame)


def frame_controls(channels: Mapping[str, np.ndarray], index: int) -> dict[str, float]:
    """One frame's controls out of per-channel arrays (as returned by ``MotionGenerator.controls_at``)."""
    return {name: float(values[index]) for name, values in channels.items()}


def sample_controls(seed: int, frames: int, fps: float = 20.0) -> Motion:
    """``frames`` frames of motion ``seed`` at ``fps``."""
    return Motion(int(seed), float(fps), MotionGenerator(seed).controls_at(np.arange(frames) / fps))


def pose_for(build_or_identity, motion: Motion, frame: int) -> Pose:
    """The pose of a puppet (a ``Build`` or an object with ``.build``) at ``motion`` frame ``frame``."""
    build = getattr(build_or_identity, "build", build_or_identity)
    return pose_from_controls(build, motion.at(frame))


def sample_motion(seed: int, frames: int, fps: float = 20.0, identity=None) -> PoseSequence:
    """Keypoints of motion ``seed`` played by ``identity`` (default: an average build), width/height 0."""
    motion = sample_controls(seed, frames, fps)
    build = getattr(identity, "build", identity) or Build()
    poses = [pose_from_controls(build, motion.at(k)) for k in range(frames)]
    return PoseSequence.from_poses(poses, fps, meta={"motion_seed": int(seed)})
