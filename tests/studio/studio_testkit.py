"""A scripted fake engine for the studio tests (no models, no decoding) and small test helpers.

The fake engine follows studio.gui.viewmodels.backend.Backend. Its pixels encode what was asked
(frame index, seed, beta) so tests can assert on what the window shows.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError, ModelError, OutputError, SettingsError
from engine.events import Done, FrameReady, Message, Progress
from studio.gui.viewmodels.backend import DrivingInfo, PresetChoice, SourceInfo

FAKE_VIDEO_MAGIC = "FAKEVIDEO"
OVERLAY_MARK = (255, 0, 255)  # the fake overlay paints the top-left pixel this colour


def write_fake_video(path: Path, frames: int = 20, fps: float = 10.0, width: int = 64, height: int = 48) -> Path:
    path.write_text(f"{FAKE_VIDEO_MAGIC} {frames} {fps} {width} {height}\n")
    return path


def write_portrait(path: Path, value: int = 128) -> Path:
    cv2.imwrite(str(path), np.full((40, 32, 3), value, np.uint8))
    return path


def frame_value(index: int) -> int:
    return (index * 7 + 3) % 256


class FakeJob:
    """A render job whose frames are tiny .npy files in work_dir; resumes after the last complete one."""

    def __init__(self, work_dir: Path, spec: dict):
        self.work_dir, self.spec = work_dir, spec

    @property
    def frames_total(self) -> int:
        return self.spec["end"] - self.spec["start"]

    @property
    def frames_done(self) -> int:
        done = 0
        while (self.work_dir / f"{done:06d}.npy").exists():
            done += 1
        return done


class FakePoses:
    """A streamed analysis: one frame per ``step()``, on its own thread; ``hold_at`` pauses it before
    that frame until :meth:`release` (a long video whose analysis has not finished)."""

    def __init__(self, frames: int, delay: float, backend_name: str, hold_at: int | None, step) -> None:
        self.frames, self.backend_name, self.done, self.closed = frames, backend_name, 0, False
        self._released = threading.Event()
        if hold_at is None:
            self._released.set()
        self._hold_at, self._step = hold_at, step
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for index in range(self.frames):
            if index == self._hold_at:
                while not self._released.wait(0.01):
                    if self.closed:
                        return
            if self.closed:
                return
            self._step()
            self.done = index + 1

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.closed = True
        self._thread.join()


class FakeBackend:
    """Scripted engine. ``delay`` is seconds per denoising step / per extracted frame."""

    def __init__(self) -> None:
        self.delay = 0.001
        self.full_size = False  # True: generated frames at the output size (as the real engine), for latency tests
        self.busy_work = 0  # elements of a numpy sort per step: CPU work like a model step, beside the sleep
        self.steps_override: int | None = None
        self.calls: list[tuple] = []
        self.rendered: list[int] = []  # frame indices rendered by run_job, in order (duplicates = re-rendered)
        self.inside_generator_saw: list[str] = []
        self.ui_thread_calls: list[str] = []  # slow engine calls made on the UI thread: must stay empty
        self.lock = threading.Lock()
        self.person_detector_sees_puppets = True  # False: like MediaPipe, which finds no person in a drawn puppet
        self.fail_prepare: Exception | None = None  # raised while a job analyses its driving video
        self.demo_defaults: dict | None = None  # e.g. {"steps": 15, "cfg": 1.5, "resolution": (128, 128)}
        self.dwpose_installed = False
        self.hold_poses_at: int | None = None  # the streamed analysis stops before this frame until released
        self.job_pose_backends: list[str] = []  # the pose_backend each create_job was given
        self.preview_pose_backends: list[str] = []  # and each preview_frame

    def _log(self, *call) -> None:
        with self.lock:
            self.calls.append(call)
            if threading.current_thread() is threading.main_thread():
                self.ui_thread_calls.append(call[0])

    def list_models(self) -> list[str]:
        return ["demo", "tiny"]

    def list_model_cards(self, verified):
        from studio.gui.viewmodels.models import ModelCard

        # the demo's card keeps the factory settings, so tests start from RenderSettings' defaults
        demo = self.demo_defaults or {}
        return [ModelCard("demo", "puppet", demo.get("resolution", (512, 512)), 15_000_000,
                          {k: v for k, v in demo.items() if k != "resolution"}, bundled=True),
                ModelCard("tiny", "tiny", (64, 96), 1_000, {"steps": 4, "cfg": 2.0}, notes="A tiny test model. Two.",
                          license="MIT")]

    def list_presets(self) -> dict[str, PresetChoice]:
        return {"web": PresetChoice("H.264 for the web", ".mp4"), "png": PresetChoice("PNG sequence", ""),
                "gif": PresetChoice("Animated GIF", ".gif")}

    def load_source(self, path: Path, pose_backend: str = "auto") -> SourceInfo:
        self._log("load_source", Path(path).name, pose_backend)
        image = cv2.imread(str(path))
        if image is None:
            raise InputError(f"{Path(path).name} is not an image the studio can read; use a PNG, JPEG or WebP file")
        no_person = "empty" in Path(path).name or not self.person_detector_sees_puppets
        return SourceInfo(str(path), image[:, :, ::-1].copy(), not no_person, not no_person)

    def _parse(self, path: Path) -> tuple[int, float, int, int]:
        try:
            magic, frames, fps, width, height = Path(path).read_text().split()
            assert magic == FAKE_VIDEO_MAGIC
            return int(frames), float(fps), int(width), int(height)
        except FileNotFoundError:
            raise InputError(f"{Path(path).name} does not exist; choose an existing video") from None
        except (ValueError, AssertionError, UnicodeDecodeError):
            raise InputError(f"{Path(path).name} is not a readable video (corrupt or unsupported); choose an MP4, MOV or WebM file") from None

    def probe_driving(self, path: Path) -> DrivingInfo:
        self._log("probe", Path(path).name)
        picture = cv2.imread(str(path)) if Path(path).is_file() else None
        if picture is not None:  # as the video reader does: a picture probes as a one-frame "video"
            return DrivingInfo(str(path), picture.shape[1], picture.shape[0], 25.0, 1, 0.04)
        frames, fps, width, height = self._parse(path)
        return DrivingInfo(str(path), width, height, fps, frames, frames / fps)

    def read_frame(self, path: Path, index: int) -> np.ndarray:
        self._log("read_frame", index)
        frames, _, width, height = self._parse(path)
        if not 0 <= index < frames:
            raise InputError(f"frame {index} is outside the video")
        return np.full((height, width, 3), frame_value(index), np.uint8)

    def check_pose_backend(self, pose_backend):
        self._log("check_pose_backend", pose_backend)
        if pose_backend == "dwpose" and not self.dwpose_installed:
            raise ModelError("the DWPose model files are not in /library; run `studio-cli models fetch dwpose`")
        return "dwpose" if pose_backend == "dwpose" or (pose_backend == "auto" and self.dwpose_installed) else "mediapipe"

    def open_poses(self, path, pose_backend="auto"):
        self._log("open_poses", Path(path).name, pose_backend)
        frames, *_ = self._parse(path)
        name = "dwpose" if pose_backend == "dwpose" or (pose_backend == "auto" and self.dwpose_installed) else "mediapipe"
        return FakePoses(frames, self.delay, name, self.hold_poses_at, self._step)

    def poses_progress(self, poses):
        return poses.done, poses.frames, poses.done == poses.frames

    def close_poses(self, poses):
        poses.close()

    def pose_backend_of(self, poses):
        return poses.backend_name

    def overlay(self, frame, poses, index):
        if index >= poses.done:
            return None  # not analysed yet: the streamed engine never waits
        shown = frame.copy()
        shown[0, 0] = OVERLAY_MARK
        return shown

    def _step(self) -> None:
        time.sleep(self.delay)
        if self.busy_work:
            np.sort(np.random.default_rng(0).random(self.busy_work))

    def _image(self, index: int, settings) -> np.ndarray:
        scale = 1 if self.full_size else 8
        image = np.zeros((settings.height // scale, settings.width // scale, 3), np.uint8)
        image[..., 0] = frame_value(index)
        image[..., 1] = settings.seed % 256
        image[..., 2] = round(settings.beta * 100)
        return image

    def _check_model(self, model: str) -> None:
        if model not in self.list_models():
            raise ModelError(f"model {model!r} is not installed; pick demo or install it with studio-cli models")

    def preview_frame(self, source, driving, index, settings, model, align, smooth, cancel, pose_backend="auto"):
        self._log("preview", index, settings.seed, settings.beta)
        self.preview_pose_backends.append(pose_backend)
        self._check_model(model)
        if settings.device == "cuda":  # an engine message as it was before it was worded for every front end
            raise SettingsError("device", "cuda was requested but no CUDA GPU is available; use --device cpu or auto")
        steps = self.steps_override or settings.steps
        try:
            for step in range(1, steps + 1):
                self._step()
                yield Progress(0, step, steps)
            yield FrameReady(0, self._image(index, settings), seconds=steps * self.delay)
        except BaseException as error:  # record what the worker threw in, then let it go on
            self.inside_generator_saw.append(type(error).__name__)
            raise

    def create_job(self, work_dir, source, driving, settings, model, start, end, align, smooth, pose_backend="auto"):
        self._log("create_job", model, start, end)
        self.job_pose_backends.append(pose_backend)
        self._check_model(model)
        work_dir.mkdir(parents=True)
        spec = {"settings": settings.to_dict(), "start": start, "end": end}
        (work_dir / "job.json").write_text(json.dumps(spec))
        return FakeJob(work_dir, spec)

    def open_job(self, work_dir):
        self._log("open_job", Path(work_dir).name)
        return FakeJob(Path(work_dir), json.loads((Path(work_dir) / "job.json").read_text()))

    def prepare_job(self, job: FakeJob, cancel, on_progress) -> None:
        if self.fail_prepare is not None:
            raise self.fail_prepare
        on_progress(1, 1)

    def run_job(self, job: FakeJob, cancel):
        from engine.config import RenderSettings

        self._log("run_job", job.work_dir.name)
        settings = RenderSettings.from_dict(job.spec["settings"])
        steps = self.steps_override or settings.steps
        first = job.frames_done
        if first > 0:
            yield Message(f"resuming after frame {first}")
        for k in range(first, job.frames_total):
            for step in range(1, steps + 1):
                cancel.check()
                self._step()
                yield Progress(k, step, steps)
            image = self._image(job.spec["start"] + k, settings)
            np.save(job.work_dir / f"{k:06d}.npy", image)
            with self.lock:
                self.rendered.append(k)
            yield FrameReady(k, image, seconds=steps * self.delay)
        yield Done(job.frames_total - first)

    def export_job(self, job, out, preset, audio, cancel):
        self._log("export", preset, audio)
        if preset not in self.list_presets():
            raise InputError(f"unknown preset {preset!r}")
        if not Path(out).parent.is_dir():
            raise OutputError(f"cannot write {out}: the folder does not exist; choose another folder")
        Path(out).write_text(json.dumps({"frames": job.frames_done, "preset": preset, "audio": audio}))
        return Path(out)


def wait_until(qtbot, condition, timeout: int = 5000) -> None:
    """Process Qt events until ``condition()`` is true (fails the test after ``timeout`` ms)."""
    qtbot.waitUntil(lambda: bool(condition()), timeout=timeout)


def accept_dialog(dialog) -> bool:
    """Stands in for the user pressing the dialog's OK button (exec() would block the test)."""
    dialog.accept()
    return dialog.result() == dialog.DialogCode.Accepted
