"""A render job: inputs + settings + a work dir. Frames land on disk one by one; resume is exact.

Work dir layout::

    job.json     inputs (paths + fingerprints), settings, model id, range, software versions
    poses/       the driving video's pose cache (analysed once)
    frames/      frame k as a lossless PNG, written atomically (engine.video.frame_store)
    state/       the CLC state (k, z_T, ẑ0,k) after the newest frame, so resume is exact

The GUI and the CLI build a job, iterate ``job.run()`` and consume its events.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from engine import __version__
from engine.cancel import CancelToken, check
from engine.config import RenderSettings
from engine.errors import InputError, OutputError, StudioError
from engine.events import Done, Event, FrameReady, Message

JOB_FORMAT_VERSION = 1
JOB_FILE = "job.json"
TINY_MODEL = "builtin:tiny"  # random tiny components: tests and benchmarks only


@dataclass(frozen=True)
class JobSpec:
    """What a job renders; equal specs mean a work dir can be resumed."""

    source: str
    driving: str
    settings: RenderSettings
    model: str = "demo"
    start: int = 0  # first driving frame
    end: int | None = None  # one past the last driving frame (None = to the end)
    align: bool = True
    smooth: float = 0.0
    fps: float | None = None  # output frame rate (None = the driving video's)

    def to_dict(self) -> dict:
        return {
            "source": self.source, "driving": self.driving, "settings": self.settings.to_dict(),
            "model": self.model, "start": self.start, "end": self.end, "align": self.align,
            "smooth": self.smooth, "fps": self.fps,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "JobSpec":
        return cls(
            source=data["source"], driving=data["driving"], settings=RenderSettings.from_dict(data["settings"]),
            model=data.get("model", "demo"), start=int(data.get("start", 0)), end=data.get("end"),
            align=bool(data.get("align", True)), smooth=float(data.get("smooth", 0.0)), fps=data.get("fps"),
        )


class RenderJob:
    """One render in its work dir. Create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, work_dir: Path, spec: JobSpec, record: dict):
        self.work_dir = Path(work_dir)
        self.spec = spec
        self.record = record
        self._driving = None
        self._source: np.ndarray | None = None
        self._store = None

    # -- creating and opening ------------------------------------------------------------------
    @classmethod
    def create(
        cls, work_dir: str | Path, source: str | Path, driving: str | Path, settings: RenderSettings,
        model: str = "demo", start: int = 0, end: int | None = None, align: bool = True,
        smooth: float = 0.0, fps: float | None = None,
    ) -> "RenderJob":
        """Check the inputs and write ``job.json``; an existing identical job is reopened for resume."""
        from engine.video.reader import read_image, video_fingerprint

        source, driving = Path(source).expanduser().resolve(), Path(driving).expanduser().resolve()
        read_image(source)  # a clear error now rather than after loading a model
        _check_driving_exists(driving)
        if start < 0 or (end is not None and end <= start):
            raise InputError(f"the frame range {start}..{end} is empty; the end must come after the start")
        if smooth < 0:
            raise InputError(f"smooth must be 0 or more (got {smooth})")
        if fps is not None and not fps > 0:
            raise InputError(f"fps must be a positive number (got {fps})")
        spec = JobSpec(str(source), str(driving), settings, model, start, end, align, smooth, fps)
        work_dir = Path(work_dir).expanduser().resolve()
        if (work_dir / JOB_FILE).exists():
            job = cls.open(work_dir)
            if job.spec != spec:
                raise InputError(
                    f"{work_dir} already holds a different job; resume it with 'studio-cli resume {work_dir}' "
                    "or choose another --work-dir"
                )
            return job
        record = {
            "format_version": JOB_FORMAT_VERSION,
            "spec": spec.to_dict(),
            "fingerprints": {"source": video_fingerprint(source), "driving": video_fingerprint(driving)},
            "software": _versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        _write_json(work_dir, record)
        return cls(work_dir, spec, record)

    @classmethod
    def open(cls, work_dir: str | Path) -> "RenderJob":
        """Reopen a work dir (resume, export). Damaged or newer job files give a clear error."""
        work_dir = Path(work_dir).expanduser().resolve()
        path = work_dir / JOB_FILE
        if not path.is_file():
            raise InputError(f"{work_dir} is not a render work dir (no {JOB_FILE}); start a render with 'studio-cli animate'")
        damaged = f"{path} is damaged"
        keep = f"its frames in {work_dir / 'frames'} are kept, start a new render to continue"
        try:
            record = json.loads(path.read_text())
            version = int(record["format_version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{damaged} ({type(exc).__name__}); {keep}") from None
        if version > JOB_FORMAT_VERSION:
            raise InputError(
                f"{path} was written by a newer TalkingPose Studio (job format {version}); "
                "update the studio to resume or export it"
            )
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

    # -- state ---------------------------------------------------------------------------------
    @property
    def store(self):
        """The job's FrameStore (one per job: it keeps no state that could go stale)."""
        if self._store is None:
            from engine.video.frame_store import FrameStore

            self._store = FrameStore(self.work_dir)
        return self._store

    def source_image(self) -> np.ndarray:
        """The source picture, read once per job object."""
        if self._source is None:
            from engine.video.reader import read_image

            self._source = read_image(self.spec.source)
        return self._source

    @property
    def frames_done(self) -> int:
        return self.store.complete_count()

    @property
    def frames_total(self) -> int:
        driving = self.driving()
        end = driving.frames if self.spec.end is None else min(self.spec.end, driving.frames)
        return _output_count(end - self.spec.start, driving.fps, self.output_fps)

    @property
    def output_fps(self) -> float:
        return float(self.spec.fps) if self.spec.fps else float(self.driving().fps)

    def check_inputs(self) -> None:
        """Refuse to resume when an input changed since the job was created."""
        from engine.video.reader import video_fingerprint

        for name in ("source", "driving"):
            path = Path(getattr(self.spec, name))
            if not path.is_file():
                raise InputError(f"the {name} file {path} is gone; put it back to resume this job")
            if video_fingerprint(path) != self.record["fingerprints"][name]:
                raise InputError(f"the {name} file {path} changed since this job started; start a new render instead of resuming")

    def driving(self, cancel: CancelToken | None = None, on_progress=None):
        """The driving input, analysed once (pose cache in the work dir) and aligned to the source."""
        if self._driving is None:
            from engine.pose.driving import open_driving

            source = self.source_image()
            aspect = source.shape[1] / source.shape[0]
            align_to = _source_pose(source) if self.spec.align else None
            self._driving = open_driving(
                Path(self.spec.driving), cache_dir=self.work_dir / "poses", align_to=align_to,
                smooth=self.spec.smooth, cancel=cancel, on_progress=on_progress, source_aspect=aspect,
            )
        return self._driving

    # -- running -------------------------------------------------------------------------------
    def run(self, cancel: CancelToken | None = None, components=None) -> Iterator[Event]:
        """Render the frames not on disk yet, writing each as it finishes; yields engine events."""
        from engine.pipeline import AnimationPipeline

        started = time.perf_counter()
        self.check_inputs()
        spec, settings = self.spec, self.spec.settings
        driving = self.driving(cancel)
        for warning in driving.warnings:
            yield Message(warning, "warning")
        total = self.frames_total
        store = self.store
        store.discard_temporaries()  # leftovers of a crash mid-write; never complete frames
        resume = store.resume_point()
        if resume.next_index >= total:
            yield Done(0, time.perf_counter() - started)
            return
        if resume.next_index:
            yield Message(f"resuming after frame {resume.next_index} of {total}")
        components = components if components is not None else load_components(spec.model, settings)
        pipeline = AnimationPipeline.for_settings(components, settings)
        source = self.source_image()
        poses = self._pose_images(driving, resume.next_index, total, cancel)
        written = 0
        for event in pipeline.render(source, poses, settings, cancel, resume=resume.state, first_index=resume.next_index):
            if isinstance(event, FrameReady):
                store.write(event.index, event.image, event.state)
                written += 1
            elif isinstance(event, Done):
                event = Done(written, time.perf_counter() - started)
            yield event

    def _pose_images(self, driving, first: int, total: int, cancel) -> Iterator[np.ndarray]:
        width, height = self.spec.settings.width, self.spec.settings.height
        if abs(self.output_fps - driving.fps) < 1e-6:
            start = self.spec.start + first
            yield from driving.iter_pose_images(width, height, start, self.spec.start + total, cancel=cancel)
            return
        for i in range(first, total):  # a chosen output rate: nearest earlier driving frame
            check(cancel)
            yield driving.pose_image(self.spec.start + int(i * driving.fps / self.output_fps + 1e-6), width, height)

    def export(self, out: str | Path, preset: str = "web", audio: bool = True, cancel: CancelToken | None = None, on_progress=None) -> Path:
        """Encode the frames on disk (during or after rendering) with an export preset."""
        from engine.video.export import export_frames
        from engine.video.presets import load_preset

        driving = self.driving()
        audio_from = self.spec.driving if audio and driving.kind in ("video", "pose_video") else None
        result = export_frames(
            self.store, out, load_preset(preset), self.output_fps, audio_from=audio_from,
            audio_offset=self.spec.start / driving.fps, cancel=cancel, on_progress=on_progress,
        )
        return result.path


def preview_frame(
    source: str | Path, driving: str | Path, index: int, settings: RenderSettings, model: str = "demo",
    align: bool = True, smooth: float = 0.0, cancel: CancelToken | None = None, components=None, cache_dir=None,
) -> Iterator[Event]:
    """Render one driving frame (no work dir): the GUI's live preview. β has no effect on a single frame."""
    from engine.pipeline import AnimationPipeline
    from engine.pose.driving import open_driving
    from engine.video.reader import read_image

    image = read_image(source)
    drive = open_driving(
        Path(driving), cache_dir=cache_dir, align_to=_source_pose(image) if align else None, smooth=smooth,
        cancel=cancel, source_aspect=image.shape[1] / image.shape[0],
    )
    pose = drive.pose_image(index, settings.width, settings.height)
    components = components if components is not None else load_components(model, settings)
    for event in AnimationPipeline.for_settings(components, settings).render(image, [pose], settings, cancel, first_index=index):
        yield event


def load_components(model: str, settings: RenderSettings):
    """Components for a model id: ``demo``, a library name, a model folder or a released layout."""
    if model == TINY_MODEL:
        from engine.models.components import tiny_components

        return tiny_components(seed=0)
    from engine.weights import load_model

    return load_model(model).components


def _source_pose(image: np.ndarray):
    from engine.pose.extract import detect_image

    try:
        pose = detect_image(image)
    except StudioError:
        return None
    return pose if pose.has_person else None


def _output_count(driving_frames: int, driving_fps: float, output_fps: float) -> int:
    if driving_frames <= 0:
        return 0
    return max(1, int(driving_frames * output_fps / driving_fps + 1e-6))


def _check_driving_exists(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{path} is a folder; DRIVING must be a video, a pose video or a .npz pose file")
    if not path.is_file():
        raise InputError(f"driving file not found: {path}; check the path")


def _versions() -> dict:
    import diffusers
    import torch

    return {"studio": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__, "python": platform.python_version()}


def _write_json(work_dir: Path, record: dict) -> None:
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        tmp = work_dir / (JOB_FILE + ".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, work_dir / JOB_FILE)
    except OSError as exc:
        raise OutputError(f"cannot write the job file in {work_dir} ({exc.strerror}); choose a writable --work-dir") from None
