"""What the trainer reads: training pairs (source frame, target frame, target pose image) from one clip.

Paper 4.2: TalkingPose trains on single frames, so a sample is just two frames of one video, the
first giving the appearance and the second the pose (drawn as a DWPose-style image) and the image
to reproduce. Every dataset here is deterministic by (seed, index): item ``i`` is always the same
pair, so a resumed training run sees exactly the data an uninterrupted one would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError, StudioError
from engine.textfiles import load_json
from engine.pose.keypoints import PoseSequence
from engine.train.dataset_builder import FRAME_PATTERN, INDEX_NAME, build_dataset  # noqa: F401  (public here too)


@dataclass(frozen=True)
class TrainItem:
    """One training pair, all HxWx3 uint8 RGB at the dataset's size."""

    source: np.ndarray  # appearance: a frame of the clip
    target: np.ndarray  # what the model must produce: another frame of the same clip
    pose: np.ndarray  # the target frame's pose, drawn DWPose-style on black


class PairDataset:
    """Base class: ``item(index)`` for any index >= 0, the same pair for the same (seed, index)."""

    size: int
    seed: int

    def item(self, index: int) -> TrainItem:
        raise NotImplementedError

    def __getitem__(self, index: int) -> TrainItem:
        return self.item(index)

    def __len__(self) -> int:
        """Distinct frames available (for reports; ``item`` accepts any index)."""
        raise NotImplementedError

    def _rng(self, index: int) -> np.random.Generator:
        if index < 0:
            raise IndexError(f"dataset index must be 0 or more, got {index}")
        return np.random.default_rng([self.seed, index])


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image
    shrinking = image.shape[0] > size
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


class FolderDataset(PairDataset):
    """A folder written by ``build_dataset``: ``index.json`` + one folder of JPEG frames and a pose file per clip.

    Item ``i``: a clip chosen uniformly (every identity counts the same, however long its video),
    then two different frames of it. ``size`` resizes frames and draws poses at that size (default:
    the size the dataset was built at).
    """

    def __init__(self, dataset_dir: str | Path, size: int | None = None, seed: int = 0):
        self.root = Path(dataset_dir).expanduser()
        index_file = self.root / INDEX_NAME
        if not index_file.is_file():
            raise InputError(f"{self.root} is not a training dataset (no {INDEX_NAME}); make one with 'studio-cli dataset VIDEOS_DIR -o {self.root}'")
        try:
            index = load_json(index_file, what="the dataset index")
            self.clips = [clip for clip in index["clips"] if clip.get("status") == "kept"]
            built_size = int(index["size"])
        except (StudioError, ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"{index_file} is damaged; delete it and run 'studio-cli dataset' again") from None
        if not self.clips:
            raise InputError(f"the dataset {self.root} holds no usable clips; add videos of one person talking and gesturing and rebuild it")
        self.size = int(size or built_size)
        self.seed = seed

    def __len__(self) -> int:
        return sum(int(clip["frames"]) for clip in self.clips)

    def item(self, index: int) -> TrainItem:
        rng = self._rng(index)
        clip = self.clips[int(rng.integers(len(self.clips)))]
        frames = int(clip["frames"])
        source_index, target_index = (rng.choice(frames, size=2, replace=False) if frames > 1 else (0, 0))
        folder = self.root / clip["folder"]
        poses = _load_poses(str(folder / clip["poses"]))
        from engine.pose.draw import draw_pose

        return TrainItem(
            source=_resized(_read_frame(folder, int(source_index)), self.size),
            target=_resized(_read_frame(folder, int(target_index)), self.size),
            pose=draw_pose(poses[int(target_index)], self.size, self.size),
        )


@lru_cache(maxsize=64)
def _load_poses(path: str) -> PoseSequence:
    return PoseSequence.load(path)


def _read_frame(folder: Path, index: int) -> np.ndarray:
    path = folder / FRAME_PATTERN.format(index)
    bgr = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR) if path.is_file() else None
    if bgr is None:
        raise InputError(f"frame {path} of the training dataset is missing or damaged; rebuild the dataset with 'studio-cli dataset'")
    return np.ascontiguousarray(bgr[:, :, ::-1])


class PuppetDataset(PairDataset):
    """Synthetic puppets (engine.puppets): a training identity seen at two poses of one motion clip."""

    def __init__(self, size: int = 128, seed: int = 0):
        self.size, self.seed = size, seed

    def __len__(self) -> int:
        from engine.puppets.generator import TRAIN_IDENTITY_SEEDS

        return len(TRAIN_IDENTITY_SEEDS)

    def item(self, index: int) -> TrainItem:
        from engine.puppets.generator import sample_pair

        source, target, pose = sample_pair(self._rng(index), self.size)
        if not isinstance(pose, np.ndarray) or pose.ndim != 3:  # a Pose rather than its drawing
            from engine.pose.draw import draw_pose

            pose = draw_pose(pose, self.size, self.size)
        return TrainItem(source, target, pose)


def open_dataset(data: str, size: int, seed: int = 0) -> PairDataset:
    """The dataset a TrainConfig's ``data`` names: ``"puppets"`` or a dataset folder."""
    if data == "puppets":
        return PuppetDataset(size, seed)
    return FolderDataset(data, size, seed)
