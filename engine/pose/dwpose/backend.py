"""The DWPose pose backend: frames in, one ``Pose`` per frame out, the person followed over time.

Per frame, as the official ``DWposeDetector``: RGB -> BGR, resize so the short side is 512 rounded
to multiples of 64 (the "detection resolution"), detect persons, run the whole-body model on each
person box (on the whole frame when no person is found, as the official code does), keep one
person. Frames are batched through each model when its batch axis is dynamic.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.pose.dwpose import detector, wholebody
from engine.pose.dwpose.sessions import DETECTOR_FILE, POSE_FILE, Sessions, open_sessions
from engine.pose.keypoints import Pose

DETECT_RESOLUTION = 512
EXTRACTOR_VERSION = 1  # bump when a change here changes the keypoints (it keys the pose cache)


def detection_size(width: int, height: int, resolution: int = DETECT_RESOLUTION) -> tuple[int, int]:
    """(width, height) the frame is resized to before detection: short side ~``resolution``, both multiples of 64."""
    k = resolution / min(width, height)
    return int(np.round(width * k / 64.0)) * 64, int(np.round(height * k / 64.0)) * 64


def resize_for_detection(image_bgr: np.ndarray, resolution: int = DETECT_RESOLUTION) -> np.ndarray:
    height, width = image_bgr.shape[:2]
    size = detection_size(width, height, resolution)
    upscale = resolution / min(width, height) > 1
    return cv2.resize(image_bgr, size, interpolation=cv2.INTER_LANCZOS4 if upscale else cv2.INTER_AREA)


class DWPoseBackend:
    """Keypoints with the official DWPose ONNX models (YOLOX-l + DWPose-LL).

    ``detect(frames)`` takes consecutive RGB frames (H, W, 3) uint8 of one video and returns one
    ``Pose`` each; call it again with the next frames (the followed person carries over) and
    ``reset()`` before another video. ``info`` holds the backend name, provider and versions.
    """

    name = "dwpose"

    def __init__(self, model_dir: Path, device: str = "auto", batch_size: int = 8, threads: int = 0, sessions: Sessions | None = None):
        self.model_dir = Path(model_dir)
        self.sessions = sessions or open_sessions(self.model_dir / DETECTOR_FILE, self.model_dir / POSE_FILE, device, threads)
        self.batch_size = max(1, int(batch_size))
        self.info = {"pose_backend": self.name, "pose_provider": self.sessions.provider, "extractor_version": EXTRACTOR_VERSION}
        self._previous_box: np.ndarray | None = None
        self.frames_without_detection = 0

    def reset(self) -> None:
        self._previous_box = None
        self.frames_without_detection = 0

    def close(self) -> None:
        self.sessions = None

    def detect(self, frames: list[np.ndarray]) -> list[Pose]:
        """One ``Pose`` per RGB frame, normalised to each frame's size (empty Pose: no visible point)."""
        poses: list[Pose] = []
        for start in range(0, len(frames), self.batch_size):
            poses.extend(self._detect_chunk(frames[start:start + self.batch_size]))
        return poses

    def _detect_chunk(self, frames: list[np.ndarray]) -> list[Pose]:
        # 1. detection-resolution BGR frames
        images = [resize_for_detection(np.ascontiguousarray(np.asarray(f)[:, :, ::-1])) for f in frames]
        # 2. person boxes per frame (the whole frame when none, as the official code does)
        boxes = [self._boxes(image, raw) for image, raw in zip(images, self._run_detector(images))]
        # 3. the whole-body model on every box of every frame, batched
        crops, frames_of, centers, scales = [], [], [], []
        for index, (image, frame_boxes) in enumerate(zip(images, boxes)):
            for box in frame_boxes:
                center, scale = wholebody.box_to_center_scale(box)
                crops.append(wholebody.crop(image, center, scale))
                frames_of.append(index)
                centers.append(center)
                scales.append(scale)
        simcc_x, simcc_y = self._run_pose(np.stack(crops))
        # 4. one person per frame, followed over time
        poses = []
        for index, (image, frame_boxes) in enumerate(zip(images, boxes)):
            members = [i for i, f in enumerate(frames_of) if f == index]
            decoded = [wholebody.decode_simcc(simcc_x[i], simcc_y[i], centers[i], scales[i]) for i in members]
            means = np.array([wholebody.body_scores(scores).mean() for _, scores in decoded])
            chosen = wholebody.choose_person(frame_boxes, means, self._previous_box)
            self._previous_box = frame_boxes[chosen]
            points, scores = decoded[chosen]
            height, width = image.shape[:2]
            poses.append(wholebody.to_pose(points, scores, width, height))
        return poses

    def _boxes(self, image: np.ndarray, raw_and_ratio) -> np.ndarray:
        raw, ratio = raw_and_ratio
        found, _ = detector.decode_persons(raw, ratio)
        if len(found):
            return found
        self.frames_without_detection += 1
        height, width = image.shape[:2]
        return np.array([[0.0, 0.0, float(width), float(height)]])

    def _run_detector(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
        inputs, ratios = zip(*(detector.letterbox(image) for image in images))
        outputs = _run(self.sessions.detector, np.stack(inputs), self.sessions.detector_batches)[0]
        return list(zip(outputs, ratios))

    def _run_pose(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        simcc_x, simcc_y = _run(self.sessions.pose, crops, self.sessions.pose_batches)
        return simcc_x, simcc_y


def _run(session, batch: np.ndarray, batches: bool) -> list[np.ndarray]:
    """Run ``session`` on a (N, ...) batch: at once when its batch axis is dynamic, else one item at a time."""
    name = session.get_inputs()[0].name
    if batches:
        return session.run(None, {name: batch})
    parts = [session.run(None, {name: batch[i:i + 1]}) for i in range(len(batch))]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
