"""``studio-cli poses DRIVING -o POSES.npz``: find the keypoints of every frame of a driving video once.

The ``.npz`` can then be given as DRIVING to ``animate`` (no analysis again), edited, or shared.
``--preview`` writes the keypoints drawn over the video, to check what was found.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from engine.errors import InputError, OutputError, SettingsError
from studio.cli._checks import check_driving, check_writable_folder
from studio.cli._common import (
    HelpFormatter,
    Reporter,
    add_output_mode_options,
    command_session,
    driving_analysis_progress,
    exit_codes_epilog,
    reported_progress,
)

PREVIEW_MAX_SIDE = 720  # a check, not a deliverable: keep it quick to write and to open


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``poses``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "poses", help="extract a driving video's keypoints to a .npz pose file",
        description="Find the body, hand and face keypoints of every frame of DRIVING (MediaPipe Holistic) "
                    "and save them as a .npz pose file that 'animate' accepts as DRIVING.",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    parser.add_argument("driving", type=Path, metavar="DRIVING", help="the driving video (or a .npz to smooth again)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="POSES.npz", help="the pose file to write")
    parser.add_argument("--preview", type=Path, metavar="OUT.mp4", help="also write the keypoints drawn over the video")
    parser.add_argument("--smooth", type=float, default=0.0, metavar="S", help="smooth the keypoints (0 = off, 1 = strong)")
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``poses`` and return the exit code."""
    started = time.perf_counter()
    if not args.smooth >= 0:
        raise SettingsError("smooth", f"must be 0 or more (got {args.smooth})")
    out = _checked_output(args.output, ".npz", "POSES")
    preview = _checked_output(args.preview, ".mp4", "--preview") if args.preview is not None else None
    with command_session(args) as (reporter, cancel):
        driving = check_driving(args.driving)
        if driving.kind == "pose_video":
            raise InputError(f"{driving.path.name} is already a pose drawing, not a video of a person; "
                             "give it to 'animate' as DRIVING directly")
        reporter.emit("start", command="poses", driving=str(driving.path), output=str(out),
                      preview=str(preview) if preview else None)
        seq = _poses_of(driving, args.smooth, reporter, cancel)
        try:
            seq.save(out)
        except OSError as exc:
            raise OutputError(f"cannot write {out} ({exc.strerror or exc}); choose a writable folder") from None
        if preview is not None:
            _write_preview(seq, preview, driving.path if driving.kind == "video" else None, reporter, cancel)
        missing = int(seq.meta.get("frames_without_person", 0))
        seconds = time.perf_counter() - started
        reporter.emit("done", output=str(out), preview=str(preview) if preview else None, frames=len(seq),
                      frames_without_person=missing, fps=seq.fps, seconds=round(seconds, 3))
        if missing:
            reporter.warning(f"no person found in {missing} of {len(seq)} frames; they are left blank")
        reporter.result(f"wrote {out} ({len(seq)} frames at {seq.fps:g} fps)" + (f" and {preview}" if preview else ""))
    return 0


def _poses_of(driving, smooth: float, reporter: Reporter, cancel):
    from engine.pose.keypoints import PoseSequence
    from engine.pose.smooth import smooth_sequence

    if driving.kind == "poses":
        seq = PoseSequence.load(driving.path)
        return smooth_sequence(seq, smooth) if smooth > 0 else seq
    from engine.pose.extract import extract_poses

    with driving_analysis_progress(reporter) as on_progress:
        return extract_poses(driving.path, cancel=cancel, on_progress=on_progress, smooth=smooth)


def _write_preview(seq, preview: Path, over_video: Path | None, reporter: Reporter, cancel) -> None:
    from engine.pose.preview import write_pose_preview

    width, height = (seq.width, seq.height) if seq.width > 0 and seq.height > 0 else (512, 512)
    scale = min(1.0, PREVIEW_MAX_SIDE / max(width, height))
    with reported_progress(reporter, "preview", f"writing {preview.name}") as on_progress:
        write_pose_preview(seq, preview, round(width * scale), round(height * scale), over_video=over_video,
                           cancel=cancel, on_progress=on_progress)


def _checked_output(path: Path, suffix: str, what: str) -> Path:
    path = Path(path).expanduser().absolute()
    if path.suffix.lower() != suffix:
        raise SettingsError(what, f"{path.name} must end in {suffix}")
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name ending in {suffix}")
    check_writable_folder(path.parent, path)
    return path
