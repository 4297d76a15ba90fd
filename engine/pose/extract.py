"""Keypoint extraction with MediaPipe Holistic (bundled models, no downloads), one frame at a time.

MediaPipe's 33 body, 2 x 21 hand and 468 face landmarks are mapped to the canonical format of
docs/architecture.md (OpenPose-18 body, hands [left, right], iBUG-68 face). "Left" is the person's own
left hand, as in DWPose: Holistic's ``left_hand_landmarks`` is the hand at the end of the
person's left arm (pose landmark 15), which appears on the right of the image for a person
facing the camera. ``extract_poses`` runs whichever backend ``engine.pose.backends`` picks (this
one or DWPose) and caches results per video AND extractor (see ``pose_cache_path``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError
from engine.pose import backends
from engine.pose.keypoints import BODY_POINTS, FACE_POINTS, HAND_POINTS, Pose, PoseSequence
from engine.pose.smooth import smooth_sequence
from engine.video import reader

# MediaPipe pose landmark (or pair, averaged) for each OpenPose-18 joint.
BODY_FROM_MEDIAPIPE: list[int | tuple[int, int]] = [
    0, (11, 12), 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7,
]
# MediaPipe face-mesh landmark (or pair, averaged) for each iBUG-68 point.
FACE_FROM_MEDIAPIPE: list[int | tuple[int, int]] = [
    # jaw, from the person's right ear to the left
    127, 234, 93, (132, 58), (58, 172), 136, 150, 176, 152, 400, 379, 365, (397, 288), 361, 323, 454, 356,
    # brows (right, then left)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge, then nostrils
    (168, 6), (197, 195), 5, 4, 75, 97, 2, 326, 305,
    # eyes (right, then left)
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lips, then inner lips
    61, 39, 37, 0, 267, 269, 291, 321, 314, 17, 84, 91, 78, 82, 13, 312, 308, 317, 14, 87,
]
assert len(BODY_FROM_MEDIAPIPE) == BODY_POINTS and len(FACE_FROM_MEDIAPIPE) == FACE_POINTS

# Frames are shrunk to this longest side before analysis: the landmark models work on small
# crops, so 4K pixels only cost decode and copy time. Coordinates are normalised either way.
ANALYSIS_MAX_SIDE = 1280
MODEL_COMPLEXITY = 1  # the only pose model bundled in the mediapipe 0.10.21 wheel
MEDIAPIPE_VERSION = 1  # bump when a change here changes the keypoints (it keys the pose cache)


def _make_holistic(static_image_mode: bool):
    """Create a MediaPipe Holistic detector (tests replace this factory to count or fake calls)."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ log lines off the console
    import mediapipe as mp

    return mp.solutions.holistic.Holistic(
        static_image_mode=static_image_mode,
        model_complexity=MODEL_COMPLEXITY,
        smooth_landmarks=True,
        refine_face_landmarks=False,
    )


def _landmark_array(landmarks, with_visibility: bool) -> np.ndarray:
    if with_visibility:
        return np.array([(p.x, p.y, p.visibility) for p in landmarks.landmark], np.float64)
    return np.array([(p.x, p.y, 1.0) for p in landmarks.landmark], np.float64)


def _pick(points: np.ndarray, mapping: list[int | tuple[int, int]]) -> np.ndarray:
    out = np.empty((len(mapping), 3), np.float64)
    for i, source in enumerate(mapping):
        if isinstance(source, tuple):
            a, b = points[source[0]], points[source[1]]
            out[i, :2] = (a[:2] + b[:2]) / 2
            out[i, 2] = min(a[2], b[2])
        else:
            out[i] = points[source]
    return out


def _only_inside_frame(points: np.ndarray) -> np.ndarray:
    """Points MediaPipe guesses outside the picture count as not found (the file keeps x, y in [0, 1])."""
    outside = (points[..., 0] < 0) | (points[..., 0] > 1) | (points[..., 1] < 0) | (points[..., 1] > 1)
    points = points.copy()
    points[outside | ~(points[..., 2] > 0)] = 0.0
    return points


def pose_from_holistic(result) -> Pose:
    """Map one MediaPipe Holistic result to the canonical ``Pose`` (zeros for parts not found)."""
    pose = Pose.empty()
    if result.pose_landmarks is not None:
        body = _pick(_landmark_array(result.pose_landmarks, with_visibility=True), BODY_FROM_MEDIAPIPE)
        pose.body[:] = _only_inside_frame(np.clip(body, None, [np.inf, np.inf, 1.0]))
    for side, landmarks in enumerate((result.left_hand_landmarks, result.right_hand_landmarks)):
        if landmarks is not None:
            pose.hands[side] = _only_inside_frame(_landmark_array(landmarks, with_visibility=False)[:HAND_POINTS])
    if result.face_landmarks is not None:
        face = _landmark_array(result.face_landmarks, with_visibility=False)
        pose.face[:] = _only_inside_frame(_pick(face, FACE_FROM_MEDIAPIPE))
    return pose


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    longest = max(image.shape[:2])
    if longest > ANALYSIS_MAX_SIDE:
        scale = ANALYSIS_MAX_SIDE / longest
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


class MediaPipeBackend:
    """MediaPipe Holistic as a pose backend (``engine.pose.backends``): one frame at a time, CPU."""

    name = "mediapipe"
    batch_size = 1

    def __init__(self, static_image_mode: bool = False):
        self._static = static_image_mode
        self._holistic = _make_holistic(static_image_mode)
        self.info = {"pose_backend": self.name, "pose_provider": "CPU (MediaPipe)", "extractor_version": MEDIAPIPE_VERSION}

    def detect(self, frames: list[np.ndarray]) -> list[Pose]:
        return [pose_from_holistic(self._holistic.process(_as_rgb(frame))) for frame in frames]

    def reset(self) -> None:  # Holistic tracks between frames: a new video needs a fresh one
        self.close()
        self._holistic = _make_holistic(self._static)

    def close(self) -> None:
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None


def detect_image(image: np.ndarray, backend: str = "mediapipe", pose_model: Path | None = None, device: str = "auto") -> Pose:
    """Keypoints of the person in one RGB image (the source); an empty Pose when nobody is found.

    ``backend``/``pose_model``/``device`` as in ``extract_poses``: align a source with the
    extractor that made the driving poses.
    """
    if backends.resolve_backend(backend, pose_model) == "mediapipe":
        holistic = _make_holistic(static_image_mode=True)
        try:
            return pose_from_holistic(holistic.process(_as_rgb(image)))
        finally:
            holistic.close()
    extractor = backends.open_backend("dwpose", pose_model, device, batch_size=1)
    try:
        return extractor.detect([_as_rgb(image)])[0]
    finally:
        extractor.close()


def pose_cache_path(cache_dir: Path, fingerprint: str, identity: dict) -> Path:
    """``<cache_dir>/<fingerprint>.<backend>-<key>.npz``; the key hashes the backend, its extractor
    version and model files (``backends.backend_identity``), so a changed extractor never reuses stale poses."""
    return Path(cache_dir) / f"{fingerprint}.{identity['pose_backend']}-{backends.identity_key(identity)}.npz"


def cached_pose_files(cache_dir: Path, fingerprint: str) -> list[Path]:
    """Every cached pose file of one video (any backend): what to copy when seeding another cache."""
    return sorted(Path(cache_dir).glob(f"{fingerprint}.*.npz"))


def load_cached(path: Path, fingerprint: str, identity: dict) -> PoseSequence | None:
    """The cache file ``path`` if this extractor (``identity``) made it from this video, else None."""
    if not path.is_file():
        return None
    try:
        seq = PoseSequence.load(path)
    except InputError:  # a damaged cache file is simply recomputed
        return None
    made_by = seq.meta.get("pose_identity")
    return seq if seq.fingerprint == fingerprint and made_by == backends.identity_key(identity) else None


def _with_counts(seq: PoseSequence, from_cache: bool) -> PoseSequence:
    has_person = (seq.body[:, :, 2] > 0).any(axis=1) | (seq.face[:, :, 2] > 0).any(axis=1)
    seq.meta["frames_without_person"] = int((~has_person).sum())
    seq.meta["from_cache"] = from_cache
    return seq


def extract_poses(
    video: Path,
    cache_dir: Path | None = None,
    cancel: CancelToken | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    smooth: float = 0.0,
    backend: str = "auto",
    pose_model: Path | None = None,
    device: str = "auto",
) -> PoseSequence:
    """Keypoints of every frame of ``video`` (frames without a person are kept, all zeros).

    ``on_progress(done, total)`` is called after each frame (or batch); ``total`` is the expected
    frame count. ``backend`` ("auto", "mediapipe", "dwpose"), ``pose_model`` (a folder with the
    DWPose files) and ``device`` choose the extractor (``engine.pose.backends.open_backend``); the
    result's ``meta`` names it (pose_backend, pose_provider, extractor_version).
    With ``cache_dir`` the raw result is stored at ``pose_cache_path`` and reused.
    ``smooth`` > 0 applies the One-Euro filter (``smooth_sequence``) to the result.
    Raises InputError for unreadable videos, videos without frames and videos without any person;
    ModelError for missing or bad DWPose files.
    """
    video = Path(video)
    check(cancel)
    fingerprint = reader.video_fingerprint(video)
    identity = backends.backend_identity(backend, pose_model)
    cache_path = pose_cache_path(cache_dir, fingerprint, identity) if cache_dir is not None else None

    seq = load_cached(cache_path, fingerprint, identity) if cache_path is not None else None
    if seq is not None:
        seq = _with_counts(seq, from_cache=True)
        if on_progress is not None:
            on_progress(len(seq), len(seq))
    else:
        extractor = backends.open_backend(identity["pose_backend"], pose_model, device)
        try:
            seq = _extract_uncached(video, fingerprint, extractor, cancel, on_progress)
        finally:
            extractor.close()
        seq.meta["pose_identity"] = backends.identity_key(identity)
        if cache_path is not None:
            try:
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                seq.save(cache_path)
            except OSError as exc:  # the cache only saves time; losing it must not lose the result
                seq.meta["cache_warning"] = f"could not write the pose cache {cache_path}: {exc.strerror or exc}"
    return smooth_sequence(seq, smooth) if smooth > 0 else seq


def _extract_uncached(video: Path, fingerprint: str, extractor, cancel, on_progress) -> PoseSequence:
    info = reader.probe(video)
    total = max(1, int(info.frame_count))
    poses: list[Pose] = []
    # DWPose resizes each full frame to its detection resolution itself, as the official code does
    max_side = ANALYSIS_MAX_SIDE if extractor.name == "mediapipe" else None
    pending: list[np.ndarray] = []
    for frame in _with_end(reader.iter_frames(video, max_side=max_side, cancel=cancel)):
        if frame is not None:
            pending.append(np.ascontiguousarray(frame))
        if pending and (frame is None or len(pending) >= extractor.batch_size):
            check(cancel)
            poses.extend(extractor.detect(pending))
            pending = []
            total = max(total, len(poses))
            if on_progress is not None:
                on_progress(len(poses), total)
    if not poses:
        raise InputError(f"{video.name} contains no video frames; choose a video that plays")
    if not any(p.has_person for p in poses):
        raise InputError(
            f"no person found in {video.name}: none of its {len(poses)} frames shows a body or a face; "
            "choose a driving video where a person is clearly visible"
        )
    seq = PoseSequence.from_poses(
        poses, fps=float(info.fps), width=info.width, height=info.height, fingerprint=fingerprint,
        meta=dict(extractor.info),
    )
    if getattr(extractor, "frames_without_detection", 0):  # DWPose then ran on the whole frame, as the official code
        seq.meta["frames_without_detection"] = int(extractor.frames_without_detection)
    return _with_counts(seq, from_cache=False)


def _with_end(frames):
    """The frames, then None: the signal to run the last, partial batch."""
    yield from frames
    yield None
