"""Evaluate the bundled demo model on held-out puppets (identities and motions never seen in training).

For each held-out (identity, motion) pair the ground truth is the identity itself performing the
motion (rendered by engine/puppets/generator.py); the model gets the identity's rest-pose image as
SOURCE and the motion's DWPose images as DRIVING. Reported with the project's own metrics:

- SSIM / PSNR of generated frames vs ground truth, against the "copy the source image" baseline;
- TJE (paper section 4.4, Δ = 1 and 5) for β in {0, 0.01, 0.05, 0.1, 0.2} and for the paper's
  "independent z_T per frame" ablation.

    python -m bench.demo_eval [--clips 3] [--frames 60] [--model demo] [--out build/demo-eval]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from engine.config import RenderSettings
from engine.events import FrameReady
from engine.metrics.compare import FrameComparison
from engine.metrics.sweep import run_sweep
from engine.pipeline import AnimationPipeline
from engine.puppets.samples import held_out_clip
from engine.weights import load_model

BETAS = (0.0, 0.01, 0.05, 0.1, 0.2)
DELTAS = (1, 5)
KEYS = ("ssim", "psnr_float", "tje_1", "tje_5", "motion_1")


def motion(frames) -> float:
    """How much the frames move at all (mean |I_t+1 - I_t|, 0-255): TJE mixes jitter with missing motion."""
    return float(np.mean([np.abs(b.astype(np.float32) - a.astype(np.float32)).mean() for a, b in zip(frames, frames[1:])]))


def score(frames, truth):
    """The reference rows (no rendering): the same metrics run_sweep reports, plus motion_1."""
    comparison = FrameComparison(DELTAS, "paper")
    for generated, real in zip(frames, truth):
        comparison.add(real, generated)
    metrics = comparison.metrics()
    return {**{key: metrics[key]["value"] for key in KEYS[:-1]}, "motion_1": motion(frames)}


def sweep_clip(pipeline, base, clip, source, truth, poses, out: Path) -> dict[str, dict]:
    """Every β variant of one clip through engine.metrics.sweep.run_sweep (its table and plot land in
    ``out/sweep-clip<N>``); returns variant name -> metrics, and saves clip 0's strip at β=0.05."""
    rendered = {}

    def render(beta, independent):
        settings = base.replace(beta=beta, independent_noise=independent)
        frames = [e.image for e in pipeline.render(source, poses, settings) if isinstance(e, FrameReady)]
        rendered[(beta, independent)] = frames
        return frames

    result = run_sweep(render, lambda: truth, BETAS, True, DELTAS, out / f"sweep-clip{clip}")
    rows = {}
    for row in result.rows:
        name = f"independent z_T (β={row.beta:g})" if row.independent_noise else f"β={row.beta:g}"
        frames = rendered[(row.beta, row.independent_noise)]
        rows[name] = {"ssim": row.ssim, "psnr_float": row.psnr_float, "tje_1": row.tje[1], "tje_5": row.tje[5],
                      "motion_1": motion(frames)}
    if clip == 0:
        frames = rendered[(0.05, False)]
        step = max(1, len(truth) // 6)
        strip = np.concatenate([np.concatenate([source, truth[k], poses[k], frames[k]], 0) for k in range(0, len(truth), step)], 1)
        from PIL import Image

        Image.fromarray(strip).save(out / "demo_eval_strip.png")
    return rows


def vae_round_trip(vae, frames, size):
    """decode(encode(frame)): the best any frame the model generates can score (the VAE's ceiling)."""
    import torch

    from engine.pipeline import image_to_tensor, latents_to_image

    out = []
    with torch.no_grad():
        dtype = next(vae.parameters()).dtype
        for start in range(0, len(frames), 8):
            batch = torch.cat([image_to_tensor(f, size, size) for f in frames[start:start + 8]]) * 2 - 1
            decoded = vae.decode(vae.encode(batch.to(dtype)).latent_dist.mean).sample
            out += [latents_to_image(d[None]) for d in decoded]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--cfg", type=float)
    parser.add_argument("--out", type=Path, default=Path("build/demo-eval"))
    args = parser.parse_args()

    loaded = load_model(args.model)
    size = int(loaded.info.resolution[0])
    defaults = loaded.info.defaults or {}
    base = RenderSettings(
        width=size, height=size, device="cpu",
        steps=args.steps or int(defaults.get("steps", 30)), cfg=args.cfg if args.cfg is not None else float(defaults.get("cfg", 3.5)),
    )
    pipeline = AnimationPipeline.for_settings(loaded.components, base)
    rows: dict[str, list[dict]] = {}
    copy_rows, vae_rows, truth_rows = [], [], []
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    for clip in range(args.clips):
        source, truth, poses = held_out_clip(clip, args.frames, size)
        truth_rows.append(score(truth, truth))
        copy_rows.append(score([source] * len(truth), truth))
        vae_rows.append(score(vae_round_trip(loaded.components.vae, truth, size), truth))
        for name, values in sweep_clip(pipeline, base, clip, source, truth, poses, args.out).items():
            rows.setdefault(name, []).append(values)
        print(f"clip {clip + 1}/{args.clips} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    def mean(results, key):  # None: a clip too short for the metric (TJE(Δ) needs more than Δ frames)
        values = [r[key] for r in results if r[key] is not None]
        return float(np.mean(values)) if values else None

    keys = list(KEYS)
    table = {"the truth itself (reference)": {k: mean(truth_rows, k) for k in keys},
             "copy the source (baseline)": {k: mean(copy_rows, k) for k in keys},
             "VAE round trip of the truth (ceiling)": {k: mean(vae_rows, k) for k in keys}}
    for name, results in rows.items():
        table[name] = {k: mean(results, k) for k in keys}
    report = {"model": args.model, "clips": args.clips, "frames": args.frames, "size": size, "steps": base.steps, "cfg": base.cfg, "table": table}
    (args.out / "demo_eval.json").write_text(json.dumps(report, indent=2))
    lines = ["| variant | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, values in table.items():
        lines.append(f"| {name} | " + " | ".join("-" if values[k] is None else f"{values[k]:.4f}" for k in keys) + " |")
    (args.out / "demo_eval.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
