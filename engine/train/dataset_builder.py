"""From a folder of talk videos to a training dataset: the paper's preprocessing (section 3.4).

Per video: extract keypoints (MediaPipe Holistic, cached), choose one square crop around the
upper body from the clip's median pose (a crop that moves would teach the model camera shake),
resample to 20 fps, drop clips whose face or hands are missing in too many frames, then store
the cropped frames as JPEG files plus the poses in crop coordinates (our ``.npz`` format).
``index.json`` lists every video with its outcome and is rewritten after each one, so a stopped
build resumes where it stopped; a file that cannot be read is reported and skipped.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError, OutputError, StudioError
from engine.textfiles import load_json
from engine.fsutil import atomic_write_bytes
from engine.inputs import VIDEO_SUFFIXES
from engine.pose.keypoints import PoseSequence

INDEX_NAME = "index.json"
FRAME_PATTERN = "{:06d}.jpg"
FORMAT_VERSION = 1
JPEG_QUALITY = 95
CONFIDENT = 0.3  # as the pose drawing: points below this are "not found"
NECK, R_SHOULDER, L_SHOULDER = 1, 2, 5

log = logging.getLogger("engine.train.dataset")


@dataclass(frozen=True)
class ClipStarted:
    """Video ``number`` of ``count`` is being processed."""

    video: str
    number: int
    count: int
    kind: str = "clip-started"


@dataclass(frozen=True)
class ClipProgress:
    """Pose extraction of ``video`` reached frame ``done`` of about ``total``."""

    video: str
    done: int
    total: int
    kind: str = "clip-progress"


@dataclass(frozen=True)
class ClipResult:
    """What happened to one video: ``kept``, ``dropped`` (unsuitable), ``failed`` (unreadable) or ``done before``."""

    video: str
    status: str
    reason: str = ""
    frames: int = 0
    kind: str = "clip"


@dataclass(frozen=True)
class BuildReport:
    """The outcome of ``build_dataset``: one ClipResult per video file, and the index written."""

    index: Path
    results: tuple[ClipResult, ...]

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)


@dataclass(frozen=True)
class CropBox:
    """A square in source pixels: left, top, side."""

    x0: float
    y0: float
    side: float


def build_dataset(
    videos_dir: str | Path,
    out_dir: str | Path,
    size: int = 512,
    fps: float = 20,
    cancel: CancelToken | None = None,
    on_event: Callable[[object], None] | None = None,
    max_missing_face: float = 0.2,
    max_missing_hands: float = 0.5,
    min_crop: int | None = None,
    pose_backend: str = "auto",
    pose_model: str | Path | None = None,
) -> BuildReport:
    """Preprocess every video in ``videos_dir`` into a dataset at ``out_dir`` (see the module docstring).

    A clip is dropped when its face is missing in more than ``max_missing_face`` of its frames,
    when neither hand is visible in more than ``max_missing_hands`` of them, or when the crop is
    smaller than ``min_crop`` source pixels (default ``size // 2``: too blurry once enlarged).
    ``on_event`` receives ClipStarted, ClipProgress and ClipResult events; outcomes are also logged.
    ``pose_backend``/``pose_model`` choose the keypoint extractor (engine.pose.backends); each
    clip's index entry records the one used.
    """
    videos_dir, out_dir = Path(videos_dir).expanduser(), Path(out_dir).expanduser()
    if not videos_dir.is_dir():
        raise InputError(f"videos folder not found: {videos_dir}; check the path")
    if not isinstance(size, int) or size < 16 or size % 8:
        raise InputError(f"the dataset size must be a multiple of 8 of at least 16 (got {size!r})")
    if not 0 < fps <= 120:
        raise InputError(f"the dataset frame rate must be between 0 and 120 fps (got {fps!r})")
    min_crop = size // 2 if min_crop is None else min_crop
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the dataset folder {out_dir} ({exc.strerror or exc}); choose a writable folder") from None
    index = _load_index(out_dir, size, fps)
    emit = on_event or (lambda event: None)
    files = sorted(p for p in videos_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    results = []
    for number, video in enumerate(videos, start=1):
        check(cancel)
        emit(ClipStarted(video.name, number, len(videos)))
        result = _process(video, out_dir, index, size, fps, cancel, max_missing_face, max_missing_hands, min_crop,
                          lambda done, total, name=video.name: emit(ClipProgress(name, done, total)),
                          (pose_backend, pose_model))
        _report(result)
        emit(result)
        results.append(result)
        _write_index(out_dir, index)
    _write_index(out_dir, index)
    return BuildReport(out_dir / INDEX_NAME, tuple(results))


def _report(result: ClipResult) -> None:
    if result.status in ("dropped", "failed"):
        log.warning("%s %s: %s", result.status, result.video, result.reason)
    else:
        log.info("%s %s (%d frames)", result.status, result.video, result.frames)


def _process(video: Path, out_dir: Path, index: dict, size: int, fps: float, cancel, max_missing_face, max_missing_hands, min_crop,
             on_progress, pose=("auto", None)) -> ClipResult:
    from engine.pose.extract import extract_poses
    from engine.video import reader

    try:
        fingerprint = reader.video_fingerprint(video)
        previous = next((clip for clip in index["clips"] if clip.get("fingerprint") == fingerprint), None)
        if previous is not None and previous["status"] in ("kept", "dropped"):
            if previous["status"] == "dropped" or (out_dir / previous["folder"]).is_dir():
                return ClipResult(video.name, "done before", previous.get("reason", ""), int(previous.get("frames", 0)))
        info = reader.probe(video)
        poses = extract_poses(video, cache_dir=out_dir / "pose-cache", cancel=cancel, on_progress=on_progress,
                              backend=pose[0], pose_model=pose[1])
    except InputError as error:
        _record(index, {"video": video.name, "fingerprint": _safe_fingerprint(video), "status": "failed", "reason": str(error)})
        return ClipResult(video.name, "failed", str(error))

    entry = {"video": video.name, "fingerprint": fingerprint, "source_size": [info.width, info.height], "source_fps": float(info.fps),
             "pose_backend": str(poses.meta.get("pose_backend", ""))}
    chosen = resample_indices(len(poses), info.fps, fps)
    box = upper_body_crop(poses, info.width, info.height)
    if box is None:
        return _drop(index, entry, "no upper body found (no face and no shoulders)")
    cropped = crop_poses(poses, chosen, box, info.width, info.height, size, fps)
    missing_face, missing_hands = missing_fractions(cropped)
    entry.update(crop=[round(box.x0, 2), round(box.y0, 2), round(box.side, 2)], missing_face=round(missing_face, 3),
                 missing_hands=round(missing_hands, 3))
    if missing_face > max_missing_face:
        return _drop(index, entry, f"the face is missing in {missing_face:.0%} of the frames (at most {max_missing_face:.0%} allowed)")
    if missing_hands > max_missing_hands:
        return _drop(index, entry, f"the hands are missing in {missing_hands:.0%} of the frames (at most {max_missing_hands:.0%} allowed)")
    if box.side < min_crop:
        return _drop(index, entry, f"the upper body is only {box.side:.0f} pixels tall (at least {min_crop} needed for {size}x{size})")

    name = f"{_safe_name(video.stem)}-{fingerprint[:8]}"
    try:
        _write_clip(video, out_dir / "clips" / name, chosen, box, size, cropped, cancel)
    except InputError as error:  # decoding broke part-way: a damaged file
        _record(index, {**entry, "status": "failed", "reason": str(error)})
        return ClipResult(video.name, "failed", str(error))
    _record(index, {**entry, "status": "kept", "name": name, "folder": f"clips/{name}", "poses": "poses.npz", "frames": len(chosen)})
    return ClipResult(video.name, "kept", frames=len(chosen))


def _drop(index: dict, entry: dict, reason: str) -> ClipResult:
    _record(index, {**entry, "status": "dropped", "reason": reason})
    return ClipResult(entry["video"], "dropped", reason)


def _record(index: dict, entry: dict) -> None:
    index["clips"] = [clip for clip in index["clips"] if clip.get("fingerprint") != entry.get("fingerprint")] + [entry]


def _safe_fingerprint(video: Path) -> str:
    try:
        from engine.video.reader import video_fingerprint

        return video_fingerprint(video)
    except InputError:
        return f"unreadable:{video.name}"


def _safe_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem)[:60] or "clip"


# ----------------------------------------------------------------------------- geometry


def resample_indices(frame_count: int, source_fps: float | Fraction, fps: float | Fraction) -> list[int]:
    """Source frame shown at each tick of the new clock (nearest in time; frames repeat when slowing down)."""
    step = Fraction(source_fps).limit_denominator(1001) / Fraction(fps).limit_denominator(1001)
    chosen, tick = [], 0
    while True:
        index = math.floor(tick * step + Fraction(1, 2))
        if index >= frame_count:
            return chosen
        chosen.append(index)
        tick += 1


def _median_point(points: np.ndarray) -> np.ndarray | None:
    """Median (x, y) over frames of one keypoint track (T, 3), or None where it is rarely found."""
    found = points[:, 2] >= CONFIDENT
    if found.sum() < max(1, len(points) // 4):
        return None
    return np.median(points[found, :2], axis=0)


def upper_body_crop(poses: PoseSequence, width: int, height: int) -> CropBox | None:
    """One square for the whole clip around head and shoulders (median pose), inside the frame.

    Side: 2.6 shoulder widths (elbows and gesturing hands fit), at least 3.5 face heights; the
    top leaves room for hair above the brows. None when neither face nor shoulders are found.
    """
    scale = np.array([width, height], np.float64)
    face_found = (poses.face[:, :, 2] >= CONFIDENT).sum(axis=1) >= 34
    shoulders = [_median_point(poses.body[:, j]) for j in (R_SHOULDER, L_SHOULDER)]
    has_shoulders = all(p is not None for p in shoulders)
    if face_found.sum() < max(1, len(poses) // 4) and not has_shoulders:
        return None
    sides, centre_x, top = [], None, None
    if face_found.any():
        face = poses.face[face_found]
        face_top = np.median(face[:, :, 1].min(axis=1)) * height
        face_height = (np.median(face[:, :, 1].max(axis=1)) - np.median(face[:, :, 1].min(axis=1))) * height
        sides.append(3.5 * face_height)
        centre_x = np.median(face[:, :, 0].mean(axis=1)) * width
        top = face_top - 0.7 * face_height
    if has_shoulders:
        right, left = shoulders[0] * scale, shoulders[1] * scale
        sides.append(2.6 * float(np.linalg.norm(left - right)))
        neck = _median_point(poses.body[:, NECK])
        centre_x = (neck * scale)[0] if neck is not None else (left[0] + right[0]) / 2
        if top is None:  # no face: the head sits about one shoulder width above the shoulder line
            top = min(left[1], right[1]) - 0.9 * float(np.linalg.norm(left - right))
    side = min(max(sides), width, height)
    x0 = float(np.clip(centre_x - side / 2, 0, width - side))
    y0 = float(np.clip(top - 0.05 * side, 0, height - side))
    return CropBox(x0, y0, float(side))


def crop_poses(poses: PoseSequence, chosen: list[int], box: CropBox, width: int, height: int, size: int, fps: float) -> PoseSequence:
    """The chosen frames' keypoints in crop coordinates (normalised to the crop); points outside it are dropped."""

    def to_crop(points: np.ndarray) -> np.ndarray:
        points = points[chosen].astype(np.float32).copy()
        points[..., 0] = (points[..., 0] * width - box.x0) / box.side
        points[..., 1] = (points[..., 1] * height - box.y0) / box.side
        outside = (points[..., 0] < 0) | (points[..., 0] > 1) | (points[..., 1] < 0) | (points[..., 1] > 1)
        points[outside | (points[..., 2] <= 0)] = 0.0
        return points

    return PoseSequence(to_crop(poses.body), to_crop(poses.hands), to_crop(poses.face), float(fps), size, size, poses.fingerprint)


def missing_fractions(poses: PoseSequence) -> tuple[float, float]:
    """Share of frames without a face (under half its points) and without any hand (under half of one's points)."""
    if len(poses) == 0:
        return 1.0, 1.0
    face_missing = (poses.face[:, :, 2] >= CONFIDENT).sum(axis=1) < 34
    hands_missing = ((poses.hands[:, :, :, 2] >= CONFIDENT).sum(axis=2) < 11).all(axis=1)
    return float(face_missing.mean()), float(hands_missing.mean())


# ----------------------------------------------------------------------------- writing


def _write_clip(video: Path, folder: Path, chosen: list[int], box: CropBox, size: int, poses: PoseSequence, cancel) -> None:
    """Frames and poses into ``<folder>.partial``, renamed to ``folder`` once complete."""
    from engine.video import reader

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        written = 0
        wanted = iter(enumerate(chosen))
        position, source_index = next(wanted)
        x0, y0, side = round(box.x0), round(box.y0), round(box.side)
        for index, frame in enumerate(reader.iter_frames(video, cancel=cancel)):
            while source_index == index:
                left, top = min(x0, frame.shape[1] - side), min(y0, frame.shape[0] - side)
                crop = frame[max(0, top):top + side, max(0, left):left + side]
                interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
                image = cv2.resize(crop, (size, size), interpolation=interpolation)
                ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if not ok:
                    raise OutputError(f"could not encode frame {position} of {video.name} as JPEG")
                data.tofile(str(partial / FRAME_PATTERN.format(position)))
                written += 1
                try:
                    position, source_index = next(wanted)
                except StopIteration:
                    source_index = -1
            if source_index < 0:
                break
        if written != len(chosen):
            raise InputError(f"{video.name} ended after {written} of {len(chosen)} frames; re-export it and try again")
        poses.save(partial / "poses.npz")
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except OSError as exc:
        raise OutputError(f"cannot write the dataset clip {folder} ({exc.strerror or exc}); check free space and permissions") from None


def _load_index(out_dir: Path, size: int, fps: float) -> dict:
    path = out_dir / INDEX_NAME
    if not path.is_file():
        return {"format_version": FORMAT_VERSION, "size": size, "fps": float(fps), "clips": []}
    try:
        index = load_json(path, what="the dataset index")
        built_size, built_fps = int(index["size"]), float(index["fps"])
        index["clips"] = list(index["clips"])
    except (StudioError, ValueError, KeyError, TypeError):
        raise InputError(f"{path} is damaged; delete it (the clips are rebuilt) and try again") from None
    if built_size != size or abs(built_fps - float(fps)) > 1e-6:
        raise InputError(
            f"the dataset in {out_dir} was built at {built_size}x{built_size}, {built_fps:g} fps; "
            f"use the same --size and --fps to add to it, or a new output folder"
        )
    return index


def _write_index(out_dir: Path, index: dict) -> None:
    path = out_dir / INDEX_NAME
    try:
        atomic_write_bytes(path, json.dumps(index, indent=1).encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}); check free space and permissions") from None
