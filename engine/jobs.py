"""A render job: inputs + settings + a work dir. Frames land on disk one by one; resume is exact.

The job owns its work dir (``engine.workdir``); front ends never name a file inside it. A resume
continues only when everything that determines the frames (settings, input fingerprints, model
hash) equals what made the frames already on disk. The GUI and the CLI build a job, iterate
``job.run()`` and consume its events.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from engine.cancel import CancelToken
from engine.config import RenderSettings
from engine.errors import InputError, OutputError, StudioError
from engine.events import Done, Event, FrameReady, Message
from engine.inputs import DrivingInfo, SourceInfo, check_not_an_input, check_output, inspect_driving, inspect_source
from engine.jobspec import JobSpec
from engine.textfiles import load_json

from engine.workdir import JOB_FILE, POSES_DIR, WorkDir, frame_facts, model_fingerprint, software_versions

JOB_FORMAT_VERSION = 2
TINY_MODEL = "builtin:tiny"  # random tiny components: tests and benchmarks only


class RenderJob:
    """One render in its work dir. Create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, work_dir: Path, spec: JobSpec, record: dict):
        """Use :meth:`create` or :meth:`open`; ``record`` is job.json's content (spec, fingerprints)."""
        self.work_dir = Path(work_dir)
        self.spec = spec
        self.record = record
        self.files = WorkDir(self.work_dir)
        self._driving_info: DrivingInfo | None = None
        self._driving = None
        self._source: np.ndarray | None = None
        self._store = None

    # -- creating and opening ------------------------------------------------------------------
    @classmethod
    def create(
        cls, work_dir: str | Path, source: str | Path | SourceInfo, driving: str | Path | DrivingInfo,
        settings: RenderSettings, model: str = "demo", start: int = 0, end: int | None = None, align: bool = True,
        smooth: float = 0.0, fps: float | None = None, *, model_hash: str = "", resume: bool = True,
        pose_backend: str = "auto", pose_model: str | Path | None = None,
    ) -> "RenderJob":
        """Check the inputs, lock the work dir and write the job; frames already there are resumed.

        Args:
            work_dir: the job's folder (created if missing).
            source, driving: paths, or what ``engine.inputs.inspect_source``/``inspect_driving``
                returned (then nothing is read again).
            model_hash: ``model_fingerprint`` of the loaded model, recorded so a resume with other
                weights is refused.
            resume: False refuses a work dir that already holds frames.
            pose_backend, pose_model: the pose extractor (engine.pose.backends); "auto" is resolved
                now and recorded, so a resume analyses with the same one.
        Returns:
            The job, holding the work dir's lock until :meth:`release` (or the process exits).
        Raises:
            InputError for bad inputs or a resume that would mix settings; OutputError when the
            work dir cannot be written or another process renders into it.
        """
        from engine.video.reader import video_fingerprint

        source = source if isinstance(source, SourceInfo) else inspect_source(source)
        driving = driving if isinstance(driving, DrivingInfo) else inspect_driving(driving)
        _check_range(start, end, smooth, fps)
        from engine.pose.backends import resolve_backend

        pose_model = str(Path(pose_model).expanduser().absolute()) if pose_model is not None else None
        spec = JobSpec(str(source.path), str(driving.path), settings, model, start, end, align, smooth, fps,
                       resolve_backend(pose_backend, pose_model), pose_model)
        work_dir = Path(work_dir).expanduser().resolve()
        check_not_an_input(work_dir, (source.path, driving.path))
        fingerprints = {"source": video_fingerprint(source.path), "driving": video_fingerprint(driving.path)}
        record = {"format_version": JOB_FORMAT_VERSION, "spec": spec.to_dict(), "fingerprints": fingerprints,
                  "model_hash": model_hash, "software": software_versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        job = cls(work_dir, spec, record)
        job.files.lock(create=True)
        try:
            job.files.settle(frame_facts(record), resume)
            job.files.write_job(record, frame_facts(record))
        except BaseException:
            job.release()
            raise
        job._source, job._driving_info = source.image, driving
        return job

    @classmethod
    def open(cls, work_dir: str | Path) -> "RenderJob":
        """Reopen a work dir (resume, export). Damaged or newer job files give a clear error."""
        work_dir = Path(work_dir).expanduser().resolve()
        path = work_dir / JOB_FILE
        if not path.is_file():
            raise InputError(f"{work_dir} is not a render work folder (it holds no job); start a new render instead")
        damaged = f"the job file {path} is damaged"
        keep = "the rendered frames are kept; export them, or start a new render to continue"
        try:
            record = load_json(path, what="the job file", fix=keep)
            version = int(record["format_version"])
        except StudioError:  # not JSON, too large or too deeply nested
            raise InputError(f"{damaged} (not readable JSON); {keep}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{damaged} ({type(exc).__name__}); {keep}") from None
        if version > JOB_FORMAT_VERSION:
            raise InputError(f"{path} was written by a newer TalkingPose Studio (job format {version}); "
                             "update the studio to resume or export it")
        try:
            spec = JobSpec.from_dict(record["spec"])
            fingerprints = record["fingerprints"]
            if not all(isinstance(fingerprints.get(name), str) for name in ("source", "driving")):
                raise KeyError("fingerprints")
        except StudioError as exc:
            raise InputError(f"{path} holds a bad value ({exc}); {keep}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{damaged} ({type(exc).__name__}); {keep}") from None
        return cls(work_dir, spec, record)

    def release(self) -> None:
        """Let other processes render into the work dir again."""
        self.files.unlock()

    # -- the work dir --------------------------------------------------------------------------
    @property
    def store(self):
        """The job's FrameStore (one per job: it keeps no state that could go stale)."""
        if self._store is None:
            from engine.video.frame_store import FrameStore

            self._store = FrameStore(self.work_dir)
        return self._store

    def seed_pose_cache(self, cache_dir: str | Path) -> int:
        """Copy the driving video's poses from another pose cache (e.g. the GUI's), so a long video
        is analysed once; returns how many files were copied. A miss only costs time."""
        return self.files.seed_pose_cache(cache_dir, self.record["fingerprints"]["driving"])

    def remember_export(self, out: str | Path, preset: str, audio: bool) -> None:
        """Record where this job exports, so a later resume can finish it without being told."""
        self.files.remember_export(out, preset, audio)

    def recorded_export(self) -> dict | None:
        """``{"output", "preset", "audio"}`` from :meth:`remember_export`, or None when none was recorded."""
        return self.files.recorded_export()

    # -- state ---------------------------------------------------------------------------------
    def frame_path(self, index: int) -> Path:
        """Where frame ``index`` is (or will be) stored: lossless WebP (PNG in older work dirs)."""
        return self.store.frame_path(index)

    def source_image(self) -> np.ndarray:
        """The source picture, (H, W, 3) uint8 RGB, read once per job object."""
        if self._source is None:
            self._source = inspect_source(self.spec.source).image
        return self._source

    @property
    def frames_done(self) -> int:
        """Frames that will not be rendered again: those before the point a resume continues from."""
        return self.store.resume_point().next_index

    @property
    def frames_on_disk(self) -> int:
        """Frames 0, 1, 2, ... complete on disk without a gap: what an export uses."""
        return self.store.complete_count()

    @property
    def frames_total(self) -> int:
        """Output frames the whole job renders (the driving range at the output frame rate)."""
        driving = self.driving()
        end = driving.frames if self.spec.end is None else min(self.spec.end, driving.frames)
        return _output_count(end - self.spec.start, driving.fps, self.output_fps)

    @property
    def output_fps(self) -> float:
        """The output frame rate: the spec's ``fps``, else the driving input's."""
        return float(self.spec.fps) if self.spec.fps else float(self.driving().fps)

    def check_inputs(self) -> None:
        """Refuse to resume when an input changed or the frames on disk were made otherwise."""
        from engine.video.reader import video_fingerprint

        for name in ("source", "driving"):
            path = Path(getattr(self.spec, name))
            if not path.is_file():
                raise InputError(f"the {name} file {path} is gone; put it back to resume this job")
            if video_fingerprint(path) != self.record["fingerprints"][name]:
                raise InputError(f"the {name} file {path} changed since this job started; start a new render instead of resuming")
        self.files.check_made_with(frame_facts(self.record))

    def driving(self, cancel: CancelToken | None = None, on_progress=None):
        """The driving input, analysed once (pose cache in the work dir) and aligned to the source.

        ``on_progress(done, total)`` follows the analysis; returns an ``engine.pose.driving`` driving
        whose ``pose_image(index, width, height)`` gives (height, width, 3) uint8 pose drawings."""
        if self._driving is None:
            from engine.pose.driving import open_driving

            info = self._driving_info or inspect_driving(self.spec.driving)
            source = self.source_image()
            align_to = _source_pose(source, self.spec.pose_backend, self.spec.pose_model) if self.spec.align else None
            self._driving = open_driving(
                info, cache_dir=self.work_dir / POSES_DIR, align_to=align_to, smooth=self.spec.smooth,
                cancel=cancel, on_progress=on_progress, source_aspect=source.shape[1] / source.shape[0],
                stream=True, reference_file=self.work_dir / POSES_DIR / "alignment-reference.npz",
                pose_backend=self.spec.pose_backend, pose_model=self.spec.pose_model,
            )
        return self._driving

    # -- running -------------------------------------------------------------------------------
    def run(self, cancel: CancelToken | None = None, components=None) -> Iterator[Event]:
        """Render the frames not on disk yet, writing each as it finishes; yields engine events.
        The analysis and writer threads (engine.pose.stream, engine.video.frame_writer) end with it."""
        try:
            yield from self._run(cancel, components)
        finally:
            self.files.unlock()  # rendering is over: another process (or job object) may render here
            if self._driving is not None:  # the next run reopens the analysis from its cache
                self._driving, driving = None, self._driving
                driving.close()

    def _run(self, cancel: CancelToken | None, components) -> Iterator[Event]:
        from engine.pipeline import AnimationPipeline
        from engine.pose.driving import output_pose_images
        from engine.pose.streamed_driving import with_analysis_events
        from engine.video.frame_writer import write_frame_events

        started = time.perf_counter()
        self.files.lock()
        self.check_inputs()
        driving = self.driving(cancel)
        driving.prepare(cancel)
        for warning in driving.warnings:
            yield Message(warning, "warning")
        total, store = self.frames_total, self.store
        store.discard_temporaries()  # leftovers of a crash mid-write; never complete frames
        resume = store.resume_point()
        store.truncate(resume.next_index)  # frames past the resume point are made again, in order
        if resume.next_index >= total:
            yield Done(0, time.perf_counter() - started)
            return
        if resume.next_index:
            yield Message(f"resuming after frame {resume.next_index} of {total}")
        components = components if components is not None else self._load_components()
        pipeline = AnimationPipeline.for_settings(components, self.spec.settings)
        end = total if self.spec.end is not None else None  # None: to the video's real end, as analysed
        poses = output_pose_images(driving, self.spec.settings, self.spec.start, resume.next_index, end, self.output_fps, cancel)
        written, events = 0, pipeline.render(self.source_image(), poses, self.spec.settings, cancel,
                                             resume=resume.state, first_index=resume.next_index)
        for event in with_analysis_events(write_frame_events(events, store), driving):
            if isinstance(event, FrameReady):  # on disk with its state by now
                written += 1
            elif isinstance(event, Done):
                event = Done(written, time.perf_counter() - started)
            yield event

    def _load_components(self):
        components, model_hash = load_model_with_hash(self.spec.model)
        recorded = self.record.get("model_hash") or ""
        if recorded and model_hash != recorded and self.store.indices():
            raise InputError(f"the model {self.spec.model!r} changed since these frames were rendered; "
                             "choose another work folder to render with it")
        return components

    def export(self, out: str | Path, preset: str = "web", audio: bool = True, cancel: CancelToken | None = None,
               on_progress=None, force: bool = False) -> Path:
        """Encode the frames on disk (during or after rendering) with an export preset.

        Args: ``out`` the file to write, ``preset`` an export preset name or file, ``audio`` copy the
        driving video's sound, ``cancel``/``on_progress(done, total)``, ``force`` a preset whose
        extension differs from OUT's. Returns the written path. Raises OutputError saying the frames
        are kept when OUT cannot be written."""
        from engine.video.export import export_frames
        from engine.video.presets import load_preset

        chosen = load_preset(preset)
        driving = self.driving()
        audio_from = self.spec.driving if audio and driving.kind in ("video", "pose_video") else None
        out = Path(out).expanduser().absolute()
        try:
            check_output(out, chosen, (self.spec.source, self.spec.driving), force=force)
            result = export_frames(self.store, out, chosen, self.output_fps, audio_from=audio_from,
                                   audio_offset=self.spec.start / driving.fps, cancel=cancel, on_progress=on_progress)
        except OutputError as error:
            raise OutputError(f"{_export_reason(out, error)}; the rendered frames are kept, "
                              "so exporting to another place works") from None
        return result.path


def check_work_dir(work_dir: str | Path, resume: bool) -> None:
    """The cheap part of :meth:`RenderJob.create`'s work dir checks, for front ends to run first:
    OutputError when another process renders there, InputError when it holds frames and not ``resume``."""
    WorkDir(Path(work_dir).expanduser().resolve()).check_free(resume)


def analyse_driving(driving: DrivingInfo, work_dir: str | Path, cancel: CancelToken | None = None, on_progress=None,
                    pose_backend: str = "auto", pose_model: str | Path | None = None) -> None:
    """Analyse a driving video into ``work_dir``'s pose cache until a person shows, before its job exists,
    so a video without anybody fails before any weights load. Pose files and pose videos need nothing."""
    if driving.kind == "video":  # only up to the first frame with a person: the rest streams while rendering
        from engine.pose.streamed_driving import wait_for_person

        wait_for_person(Path(driving.path), Path(work_dir) / POSES_DIR, cancel, on_progress, info=driving.video,
                        pose_backend=pose_backend, pose_model=pose_model)


def preview_frame(
    source: str | Path, driving: str | Path, index: int, settings: RenderSettings, model: str = "demo",
    align: bool = True, smooth: float = 0.0, cancel: CancelToken | None = None, components=None, cache_dir=None,
    pose_backend: str = "auto",
) -> Iterator[Event]:
    """Render one driving frame (no work dir): the GUI's live preview. β has no effect on a single frame.

    ``index`` is the driving frame; ``settings`` give the size ((height, width, 3) uint8 in the
    FrameReady event), ``components`` skip loading ``model``, ``cache_dir`` reuses analysed poses,
    ``pose_backend`` picks the pose extractor (engine.pose.backends). Yields Progress events, one
    FrameReady and Done."""
    from engine.pipeline import AnimationPipeline
    from engine.pose.driving import open_driving

    image = inspect_source(source).image
    drive = open_driving(
        inspect_driving(driving), cache_dir=cache_dir, align_to=_source_pose(image, pose_backend) if align else None,
        smooth=smooth, cancel=cancel, source_aspect=image.shape[1] / image.shape[0], pose_backend=pose_backend,
    )
    pose = drive.pose_image(index, settings.width, settings.height)
    components = components if components is not None else load_model_with_hash(model)[0]
    yield from AnimationPipeline.for_settings(components, settings).render(image, [pose], settings, cancel, first_index=index)


def load_model_with_hash(model: str) -> tuple[Any, str]:
    """(components, model_fingerprint) for a model id: ``demo``, a library name, a folder or a released layout."""
    if model == TINY_MODEL:
        from engine.models.components import tiny_components

        return tiny_components(seed=0), TINY_MODEL
    from engine.weights import load_model

    loaded = load_model(model)
    return loaded.components, model_fingerprint(loaded)


def _check_range(start: int, end: int | None, smooth: float, fps: float | None) -> None:
    if start < 0 or (end is not None and end <= start):
        raise InputError(f"the frame range {start}..{end} is empty; the end must come after the start")
    if not smooth >= 0:
        raise InputError(f"smooth must be 0 or more (got {smooth})")
    if fps is not None and not fps > 0:
        raise InputError(f"fps must be a positive number (got {fps})")


def _source_pose(image: np.ndarray, pose_backend: str = "auto", pose_model: str | None = None):
    from engine.pose.extract import detect_image

    try:
        pose = detect_image(image, pose_backend, pose_model)
    except StudioError:
        return None
    return pose if pose.has_person else None


def _output_count(driving_frames: int, driving_fps: float, output_fps: float) -> int:
    if driving_frames <= 0:
        return 0
    return max(1, int(driving_frames * output_fps / driving_fps + 1e-6))


def _export_reason(out: Path, error: OutputError) -> str:
    """The exporter's own first clause (it names OUT), or the plain reason when OUT's folder is read-only."""
    if out.parent.is_dir() and not os.access(out.parent, os.W_OK):
        return f"cannot write {out}: its folder is not writable"
    return str(error).split(";")[0]
