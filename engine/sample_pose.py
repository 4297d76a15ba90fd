"""The known poses of the bundled samples: the source (resources/samples/source.png) and the driving video.

The sample is a drawn puppet, which MediaPipe's person detector does not see; its pose is known
exactly, because samples.json records the puppet's seed. A file is only treated as the sample when
its pixels are the puppet the seed draws, so an edited or renamed picture still goes to detection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import StudioError
from engine.pose.keypoints import Pose, PoseSequence
from engine.textfiles import load_json

SAMPLES_JSON = "samples.json"
SOURCE_NAME = "source.png"
MAX_PIXEL_DIFFERENCE = 2  # PNG is lossless; allow a rounding step from other encoders


def known_source_pose(path: str | Path, image: np.ndarray) -> Pose | None:
    """The puppet's rest pose when ``path``/``image`` is the bundled sample source, else None.

    Args:
        path: where the image was read from; the sample has ``samples.json`` beside it.
        image: the image's RGB pixels, HxWx3 uint8, as read from ``path``.

    Returns:
        The puppet's keypoints (normalised like ``engine.pose.extract.detect_image``'s), or None.
    """
    path = Path(path)
    about = path.parent / SAMPLES_JSON
    if path.name != SOURCE_NAME or not about.is_file():
        return None
    try:
        data = load_json(about, what="the samples description")  # the folder may be the user's: capped
        seed, size = int(data["source_identity_seed"]), int(data["size"])
    except (StudioError, ValueError, KeyError, TypeError):
        return None
    if image.shape != (size, size, 3):
        return None
    from engine.puppets.generator import render_puppet, sample_identity

    identity = sample_identity(seed)
    pose = identity.rest_pose()
    drawn = render_puppet(identity, pose, size, size)
    if np.abs(drawn.astype(np.int16) - image.astype(np.int16)).max() > MAX_PIXEL_DIFFERENCE:
        return None
    return pose


DRIVING_POSES_NAME = "driving_poses.npz"
SAMPLE_BACKEND = "sample"  # what pose_backend_of says of the shipped poses: no detector made them


def known_driving_poses(path: str | Path) -> PoseSequence | None:
    """The shipped keypoints of the bundled sample driving video, or None for any other video.

    The sample is a drawn puppet, on which a detector finds garbage; its poses ship beside it in
    ``driving_poses.npz``, which records the video's fingerprint. Only a video whose content has that
    fingerprint (the unedited sample, wherever it was copied with its folder) gets them.

    Args:
        path: the driving video's file; ``samples.json`` and ``driving_poses.npz`` sit beside the sample.

    Returns:
        A ``PoseSequence`` (normalised coordinates, ``meta["pose_backend"] == "sample"``), or None.
    """
    path = Path(path)
    poses_file = path.parent / DRIVING_POSES_NAME
    if not (path.parent / SAMPLES_JSON).is_file() or not poses_file.is_file() or not path.is_file():
        return None
    from engine.video.reader import video_fingerprint

    try:
        poses = PoseSequence.load(poses_file)
        fingerprint = video_fingerprint(path)
    except (StudioError, OSError):
        return None
    if not poses.fingerprint or poses.fingerprint != fingerprint:  # never another video's poses
        return None
    poses.meta["pose_backend"] = SAMPLE_BACKEND
    return poses
