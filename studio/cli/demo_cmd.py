"""``studio-cli demo [-o OUT]``: animate the bundled sample puppet with the bundled demo model.

Needs nothing but the install: ``resources/models/demo`` (weights trained on synthetic puppets)
and ``resources/samples`` (a source image and ground-truth driving poses). The puppets are
cartoons MediaPipe cannot see, so the poses are used as they are (no alignment) and there is
no sound. Settings are the model's own; the user's config file is not consulted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import ModelError, SettingsError, StudioError
from engine.resources import resource_path
from studio.cli._common import HelpFormatter, Reporter, add_output_mode_options, cancel_on_signals, exit_codes_epilog
from studio.cli.animate_cmd import add_render_options, animate

DEMO_MODEL_DIR = resource_path("models/demo")
SAMPLES_DIR = resource_path("samples")
SAMPLE_SOURCE = SAMPLES_DIR / "source.png"
SAMPLE_DRIVING = SAMPLES_DIR / "driving_poses.npz"


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``demo``; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "demo", help="animate the bundled sample with the bundled demo model",
        description="Render the bundled sample (a puppet driven by recorded poses) with the bundled demo "
                    "model: a quick check that the studio works on this machine.",
        formatter_class=HelpFormatter, epilog=exit_codes_epilog(),
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("demo.mp4"), metavar="OUT",
                        help="the video to write (default demo.mp4)")
    parser.add_argument("--frames", type=int, metavar="N", help="render only the first N frames (a quicker check)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument("--dtype", help="auto, fp32, fp16 or bf16 (default auto)")
    add_output_mode_options(parser)
    parser.set_defaults(func=run)
    return parser


def missing_demo_files() -> list[Path]:
    """The bundled files the demo needs that are not there."""
    missing = [path for path in (SAMPLE_SOURCE, SAMPLE_DRIVING) if not path.is_file()]
    if not (DEMO_MODEL_DIR / "model.json").is_file():  # what engine.weights reads first
        missing.insert(0, DEMO_MODEL_DIR)
    return missing


def run(args: argparse.Namespace) -> int:
    """Run ``demo`` and return the exit code."""
    missing = missing_demo_files()
    if missing:
        names = ", ".join(path.relative_to(resource_path()).as_posix() for path in missing)
        raise ModelError(f"the demo model is not bundled yet ({names} missing); "
                         "try 'studio-cli animate SOURCE DRIVING -o OUT --model NAME' with a model from 'studio-cli models list'")
    if args.frames is not None and args.frames < 1:
        raise SettingsError("frames", f"must be 1 or more (got {args.frames})")
    reporter = Reporter(args.json, args.quiet)
    request = _demo_request(args)
    _forget_other_demo_render(Path(args.output).expanduser().absolute(), args.frames)
    with cancel_on_signals(reporter) as cancel:
        animate(request, reporter, cancel, user_config=False, command="demo")
    return 0


def _demo_request(args: argparse.Namespace) -> argparse.Namespace:
    """The demo as ``animate`` arguments, parsed by animate's own parser so every option has its default."""
    argv = [str(SAMPLE_SOURCE), str(SAMPLE_DRIVING), f"--output={args.output}", "--model=demo", "--no-align",
            "--no-audio", "--resume"]
    argv += [f"--{name}={value}" for name, value in (("device", args.device), ("dtype", args.dtype)) if value is not None]
    if args.frames is not None:
        argv.append(f"--end={args.frames}f")
    parser = argparse.ArgumentParser(prog="studio-cli demo", add_help=False)
    add_render_options(parser)
    return parser.parse_args(argv)


def _forget_other_demo_render(out: Path, frames: int | None) -> None:
    """A demo of another length left in OUT.work is only scratch: replace it rather than refuse.
    An interrupted demo of the same length is continued instead."""
    import shutil

    from engine.jobs import RenderJob

    work_dir = out.with_name(out.name + ".work")
    try:
        spec = RenderJob.open(work_dir).spec  # the job owns its files: no front end reads job.json itself
    except StudioError:
        return
    if Path(spec.source) == SAMPLE_SOURCE.resolve() and spec.end != frames:
        shutil.rmtree(work_dir, ignore_errors=True)
