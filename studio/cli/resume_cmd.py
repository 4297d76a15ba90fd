"""``studio-cli resume WORK_DIR``: render the frames an interrupted job still lacks, then export.

The output, preset and audio choice are the ones ``animate`` recorded in the job;
``-o``/``--preset``/``--no-audio`` override them, e.g. for a job the GUI started.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import InputError
from studio.cli._checks import choose_preset, preset_reference
from studio.cli._common import HelpFormatter, add_output_mode_options, command_session, exit_codes_epilog
from studio.cli.animate_cmd import add_export_options, render_and_export


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``resume``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "resume", help="continue an interrupted render and export it",
        description="Continue the render in WORK_DIR after its last complete frame (the result equals an "
                    "uninterrupted run on the same device) and export to the output recorded by 'animate'.",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    parser.add_argument("work_dir", type=Path, metavar="WORK_DIR", help="the work dir 'animate' printed")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT", help="export here instead of the recorded output")
    add_export_options(parser, "export preset instead of the recorded one")
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``resume`` and return the exit code."""
    from engine.inputs import check_not_an_input, check_output
    from engine.jobs import RenderJob

    with command_session(args) as (reporter, cancel):
        job = RenderJob.open(args.work_dir)
        record = job.recorded_export() or {}
        if args.output is None and "output" not in record:
            raise InputError(f"{job.work_dir} does not say where to export (it was not started by "
                             "'studio-cli animate'); add -o OUT")
        out = Path(args.output) if args.output is not None else Path(record["output"])
        check_not_an_input(out, (job.spec.source, job.spec.driving))
        preset = choose_preset(out, args.preset or (record.get("preset") if args.output is None else None), reporter,
                               args.force)
        out = check_output(out, preset, (job.spec.source, job.spec.driving), args.force)
        audio = not args.no_audio and record.get("audio", True)
        reference = preset_reference(preset)
        job.check_inputs()
        job.remember_export(out, reference, audio)
        reporter.emit("start", command="resume", source=job.spec.source, driving=job.spec.driving, output=str(out),
                      preset=preset.id, work_dir=str(job.work_dir), model=job.spec.model)
        reporter.info(f"work dir: {job.work_dir}")
        try:
            render_and_export(job, out, reference, audio, reporter, cancel, force=args.force)
        finally:
            job.release()
    return 0
