"""``studio-cli poses DRIVING -o POSES.npz``: find the keypoints of every frame of a driving video once.

The ``.npz`` can then be given as DRIVING to ``animate`` (no analysis again), edited, or shared.
``--preview`` writes the keypoints drawn over the video, to check what was found.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from engine.errors import InputError, OutputError, SettingsError
from studio.cli._common import (
    HelpFormatter,
    Reporter,
    add_output_mode_options,
    add_pose_options,
    command_session,
    driving_analysis_progress,
    exit_codes_epilog,
    pose_backend_choice,
    reported_progress,
)

PREVIEW_MAX_SIDE = 720  # a check, not a deliverable: keep it quick to write and to open


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``poses``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "poses", help="extract a driving video's keypoints to a .npz pose file",
        description="Find the body, hand and face keypoints of every frame of DRIVING (DWPose or MediaPipe Holistic) "
                    "and save them as a .npz pose file that 'animate' accepts as DRIVING.",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    parser.add_argument("driving", type=Path, metavar="DRIVING", help="the driving video (or a .npz to smooth again)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="POSES.npz", help="the pose file to write")
    parser.add_argument("--preview", type=Path, metavar="OUT.mp4", help="also write the keypoints drawn over the video")
    parser.add_argument("--smooth", type=float, default=0.0, metavar="S", help="smooth the keypoints (0 = off, 1 = strong)")
    add_pose_options(parser)
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``poses`` and return the exit code."""
    started = time.perf_counter()
    if not 0 <= args.smooth < float("inf"):  # NaN fails both comparisons
        raise SettingsError("smooth", f"must be a finite number, 0 or more (got {args.smooth})")
    from engine.inputs import inspect_driving

    driving = inspect_driving(args.driving)
    out = _checked_output(args.output, ".npz", "POSES", driving.path)
    preview = _checked_output(args.preview, ".mp4", "--preview", driving.path) if args.preview is not None else None
    with command_session(args) as (reporter, cancel):
        if driving.kind == "pose_video":
            raise InputError(f"{Path(driving.path).name} is already a pose drawing, not a video of a person; "
                             "give it to 'animate' as DRIVING directly")
        reporter.emit("start", command="poses", driving=str(driving.path), output=str(out),
                      preview=str(preview) if preview else None)
        pose = pose_backend_choice(reporter, args.pose_backend, args.pose_model) if driving.kind == "video" else None
        written = _poses_of(driving, out, args.smooth, reporter, cancel, pose, args.pose_model)
        if preview is not None:
            _write_preview(written["poses"], preview, Path(driving.path) if driving.kind == "video" else None,
                           reporter, cancel)
        frames, fps, missing = written["frames"], written["fps"], written["frames_without_person"]
        seconds = time.perf_counter() - started
        reporter.emit("done", output=str(out), preview=str(preview) if preview else None, frames=frames,
                      frames_without_person=missing, fps=fps, seconds=round(seconds, 3),
                      pose_backend=written.get("pose_backend") or None)
        if missing:
            reporter.warning(f"no person found in {missing} of {frames} frames; they are left blank")
        reporter.result(f"wrote {out} ({frames} frames at {fps:g} fps)" + (f" and {preview}" if preview else ""))
    return 0


def _poses_of(driving, out: Path, smooth: float, reporter: Reporter, cancel, pose: dict | None, pose_model) -> dict:
    from engine.preview import write_pose_file

    if driving.kind == "poses":
        return write_pose_file(driving, out, smooth, cancel)
    with driving_analysis_progress(reporter, pose) as on_progress:
        return write_pose_file(driving, out, smooth, cancel, on_progress, pose["pose_backend"], pose_model)


def _write_preview(poses, preview: Path, over_video: Path | None, reporter: Reporter, cancel) -> None:
    from engine.preview import write_pose_preview

    with reported_progress(reporter, "preview", f"writing {preview.name}") as on_progress:
        write_pose_preview(poses, preview, PREVIEW_MAX_SIDE, over_video=over_video, cancel=cancel, on_progress=on_progress)


def _checked_output(path: Path, suffix: str, what: str, driving: str) -> Path:
    from engine.inputs import check_not_an_input, check_writable_folder

    path = Path(path).expanduser().absolute()
    check_not_an_input(path, (driving,))
    if path.suffix.lower() != suffix:
        raise SettingsError(what, f"{path.name} must end in {suffix}")
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name ending in {suffix}")
    check_writable_folder(path.parent, path)
    return path
