"""``studio-cli animate SOURCE DRIVING -o OUT``: render a job into its work dir, then export OUT.

Everything that can be checked cheaply (settings, files, OUT writable, preset) is checked before
the driving video is analysed and before any weights load, so a typo costs a second, not an hour.
``render_and_export`` is shared by ``resume``, ``batch`` and ``demo``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Cancelled, InputError, OutputError, SettingsError
from studio.cli._checks import DEFAULT_SIZE, choose_preset, load_model_parts, model_argument, preset_reference
from studio.cli._common import (
    HelpFormatter,
    Reporter,
    add_output_mode_options,
    add_pose_options,
    command_session,
    config_path,
    driving_analysis_progress,
    exit_codes_epilog,
    load_animate_defaults,
    native_logs_silenced,
    pose_backend_choice,
    reported_progress,
    resume_command,
)

# The render settings a flag (and the config file's [animate] table) may set: one list, so a new
# setting is one entry here plus its add_argument line.
SETTING_FLAGS = ("beta", "steps", "cfg", "seed", "device", "dtype", "sampler", "compile")


def add_render_options(parser: argparse.ArgumentParser) -> None:
    """The options of one render (shared by ``animate`` and the jobs of a ``batch`` file)."""
    parser.add_argument("source", type=Path, metavar="SOURCE", help="one image (PNG/JPEG) of the person to animate")
    parser.add_argument("driving", type=Path, metavar="DRIVING", help="a video, a DWPose-style pose video or a .npz pose file")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                        help="the video to write (.mp4, .mov, .webm) or a folder name for PNG frames")
    model = parser.add_argument_group("model and sampling (defaults: the model's own, then your config file)")
    model.add_argument("--model", metavar="NAME|DIR", help="a model name from 'studio-cli models list' or a model folder (default: demo)")
    model.add_argument("--beta", type=float, help="closed-loop feedback gain β, 0..1 (paper: 0.05; 0 = no feedback)")
    model.add_argument("--steps", type=int, help="DDIM steps per frame (paper: 30)")
    model.add_argument("--cfg", type=float, help="classifier-free guidance scale (paper: 3.5; 1 = off)")
    model.add_argument("--seed", type=int, help="seed of the one noise shared by all frames (default 42)")
    model.add_argument("--size", metavar="WxH", help="output size, multiples of 8 (default: the model's resolution)")
    model.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    model.add_argument("--dtype", help="auto, fp32, fp16 or bf16 (default auto: fp32 on CPU)")
    model.add_argument("--sampler", help="ddim (default, the paper's), dpmpp-2m or unipc; the solvers need fewer steps "
                                         "(demo model: unipc at 8 steps is within SSIM 0.995 of ddim at 30)")
    model.add_argument("--compile", action="store_const", const=True,
                       help="torch.compile the denoising UNet: the first frame takes minutes longer, later ones run faster")
    drive = parser.add_argument_group("driving motion")
    drive.add_argument("--start", metavar="T", help="where to start in DRIVING, as in ffmpeg: seconds (3 or 4.5s), "
                                                     "mm:ss.xx (1:02.5), h:mm:ss (1:00:02), or a frame with f (120f)")
    drive.add_argument("--end", metavar="T", help="where to stop (not included), same forms: --start 1 --end 3 is 2 s")
    drive.add_argument("--fps", type=float, metavar="N", help="output frame rate (default: the driving video's)")
    drive.add_argument("--no-align", action="store_true", help="use the driving poses as they are (no fitting to the source person)")
    drive.add_argument("--smooth", type=float, metavar="S", help="smooth the driving keypoints (0 = off, 1 = strong)")
    add_pose_options(drive)
    out = parser.add_argument_group("output")
    add_export_options(out, "export preset (see 'studio-cli presets list'; default from OUT's extension)")
    out.add_argument("--work-dir", type=Path, metavar="DIR", help="where frames go as they render (default OUT.work next to OUT)")
    out.add_argument("--resume", action="store_true", help="continue the frames an earlier run of this command left in the work dir")


def add_export_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, preset_help: str) -> None:
    """``--preset`` and ``--no-audio``: how OUT is encoded (``animate``, ``export`` and ``resume``)."""
    parser.add_argument("--preset", metavar="NAME|FILE", help=preset_help)
    parser.add_argument("--force", action="store_true", help="write OUT even if its extension does not fit the preset")
    parser.add_argument("--no-audio", action="store_true", help="do not copy the driving video's sound")


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``animate``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "animate", help="animate SOURCE with the motion of DRIVING and write OUT",
        description="Animate the person in SOURCE with the motion of DRIVING. Frames are written to a work dir "
                    "as they render; OUT is exported at the end. Ctrl-C stops cleanly (resume later). "
                    f"Defaults for the model and sampling options can be set in the [animate] table of {config_path()}.",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    add_render_options(parser)
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``animate`` and return the exit code."""
    with command_session(args) as (reporter, cancel):
        animate(args, reporter, cancel)
    return 0


@dataclass(frozen=True)
class AnimationPlan:
    """A checked ``animate`` request: everything known before any model loads."""

    source: Any  # engine.inputs.SourceInfo
    driving: Any  # engine.inputs.DrivingInfo
    out: Path
    preset: Any  # ExportPreset
    audio: bool
    align: bool
    smooth: float
    first: int
    last: int | None
    fps: float | None
    size: tuple[int, int] | None
    model: str
    placement: tuple  # (device flag, dtype flag): what a cached model was loaded for
    settings: dict  # config file < flags (the model's defaults go under these)
    work_dir: Path
    resume: bool
    force: bool = False
    pose: dict | None = None  # {"pose_backend", "pose_provider"} for a video: resolved before any analysis
    pose_backend: str = "auto"
    pose_model: Path | None = None


def animate(args: argparse.Namespace, reporter: Reporter, cancel, *, user_config: bool = True,
            model_cache: dict | None = None, command: str = "animate", plan: "AnimationPlan | None" = None) -> dict[str, Any]:
    """Check everything (unless ``plan`` holds the checks already made), render, export; returns a
    summary (output, frames, rendered, seconds)."""
    started = time.perf_counter()
    plan = plan if plan is not None else plan_animation(args, reporter, user_config)
    created_work_dir = not plan.work_dir.exists()
    try:
        job, components = _create_job(plan, reporter, cancel, model_cache, command)
    except BaseException:
        if created_work_dir:
            _remove_empty_folders(plan.work_dir)  # a failed start should not leave an empty OUT.work behind
        raise
    try:
        reference = preset_reference(plan.preset)
        job.remember_export(plan.out, reference, plan.audio)
        summary = render_and_export(job, plan.out, reference, plan.audio, reporter, cancel, components, plan.force)
    finally:
        job.release()
    summary["seconds"] = time.perf_counter() - started
    return summary


def plan_animation(args: argparse.Namespace, reporter: Reporter, user_config: bool = True) -> AnimationPlan:
    """Every check that needs no model and no pose analysis: settings, device, times, SOURCE,
    DRIVING, the preset and a writable OUT that is none of the inputs."""
    from engine.config import RenderSettings, parse_size
    from engine.device import resolve_device
    from engine.inputs import check_not_an_input, check_output, frame_range, inspect_driving, inspect_source, parse_time
    from engine.jobs import check_work_dir

    # 1. settings: config file < flags, each checked now (the model's defaults come later)
    config = load_animate_defaults() if user_config else {}
    config_settings = {key: config[key] for key in SETTING_FLAGS if key in config}
    try:
        RenderSettings(**config_settings)
        config_size = parse_size(config["size"]) if "size" in config else None
    except SettingsError as error:
        raise SettingsError("config", f"{config_path()} [animate] {error}") from None
    flag_settings = {key: getattr(args, key) for key in SETTING_FLAGS if getattr(args, key) is not None}
    settings = RenderSettings(**{**config_settings, **flag_settings})
    resolve_device(settings.device)  # a GPU that is not there fails now, not after the analysis
    size = parse_size(args.size) if args.size else config_size
    start = parse_time(args.start, "start") if args.start is not None else None
    end = parse_time(args.end, "end") if args.end is not None else None
    smooth = float(args.smooth if args.smooth is not None else config.get("smooth", 0.0))
    if not 0 <= smooth < float("inf"):  # NaN fails both comparisons
        raise SettingsError("smooth", f"must be a finite number, 0 or more (got {smooth})")
    if args.fps is not None and not 0 < args.fps < 1000:
        raise SettingsError("fps", f"must be a positive number below 1000 (got {args.fps})")

    # 2. inputs, through the engine's front door
    source = inspect_source(args.source)
    driving = inspect_driving(args.driving)
    first, last = frame_range(driving, start, end)
    # the pose extractor: resolved and checked now (missing DWPose files fail before anything runs);
    # pose files and pose videos need none, so an unusable choice does not stop them
    pose_name = getattr(args, "pose_backend", None) or config.get("pose_backend") or "auto"
    pose_model = getattr(args, "pose_model", None) or config.get("pose_model")
    pose_model = Path(pose_model).expanduser() if pose_model else None
    pose = pose_backend_choice(reporter, pose_name, pose_model) if driving.kind == "video" else None

    # 3. output: the preset and a writable OUT that is not an input, before any rendering
    force = bool(getattr(args, "force", False))
    check_not_an_input(args.output, (source.path, driving.path))  # before the preset: that names the real problem
    preset = choose_preset(Path(args.output), args.preset or config.get("preset"), reporter, force)
    out = check_output(args.output, preset, (source.path, driving.path), force)
    work_dir = (Path(args.work_dir) if args.work_dir else out.with_name(out.name + ".work")).expanduser().absolute()
    check_not_an_input(work_dir, (source.path, driving.path))
    try:
        check_work_dir(work_dir, bool(args.resume))
    except InputError as error:
        raise InputError(f"{error} (add --resume to continue it, or pass another --work-dir)") from None
    return AnimationPlan(
        source=source, driving=driving, out=out, preset=preset, audio=not args.no_audio and config.get("audio", True),
        align=not args.no_align and config.get("align", True), smooth=smooth, first=first, last=last, fps=args.fps,
        size=size, model=model_argument(args.model or config.get("model") or "demo"), placement=(args.device, args.dtype),
        settings={**config_settings, **flag_settings}, work_dir=work_dir, resume=bool(args.resume), force=force,
        pose=pose, pose_backend=pose["pose_backend"] if pose else pose_name, pose_model=pose_model,
    )


def _create_job(plan: AnimationPlan, reporter: Reporter, cancel, model_cache: dict | None, command: str):
    """Analyse the driving video, load the model, settle the settings and create (or reopen) the job."""
    from engine.config import RenderSettings
    from engine.jobs import RenderJob, analyse_driving

    reporter.emit("start", command=command, source=str(plan.source.path), driving=str(plan.driving.path),
                  output=str(plan.out), preset=plan.preset.id, work_dir=str(plan.work_dir), model=plan.model)
    reporter.info(f"work dir: {plan.work_dir}")
    # a driving video is analysed before weights load: a video without a person fails in seconds
    with driving_analysis_progress(reporter, plan.pose) as on_progress:
        analyse_driving(plan.driving, plan.work_dir, cancel, on_progress, plan.pose_backend, plan.pose_model)
    parts = _cached_model(plan.model, plan.placement, model_cache)
    model_defaults = {key: parts.defaults[key] for key in ("beta", "steps", "cfg") if key in parts.defaults}
    values = {**RenderSettings().to_dict(), **model_defaults, **plan.settings}
    values["width"], values["height"] = plan.size or parts.resolution or DEFAULT_SIZE
    settings = RenderSettings.from_dict(values)
    job = RenderJob.create(plan.work_dir, plan.source, plan.driving, settings, model=plan.model, start=plan.first,
                           end=plan.last, align=plan.align, smooth=plan.smooth, fps=plan.fps,
                           model_hash=parts.model_hash, resume=plan.resume, pose_backend=plan.pose_backend,
                           pose_model=plan.pose_model)
    return job, parts.components


def render_and_export(job, out: Path, preset: str, audio: bool, reporter: Reporter, cancel, components=None,
                      force: bool = False) -> dict[str, Any]:
    """Render the frames not on disk yet (events -> bar / JSON), then export OUT."""
    from engine.events import Analysis, Done, FrameReady, Message, Progress

    started = time.perf_counter()
    with driving_analysis_progress(reporter) as on_progress:  # and the source person, for alignment
        job.driving(cancel, on_progress)
    total, done_before = job.frames_total, job.frames_done
    reporter.emit("render", frames_total=total, frames_done=done_before, model=job.spec.model,
                  settings=job.spec.settings.to_dict(), output_fps=job.output_fps)
    if done_before:
        reporter.info(f"{done_before} of {total} frames already rendered; continuing")
    bar = None  # made at the first event, so model loading does not count towards s/frame
    rendered = 0
    # MediaPipe, analysing alongside, writes native log lines at every chunk: keep them off the console
    with native_logs_silenced():
        try:
            for event in job.run(cancel, components):
                if bar is None:
                    bar = reporter.bar(total, "rendering", initial=min(done_before, total))
                if isinstance(event, Progress):
                    bar.set_postfix_str(f"step {event.step}/{event.total_steps}", refresh=False)
                    reporter.emit("progress", frame=event.frame, step=event.step, steps=event.total_steps,
                                  frames_done=event.frame, frames_total=total)
                elif isinstance(event, FrameReady):
                    bar.update(1)
                    reporter.emit("frame", index=event.index, path=str(job.frame_path(event.index)),
                                  seconds=round(event.seconds, 4), frames_done=event.index + 1, frames_total=total)
                elif isinstance(event, Message):
                    if event.level == "warning":
                        reporter.warning(event.text)
                    else:
                        reporter.emit("message", level=event.level, text=event.text)
                elif isinstance(event, Analysis):  # the driving video's analysis streams alongside
                    reporter.emit("analysis", done=event.done, total=event.total)
                elif isinstance(event, Done):
                    rendered = event.frames
        except Cancelled:
            if bar is not None:
                bar.close()
            reporter.info(f"stopped with {job.frames_done} of {total} frames kept in {job.work_dir}; "
                          f"continue with: {resume_command(job.work_dir)}")
            raise
        finally:
            if bar is not None:
                bar.close()

    with reported_progress(reporter, "export", f"writing {out.name}") as on_progress:
        try:
            written = job.export(out, preset, audio, cancel=cancel, on_progress=on_progress, force=force)
        except Cancelled:
            reporter.info(f"export stopped; all frames are kept; finish with: {resume_command(job.work_dir)}")
            raise
        except OutputError as error:
            raise OutputError(f"{error} (e.g. {resume_command(job.work_dir)} -o OTHER)") from None
    frames = job.frames_on_disk
    seconds = time.perf_counter() - started
    reporter.emit("done", output=str(written), work_dir=str(job.work_dir), frames=frames, rendered=rendered,
                  seconds=round(seconds, 3))
    reporter.result(f"wrote {written} ({frames} frames; {rendered} rendered in {seconds:.1f} s)")
    return {"output": str(written), "frames": frames, "rendered": rendered, "seconds": seconds}


def _remove_empty_folders(folder: Path) -> None:
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def _cached_model(name: str, placement: tuple, cache: dict | None):
    """One loaded model kept across the jobs of a batch. Another name, device or dtype reloads it:
    a pipeline moves the components in place, and a round trip through bf16 would lose precision."""
    if cache is None:
        return load_model_parts(name)
    key = (name, *placement)
    if key not in cache:
        cache.clear()
        cache[key] = load_model_parts(name)
    return cache[key]
