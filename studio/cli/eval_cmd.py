"""``studio-cli eval``: the paper's metrics for a generated video against the real one.

    studio-cli eval --real REAL.mp4 --generated GEN.mp4 [--delta 5] [--variant paper|official]
                    [--json] [--out-dir DIR] [--resize] [--frames N] [--akd] [--weights-dir DIR]
    studio-cli eval --sweep SOURCE DRIVING [--betas 0,0.01,0.05,0.1,0.2] [--out-dir DIR]

Imports no Qt. Errors are engine.errors exceptions; studio.cli prints them and exits with
their code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import InputError


OFFICIAL_TJE = (2, "official")  # the authors' evaluation script: Δ=2, absolute differences
TJE_NOTE = ("note: TJE here uses Δ={delta} with the {variant} variant; the paper's default here is Δ=5 with signed "
            "differences, while the official script uses Δ=2 with absolute differences (--delta 2 --variant official), "
            "so the numbers are not comparable across the two")


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``eval`` subcommand; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "eval", help="score a generated video against the real one (SSIM, PSNR, TJE, ...)",
        description="Compute SSIM, PSNR_float/PSNR_int, TJE(Δ) and, with weights or --akd, LPIPS, FVD and AKD.")
    parser.add_argument("--real", type=Path, metavar="VIDEO", help="the real (ground-truth) video")
    parser.add_argument("--generated", type=Path, metavar="VIDEO", help="the generated video to score")
    parser.add_argument("--delta", type=int, default=5, help="TJE frame distance Δ, at least 1 (default 5)")
    parser.add_argument("--variant", choices=("paper", "official"), default="paper",
                        help="TJE variant: 'paper' (signed differences, section 4.4) or 'official' (the authors' script)")
    parser.add_argument("--ssim-window", choices=("gaussian", "disco"), default="gaussian",
                        help="SSIM window: 'gaussian' 11x11 sigma 1.5 (Wang et al.) or 'disco' 7x7 uniform (Disco toolkit)")
    parser.add_argument("--resize", action="store_true",
                        help="resize generated frames to the real size instead of failing when sizes differ")
    parser.add_argument("--frames", type=int, metavar="N", help="compare only the first N frames")
    parser.add_argument("--akd", action="store_true", help="also compute AKD (runs pose extraction on both videos)")
    from studio.cli._common import add_pose_options

    add_pose_options(parser.add_argument_group("AKD keypoints"))
    parser.add_argument("--weights-dir", type=Path, metavar="DIR",
                        help="folder with metric network weights (LPIPS, FVD); default $TPS_METRIC_WEIGHTS")
    parser.add_argument("--list-weights", action="store_true", help="list the network weight files and where to get them")
    parser.add_argument("--device", default="cpu", help="torch device for network metrics (default cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out-dir", type=Path, metavar="DIR", help="also write eval.md, eval.csv and eval.json here")
    sweep = parser.add_argument_group("β sweep (renders one source/driver at several β)")
    sweep.add_argument("--sweep", nargs=2, type=Path, metavar=("SOURCE", "DRIVING"),
                       help="render SOURCE driven by DRIVING at each β and score against DRIVING")
    sweep.add_argument("--betas", default="0,0.01,0.05,0.1,0.2", help="comma-separated β values")
    sweep.add_argument("--no-independent", action="store_true", help="skip the independent-z_T-per-frame ablation")
    sweep.add_argument("--poses", type=Path, metavar="NPZ",
                       help="ground-truth pose file of DRIVING (default: extract poses from DRIVING)")
    sweep.add_argument("--model", default="demo", help="model to render with (default: the bundled demo)")
    sweep.add_argument("--steps", type=int, help="DDIM steps (default: the model's)")
    sweep.add_argument("--cfg", type=float, help="guidance scale (default: the model's)")
    sweep.add_argument("--seed", type=int, default=42, help="seed of z_T (default 42)")
    sweep.add_argument("--size", help="render size WxH (default: the model's resolution); real frames are resized to it")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``eval`` and return the exit code."""
    if args.list_weights:
        from engine.metrics.weights import describe_weights

        print(describe_weights())
        return 0
    if args.sweep:
        return run_sweep_command(args)
    if args.real is None or args.generated is None:
        raise InputError("eval needs --real VIDEO and --generated VIDEO (or --sweep SOURCE DRIVING)")
    from engine.metrics.report import evaluate_videos, to_json_ready, write_report
    from studio.cli._common import Reporter, cancel_on_signals, pose_backend_choice

    # Progress is a bar on stderr only: with --json, stdout must hold exactly one JSON object.
    reporter = Reporter(json_mode=args.json)
    progress = {"bar": None, "done": 0}

    def on_progress(done: int, total: int) -> None:
        if progress["bar"] is None:
            progress["bar"] = reporter.bar(total, "comparing")
        progress["bar"].update(done - progress["done"])
        progress["done"] = done

    pose = pose_backend_choice(reporter, args.pose_backend, args.pose_model) if args.akd else {"pose_backend": "auto"}
    with cancel_on_signals(reporter) as cancel:
        try:
            result = evaluate_videos(
                args.real, args.generated, args.delta, args.variant, "resize" if args.resize else "error",
                max_frames=args.frames, ssim_window=args.ssim_window, weights_dir=args.weights_dir,
                device=args.device, pose_metrics=args.akd, cancel=cancel, on_progress=on_progress,
                pose_backend=pose["pose_backend"], pose_model=args.pose_model,
            )
        finally:
            if progress["bar"] is not None:
                progress["bar"].close()
    if (args.delta, args.variant) != OFFICIAL_TJE:
        print(TJE_NOTE.format(delta=args.delta, variant=args.variant), file=sys.stderr)
    written = write_report(result, args.out_dir) if args.out_dir is not None else {}
    if args.json:
        print(json.dumps(to_json_ready(result), ensure_ascii=False))
    else:
        print(format_text_table(result))
        for path in written.values():
            print(f"wrote {path}")
    return 0


def format_text_table(result: dict) -> str:
    """A plain aligned table for terminals, then skipped metrics and notes."""
    from engine.metrics.report import format_value, metric_label

    rows = [(metric_label(n), format_value(e["value"]), e.get("method", "")) for n, e in result["metrics"].items()]
    name_width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    width, height = result["size"]["real"]
    lines = [f"{Path(result['generated']).name} vs {Path(result['real']).name}: "
             f"{result['frames_compared']} frames at {width}x{height}, TJE variant {result['tje_variant']}", ""]
    lines += [f"  {name:<{name_width}}  {value:>{value_width}}  {how}" for name, value, how in rows]
    if result["skipped"]:
        lines += ["", "skipped:"] + [f"  {metric_label(n)}: {why}" for n, why in result["skipped"].items()]
    if result["notes"]:
        lines += ["", "notes:"] + [f"  {note}" for note in result["notes"]]
    return "\n".join(lines)


def parse_betas(text: str) -> list[float]:
    try:
        betas = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--betas must be comma-separated numbers such as 0,0.05,0.1; got '{text}'") from None
    if not betas:
        raise InputError("--betas needs at least one value")
    return betas


def run_sweep_command(args: argparse.Namespace) -> int:
    """``eval --sweep SOURCE DRIVING``: render at each β and write table.md, table.csv, plot.png."""
    from engine.config import parse_size
    from engine.metrics.sweep import run_sweep
    from engine.metrics.sweep_render import real_frames, sweep_renderer

    source, driving = args.sweep
    betas = parse_betas(args.betas)
    render, size = sweep_renderer(
        source, driving, args.model, args.frames, steps=args.steps, cfg=args.cfg, seed=args.seed,
        size=parse_size(args.size) if args.size else None, device="cpu" if args.device == "cpu" else "auto",
        poses=args.poses,
    )
    result = run_sweep(
        render, lambda: real_frames(driving, args.frames, size), betas, not args.no_independent,
        (1, args.delta) if args.delta != 1 else (1,), args.out_dir or Path("sweep"), tje_variant=args.variant,
        ssim_window=args.ssim_window,
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(result.paths["markdown"].read_text(encoding="utf-8"))
    for path in result.paths.values():
        print(f"wrote {path}")
    return 0
