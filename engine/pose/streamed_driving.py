"""A driving video opened for rendering while its analysis streams (engine.pose.stream).

:class:`StreamedDriving` offers what ``engine.pose.driving.Driving`` offers (fps, frames, pose
images) over a :class:`PoseStream`, plus :meth:`StreamedDriving.ready_pose` for a GUI that must
never wait. Frames are smoothed on the stream and aligned one by one with the same
``align_sequence`` and the same reference frame as the batch path, so they are bit-identical.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.cancel import CancelToken
from engine.errors import InputError
from engine.pose.keypoints import Pose, PoseSequence
from engine.pose.stream import PoseStream

ANALYSIS_EVENT_INTERVAL_S = 0.25  # as often as the CLI's other progress events


class StreamedDriving:
    """A driving video opened for rendering while it is analysed: ``Driving``'s interface over a PoseStream.

    Alignment needs one statistic of the driving person: the reference frame ``align_sequence``
    picks, i.e. the first frame with a neck or a nose (the window is "up to the first such frame";
    the batch path picks the same one, so streamed and batch frames are bit-identical). Rendering
    starts once the analysis has found it (or, without alignment, the first frame with a person);
    frames before it show nobody to align. It is stored in ``reference_file`` on first use, so a
    resumed job aligns with exactly the same reference.
    """

    kind = "video"
    poses = None  # no whole sequence in memory; ask :meth:`pose`

    def __init__(self, stream: PoseStream, align_to: Pose | None = None, source_aspect: float | None = None,
                 reference_file: str | Path | None = None, smooth: float = 0.0):
        self.stream, self.path, self.warnings = stream, stream.video, []
        self._align_to, self._source_aspect, self._smooth = align_to, source_aspect, float(smooth)
        self._reference_file = Path(reference_file) if reference_file is not None else None
        self._reference: Pose | None = None
        self._size = (stream.width, stream.height)  # of the frame the poses are normalised to
        self._prepared = False

    @property
    def fps(self) -> float:
        return self.stream.fps

    @property
    def frames(self) -> int:
        return self.stream.frame_count()

    def prepare(self, cancel: CancelToken | None = None) -> None:
        """Start the analysis and wait until rendering can start (see the class docstring).

        Raises the analysis's InputError (no frames, nobody in the whole video)."""
        if self._prepared:
            return
        self.stream.start()
        stored = self._load_reference()
        if stored is None:
            self.stream.find(lambda pose: pose.has_person, cancel)  # a video without anybody raises here
        if self._align_to is not None:
            index, reference = stored if stored is not None else self._find_reference(cancel)
            if reference is None:
                self.warnings.append("no person found in the driving poses, so they were not aligned")
            else:
                probe = self._aligned([reference])
                if "alignment_warning" in probe.meta:
                    self.warnings.append(probe.meta["alignment_warning"])
                else:
                    self._reference, self._size = reference, (probe.width, probe.height)
        self._prepared = True

    def pose(self, index: int, cancel: CancelToken | None = None) -> Pose | None:
        """Frame ``index``'s smoothed, aligned keypoints (waits for the analysis); None past the end."""
        self.prepare(cancel)
        pose = self.stream.get(index, cancel)
        if pose is None or self._reference is None:
            return pose
        return self._aligned([self._reference, pose])[1]

    def ready_pose(self, index: int) -> Pose | None:
        """Frame ``index``'s keypoints as rendered if analysed already, else None (never waits: a GUI's scrubber)."""
        if self.stream.ready(index) is None or not (self._prepared or self._can_prepare_now()):
            return None
        return self.pose(index)

    def ready_pose_image(self, index: int, width: int, height: int) -> np.ndarray | None:
        """Frame ``index``'s pose image if its keypoints are analysed already, else None (never waits)."""
        pose = self.ready_pose(index)
        return None if pose is None else self._draw(pose, width, height)

    def analysis_progress(self) -> tuple[int, int]:
        """(frames analysed, frames expected)."""
        return self.stream.progress()

    def pose_image(self, index: int, width: int, height: int, cancel: CancelToken | None = None) -> np.ndarray:
        """The pose image of frame ``index``: (height, width, 3) uint8 RGB."""
        pose = self.pose(index, cancel) if index >= 0 else None
        if pose is None:
            raise InputError(
                f"the driving input has {self.frames} frames, so frame {index} does not exist; "
                f"pick a frame from 0 to {self.frames - 1}"
            )
        return self._draw(pose, width, height)

    def iter_pose_images(self, width: int, height: int, start: int = 0, end: int | None = None,
                         cancel: CancelToken | None = None):
        """Pose images of frames ``start``..``end-1`` (or to the video's real end), as the analysis delivers them."""
        index = start
        while end is None or index < end:
            pose = self.pose(index, cancel)
            if pose is None:
                return
            yield self._draw(pose, width, height)
            index += 1

    def final_warnings(self) -> list[str]:
        """Warnings known only at the end of the analysis (frames without a person)."""
        if not self.stream.finished:
            return []
        done, _ = self.stream.progress()
        missing = sum(not self.stream.ready(i).has_person for i in range(done))
        warnings = [f"no person found in {missing} of {done} driving frames; they are left blank"] if missing else []
        return warnings + ([self.stream.cache_warning] if self.stream.cache_warning else [])

    def close(self) -> None:
        self.stream.close()

    # ------------------------------------------------------------------ internals

    def _draw(self, pose: Pose, width: int, height: int) -> np.ndarray:
        from types import SimpleNamespace

        from engine.pose.draw import draw_pose
        from engine.pose.driving import _fit_transform, _placed

        frame = SimpleNamespace(width=self._size[0], height=self._size[1])
        return draw_pose(_placed(pose, _fit_transform(frame, width, height)), width, height)

    def _aligned(self, poses: list[Pose]) -> PoseSequence:
        from engine.pose.align import align_sequence

        seq = PoseSequence.from_poses(poses, fps=self.fps, width=self.stream.width, height=self.stream.height)
        return align_sequence(seq, self._align_to, source_aspect=self._source_aspect)

    def _can_prepare_now(self) -> bool:
        """Whether :meth:`prepare` would return without waiting for the analysis."""
        from engine.pose.align import NECK, NOSE

        if self.stream.finished:
            return True
        need_reference = self._align_to is not None and self._load_reference() is None
        done, _ = self.stream.progress()
        for index in range(done):
            pose = self.stream.ready(index)
            if need_reference and (pose.body[NECK, 2] > 0 or pose.body[NOSE, 2] > 0):
                return True
            if not need_reference and pose.has_person:
                return True
        return False

    def _find_reference(self, cancel) -> tuple[int | None, Pose | None]:
        from engine.pose.align import NECK, NOSE

        index = self.stream.find(lambda pose: pose.body[NECK, 2] > 0 or pose.body[NOSE, 2] > 0, cancel)
        reference = self.stream.get(index, cancel) if index is not None else None
        self._save_reference(index, reference)
        return index, reference

    def _save_reference(self, index: int | None, reference: Pose | None) -> None:
        if self._reference_file is None:
            return
        empty = Pose.empty()
        pose = reference if reference is not None else empty
        tmp = self._reference_file.with_name(self._reference_file.name + ".tmp.npz")
        try:
            self._reference_file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(tmp, fingerprint=np.array(self.stream.fingerprint), smooth=np.float64(self._smooth),
                     index=np.int64(-1 if index is None else index), body=pose.body, hands=pose.hands, face=pose.face)
            tmp.replace(self._reference_file)
        except OSError as exc:  # resume then finds the same reference in the pose cache
            self.warnings.append(f"could not store the alignment reference {self._reference_file}: {exc.strerror or exc}")

    def _load_reference(self) -> tuple[int | None, Pose | None] | None:
        path = self._reference_file
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["fingerprint"]) != self.stream.fingerprint or float(data["smooth"]) != self._smooth:
                    return None
                index = int(data["index"])
                pose = Pose(data["body"], data["hands"], data["face"])
        except Exception:  # noqa: BLE001 - a damaged file is found again from the poses
            return None
        return (None, None) if index < 0 else (index, pose)


def open_streamed(video: Path, cache_dir: Path | None, align_to: Pose | None, source_aspect: float | None,
                  smooth: float, reference_file: Path | None = None, info=None, pose_backend: str = "auto",
                  pose_model: str | Path | None = None) -> StreamedDriving:
    """A :class:`StreamedDriving` for ``video`` (nothing runs until its first pose is asked for);
    ``info`` is its probe result when the caller has it; ``pose_backend``/``pose_model`` pick the
    extractor (engine.pose.backends)."""
    stream = PoseStream(video, cache_dir, smooth=smooth, info=info, backend=pose_backend, pose_model=pose_model)
    return StreamedDriving(stream, align_to, source_aspect, reference_file, smooth)


def open_preview(video: Path, cache_dir: Path | None, align_to: Pose | None = None, source_aspect: float | None = None,
                 smooth: float = 0.0, pose_backend: str = "auto", pose_model: str | Path | None = None) -> StreamedDriving:
    """For a front end that must never wait on a long video: the analysis starts now and runs to the
    video's end (no run-ahead limit) into ``cache_dir``; ``ready_pose_image(i, w, h)`` answers None
    until frame ``i`` is analysed and ``analysis_progress()`` says how far it is. A job seeded from
    ``cache_dir`` (``RenderJob.seed_pose_cache``) reuses its finished chunks. Call ``close()`` when done."""
    stream = PoseStream(video, cache_dir, smooth=smooth, max_ahead=None, backend=pose_backend, pose_model=pose_model)
    driving = StreamedDriving(stream, align_to, source_aspect, None, smooth)
    driving.stream.start()
    return driving


def wait_for_person(video: Path, cache_dir: Path | None, cancel: CancelToken | None = None, on_progress=None,
                    info=None, pose_backend: str = "auto", pose_model: str | Path | None = None) -> int:
    """Analyse ``video`` until a frame shows a person and return its index: a video without anybody
    fails as soon as its analysis ends, before any weights load, while a long one goes on in seconds.
    Finished chunks stay cached for the render. ``on_progress(done, total)`` follows the frames."""
    with PoseStream(video, cache_dir, max_ahead=None, info=info, backend=pose_backend, pose_model=pose_model) as stream:
        index = 0
        while not stream.get(index, cancel).has_person:  # get() raises the no-person error at the end
            index += 1
            if on_progress is not None:
                on_progress(*stream.progress())
        if on_progress is not None:
            on_progress(*stream.progress())
        return index


def with_analysis_events(events, driving, interval_s: float = ANALYSIS_EVENT_INTERVAL_S):
    """Pass a render's events through, adding ``Analysis`` events (at most every ``interval_s``, and
    once at the end of the analysis) and, before ``Done``, the warnings known only at that end.
    A driving input that is not streamed passes the events through untouched."""
    from engine.events import Analysis, Done, Message

    stream = getattr(driving, "stream", None)
    last, ended = 0.0, False
    for event in events:
        if stream is not None and not ended and time.perf_counter() - last >= interval_s:
            last, ended = time.perf_counter(), stream.finished
            yield Analysis(*stream.progress())
        if isinstance(event, Done) and stream is not None:
            for warning in driving.final_warnings():
                yield Message(warning, "warning")
        yield event
