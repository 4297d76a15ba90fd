"""Streamed analysis: a driving video's keypoints found on a producer thread, ahead of the render.

A :class:`PoseStream` decodes the video and runs a pose backend (``engine.pose.backends``: MediaPipe
Holistic, whose C++ graph releases the GIL so it runs on another core while the denoiser runs, or
DWPose) on its own thread, ``batch_size`` frames at a time.
Consumers ask for frame ``i`` and wait only if the analysis has not reached it yet; with
``max_ahead`` the producer pauses that many frames past the newest frame asked for (a bounded
queue: analysis never starves the render of CPU for frames far in the future).

Chunks. The backend is reset every ``CHUNK_FRAMES`` frames (MediaPipe tracks from frame to frame,
so without a reset frame ``i``'s keypoints would depend on every frame before it) and each finished
chunk is cached beside the pose cache as ``<cache name>.part-<first>.npz``. A killed analysis
resumes at its last finished chunk and still gives bit-identical keypoints. At the end the chunks
become the consolidated file at ``extract.pose_cache_path`` (same name, format and meta as
``extract_poses`` writes), so a repeated render or ``studio-cli poses`` reuses it; a consolidated
file found at start is used as is. The resets make a streamed analysis differ slightly from an
``extract_poses`` run over the whole video (which never resets); both are valid, and a job
renders from whichever it made first.

Smoothing runs on the producer thread with :class:`engine.pose.smooth.PoseSmoother`, the causal
One-Euro filter that ``smooth_sequence`` runs too, so streamed and batch smoothing are identical.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError
from engine.pose.keypoints import Pose, PoseSequence
from engine.pose.smooth import PoseSmoother
from engine.video import reader

CHUNK_FRAMES = 250  # 10 s at 25 fps: what a killed analysis may have to redo
# Frames analysed past the render's newest frame (~1 MB of keypoints), so that on a CPU-only machine
# the analysis does not take cores from the render for frames minutes away. TALKINGPOSE_ANALYSIS_AHEAD
# overrides it (0: no limit, e.g. to time the whole video's analysis alongside a render).
DEFAULT_MAX_AHEAD = 750
_WAIT_S = 0.1  # how often waiting consumers look at their cancel token


class PoseStream:
    """The keypoints of ``video``, analysed on a thread (call :meth:`start`, then :meth:`close`).

    Args:
        video: the driving video.
        cache_dir: where chunks and the consolidated cache live (None: no cache).
        smooth: One-Euro strength applied to what :meth:`get` returns (the cache stays raw).
        backend, pose_model, device: the pose backend, as for ``extract_poses``.
        max_ahead: frames the producer may run past the newest frame asked for (None: no limit;
            default ``DEFAULT_MAX_AHEAD`` or the TALKINGPOSE_ANALYSIS_AHEAD environment variable).
        chunk_frames: frames per chunk (backend reset and cache file); None: ``CHUNK_FRAMES``.
    """

    def __init__(
        self, video: str | Path, cache_dir: str | Path | None = None, *, smooth: float = 0.0,
        backend: str = "auto", pose_model: str | Path | None = None, device: str = "auto",
        max_ahead: int | None | str = "default", chunk_frames: int | None = None,
        info: reader.VideoInfo | None = None,
    ):
        from engine.pose import backends
        from engine.pose.extract import ANALYSIS_MAX_SIDE, pose_cache_path

        self.video = Path(video)
        info = info if info is not None else reader.probe(self.video)  # the front door probed it already
        self.fps, self.width, self.height = float(info.fps), int(info.width), int(info.height)
        self.expected_frames = max(1, int(info.frame_count))
        self.fingerprint = reader.video_fingerprint(self.video)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_ahead = _default_max_ahead() if max_ahead == "default" else max_ahead
        self.chunk_frames = chunk_frames or CHUNK_FRAMES
        self.identity = backends.backend_identity(backend, pose_model)
        self._backend_args = (self.identity["pose_backend"], pose_model, device)
        # DWPose resizes each full frame itself, as the official code does (same rule as extract_poses)
        self._max_side = ANALYSIS_MAX_SIDE if self.identity["pose_backend"] == "mediapipe" else None
        self._cache_path = pose_cache_path(self.cache_dir, self.fingerprint, self.identity) if self.cache_dir else None
        self._meta: dict = {}
        self._smoother = PoseSmoother(smooth, self.fps)
        self._raw: list[Pose] = []
        self._poses: list[Pose] = []  # smoothed (the raw objects when smoothing is off)
        self._cond = threading.Condition()
        self._wanted = 0
        self._finished = False
        self._stopping = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.cache_warning: str | None = None
        self.from_cache = False
        self._started = False

    # ------------------------------------------------------------------ consumer side

    def start(self) -> "PoseStream":
        """Load what the cache holds, then start the producer thread for the rest (if any)."""
        if not self._started:
            self._started = True
            self.from_cache = self._load_cache()
        if self._thread is None and not self._finished:
            self._thread = threading.Thread(target=self._produce, name="pose-stream", daemon=True)
            self._thread.start()
        return self

    def get(self, index: int, cancel: CancelToken | None = None) -> Pose | None:
        """Frame ``index``'s (smoothed) keypoints, waiting for the analysis if needed; None past the end."""
        if not self._started:
            self.start()
        with self._cond:
            if index > self._wanted:
                self._wanted = index
                self._cond.notify_all()
            while index >= len(self._poses) and not self._finished:
                check(cancel)
                self._cond.wait(_WAIT_S)
            self._raise_error()
            return self._poses[index] if index < len(self._poses) else None

    def ready(self, index: int) -> Pose | None:
        """Frame ``index``'s keypoints if analysed already, else None (never waits: the GUI's scrubber)."""
        with self._cond:
            return self._poses[index] if 0 <= index < len(self._poses) else None

    def find(self, wanted: Callable[[Pose], bool], cancel: CancelToken | None = None) -> int | None:
        """The first frame whose keypoints satisfy ``wanted``, waiting as the analysis goes; None if none."""
        index = 0
        while True:
            pose = self.get(index, cancel)
            if pose is None:
                return None
            if wanted(pose):
                return index
            index += 1

    def progress(self) -> tuple[int, int]:
        """(frames analysed, frames expected); equal once the analysis has finished."""
        with self._cond:
            done = len(self._poses)
            return (done, done) if self._finished and self._error is None else (done, max(done, self.expected_frames))

    @property
    def finished(self) -> bool:
        return self._finished

    def frame_count(self) -> int:
        """The video's frames: exact once finished, the container's estimate before."""
        with self._cond:
            return len(self._poses) if self._finished else max(len(self._poses), self.expected_frames)

    def sequence(self) -> PoseSequence:
        """The raw keypoints of every frame (waits for the end), as ``extract_poses`` returns them."""
        self.get(10**12)
        seq = PoseSequence.from_poses(
            self._raw, fps=self.fps, width=self.width, height=self.height, fingerprint=self.fingerprint,
            meta=dict(self._meta),
        )
        seq.meta["frames_without_person"] = sum(not pose.has_person for pose in self._raw)
        seq.meta["from_cache"] = self.from_cache
        return seq

    def close(self) -> None:
        """Stop the producer and wait for its thread (finished chunks stay cached)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> "PoseStream":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ producer side

    def _produce(self) -> None:
        from engine.pose import backends

        extractor = None
        try:
            extractor = backends.open_backend(*self._backend_args)
            self._meta = {**extractor.info, "pose_identity": backends.identity_key(self.identity)}
            batch_size = max(1, min(int(getattr(extractor, "batch_size", 1)), self.chunk_frames))
            first = len(self._raw)
            pending: list[np.ndarray] = []
            for index, frame in enumerate(reader.iter_frames(self.video, start=first, max_side=self._max_side), first):
                if not self._wait_for_room(index):
                    return
                if index % self.chunk_frames == 0 and index > first:
                    extractor.reset()  # a fresh tracker: chunks do not depend on each other
                pending.append(np.ascontiguousarray(frame))
                chunk_ends = (index + 1) % self.chunk_frames == 0
                if len(pending) >= batch_size or chunk_ends:
                    self._add_batch(extractor.detect(pending))
                    pending = []
                if chunk_ends:
                    self._save_part(index + 1 - self.chunk_frames, index + 1)
            if pending:
                self._add_batch(extractor.detect(pending))
            self._check_result()
            self._save_consolidated()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumers, who raise it
            with self._cond:
                self._error = exc
        finally:
            if extractor is not None:
                extractor.close()
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _add_batch(self, poses: list[Pose]) -> None:
        for pose in poses:
            self._add(pose)

    def _wait_for_room(self, index: int) -> bool:
        with self._cond:
            while not self._stopping and self.max_ahead is not None and index > self._wanted + self.max_ahead:
                self._cond.wait(_WAIT_S)
            return not self._stopping

    def _add(self, raw: Pose) -> None:
        pose = self._smoother.step(raw)
        with self._cond:
            self._raw.append(raw)
            self._poses.append(pose)
            self._cond.notify_all()

    def _check_result(self) -> None:
        name = self.video.name
        if not self._raw:
            raise InputError(f"{name} contains no video frames; choose a video that plays")
        if not any(pose.has_person for pose in self._raw):
            raise InputError(
                f"no person found in {name}: none of its {len(self._raw)} frames shows a body or a face; "
                "choose a driving video where a person is clearly visible"
            )

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    # ------------------------------------------------------------------ cache

    def _part_path(self, first: int) -> Path:
        return self._cache_path.with_name(f"{self._cache_path.stem}.part-{first:07d}.npz")

    def _load_cache(self) -> bool:
        if self._cache_path is None:
            return False
        whole = self._load(self._cache_path)
        if whole is not None and len(whole):
            for index in range(len(whole)):
                self._add(whole[index])
            self._finished = True
            return True
        first = 0
        while (part := self._load(self._part_path(first))) is not None and len(part) == self.chunk_frames:
            for index in range(len(part)):
                self._add(part[index])
            first += self.chunk_frames
        return False

    def _save_part(self, first: int, end: int) -> None:
        if self._cache_path is not None:
            self._save(self._part_path(first), self._raw[first:end])

    def _save_consolidated(self) -> None:
        if self._cache_path is None or not self._save(self._cache_path, self._raw):
            return
        for first in range(0, len(self._raw), self.chunk_frames):
            self._part_path(first).unlink(missing_ok=True)

    def _save(self, path: Path, poses: list[Pose]) -> bool:
        seq = PoseSequence.from_poses(
            poses, fps=self.fps, width=self.width, height=self.height, fingerprint=self.fingerprint, meta=dict(self._meta)
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            seq.save(path)
            return True
        except OSError as exc:  # the cache only saves time; losing it must not stop the render
            self.cache_warning = f"could not write the pose cache {path}: {exc.strerror or exc}"
            return False


    def _load(self, path: Path) -> PoseSequence | None:
        """A cache file made from this video by this extractor, or None."""
        from engine.pose.extract import load_cached

        seq = load_cached(path, self.fingerprint, self.identity)
        if seq is not None:
            self._meta = dict(seq.meta)
        return seq


def _default_max_ahead() -> int | None:
    text = os.environ.get("TALKINGPOSE_ANALYSIS_AHEAD", "").strip()
    if not text:
        return DEFAULT_MAX_AHEAD
    try:
        frames = int(text)
    except ValueError:
        return DEFAULT_MAX_AHEAD
    return None if frames <= 0 else frames
