"""``studio-cli export WORK_DIR -o OUT``: encode the frames of a work dir, during or after rendering.

Only the frames complete when the export starts are used, so it is safe while a render is still
writing; the output appears under its final name only once it is whole.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from studio.cli._checks import choose_preset, preset_reference
from studio.cli._common import (
    HelpFormatter,
    add_output_mode_options,
    command_session,
    exit_codes_epilog,
    native_logs_silenced,
    reported_progress,
)
from studio.cli.animate_cmd import add_export_options


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``export``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "export", help="encode a work dir's frames to a video or PNG folder",
        description="Encode the frames rendered so far in WORK_DIR (works while the render is running) "
                    "with an export preset; the driving video's sound is laid under them.",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    parser.add_argument("work_dir", type=Path, metavar="WORK_DIR", help="the work dir of a render")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="the video or PNG folder to write")
    add_export_options(parser, "export preset (default from OUT's extension)")
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``export`` and return the exit code."""
    from engine.inputs import check_not_an_input, check_output
    from engine.jobs import RenderJob

    started = time.perf_counter()
    with command_session(args) as (reporter, cancel):
        job = RenderJob.open(args.work_dir)
        check_not_an_input(args.output, (job.spec.source, job.spec.driving))
        preset = choose_preset(Path(args.output), args.preset, reporter, args.force)
        out = check_output(args.output, preset, (job.spec.source, job.spec.driving), args.force)
        with native_logs_silenced():  # the job's driving input opens (MediaPipe for alignment)
            job.driving(cancel)
        frames = job.frames_on_disk
        reporter.emit("start", command="export", work_dir=str(job.work_dir), output=str(out), preset=preset.id)
        with reported_progress(reporter, "export", f"writing {out.name}") as on_progress:
            written = job.export(out, preset_reference(preset), not args.no_audio, cancel=cancel,
                                 on_progress=on_progress, force=args.force)
        total = job.frames_total
        seconds = time.perf_counter() - started
        reporter.emit("done", output=str(written), work_dir=str(job.work_dir), frames=frames, frames_total=total,
                      seconds=round(seconds, 3))
        note = "" if frames >= total else f" of {total}; the render is not finished"
        reporter.result(f"wrote {written} ({frames} frames{note})")
    return 0
