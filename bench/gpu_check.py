"""The GPU check behind bench/gpu_check.sh: SD1.5-sized random weights at 512x512, 30 steps, CFG 3.5.

Measures seconds per frame for the official per-frame replica (bench/official_replica.py), ours, ours
with torch.compile, and ours with DPM-Solver++(2M) at 15 steps; peak VRAM; fp16 vs bf16; the
reference-attention variants at 512x512. Each section is written to the JSON file as soon as it is
done, so a run cut short still leaves what it measured.

    python -m bench.gpu_check --out gpu_check.json            # needs CUDA (about 5 minutes on an H200)
    python -m bench.gpu_check --dry-run --out /tmp/check.json # tiny components on CPU: the same code path, seconds
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench.engine_bench import compare, count_flops, inputs, render_ours

from engine.config import RenderSettings
from engine.pipeline import AnimationPipeline


def seconds_per_frame(pipeline, settings, frames: int, repeats: int, sync) -> float:
    source, poses = inputs(settings.width, frames)
    render_ours(pipeline, source, poses[:1], settings.replace(steps=2))
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        render_ours(pipeline, source, poses, settings)
        sync()
        runs.append((time.perf_counter() - started) / frames)
    return round(statistics.median(runs), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dry-run", action="store_true", help="tiny components on CPU, 3 steps (checks the script, not the GPU)")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    cuda = torch.cuda.is_available() and not args.dry_run
    if not cuda and not args.dry_run:
        sys.exit("gpu_check needs a CUDA GPU; use --dry-run to check the script on a CPU.")
    from engine.models.components import sd15_components, tiny_components

    if args.dry_run:
        torch.set_num_threads(1)
        components, size, steps, dtypes = tiny_components(), 32, 3, ("fp32",)
        frames, repeats = 2, 1
    else:
        components, size, steps, dtypes = sd15_components(), 512, 30, ("fp16", "bf16")
        frames, repeats = args.frames, args.repeats
    device = "cuda" if cuda else "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    base = RenderSettings(width=size, height=size, steps=steps, cfg=3.5, device=device, dtype=dtypes[0])
    report: dict = {"config": f"{'tiny' if args.dry_run else 'sd15'} {size}x{size}, {steps} steps, CFG 3.5",
                    "device": torch.cuda.get_device_name() if cuda else "cpu (dry run)", "torch": torch.__version__,
                    "frames": frames, "repeats": repeats}

    def save(section: str, values) -> None:
        report[section] = values
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"{section}: {json.dumps(values)}", file=sys.stderr)

    started = time.perf_counter()
    pipeline = AnimationPipeline.for_settings(components, base)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    save(f"ours_vs_baseline_{dtypes[0]}", compare(pipeline, base, frames, repeats, sync))
    if cuda:
        save("peak_vram_mb", round(torch.cuda.max_memory_allocated() / 2**20, 1))
    fast = base.replace(sampler="dpmpp-2m", steps=max(1, steps // 2))
    save(f"ours_dpmpp_2m_{fast.steps}_steps_s_per_frame", seconds_per_frame(pipeline, fast, frames, repeats, sync))
    from bench.attention_options import measure

    appearance = pipeline.encode_appearance(inputs(size, 1)[0], size, size)
    latent = size // components.vae_scale_factor
    save("attention_options", measure(pipeline, appearance, (1, components.latent_channels, latent, latent)))
    for dtype in dtypes[1:]:
        other = AnimationPipeline.for_settings(components, base.replace(dtype=dtype))
        save(f"ours_{dtype}_s_per_frame", seconds_per_frame(other, base.replace(dtype=dtype), frames, repeats, sync))
    if cuda:
        source, poses = inputs(size, frames)
        reference = render_ours(AnimationPipeline.for_settings(components, base), source, poses, base)
        # built last: a pipeline installs its own reference bank on the shared UNets
        compiled = AnimationPipeline.for_settings(components, base.replace(compile=True))
        first = time.perf_counter()
        render_ours(compiled, source, poses[:1], base)
        sync()
        images = render_ours(compiled, source, poses, base)
        diff = max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(reference, images))
        save("ours_compile", {"first_frame_and_check_s": round(time.perf_counter() - first, 1),
                              "s_per_frame": seconds_per_frame(compiled, base, frames, repeats, sync), "max_pixel_diff_vs_plain": diff})
    else:
        save("ours_compile", "skipped in the dry run (compiling on a CPU takes minutes)")
    flops = count_flops(size=512, steps=30, cfg=3.5)
    ours_s = report[f"ours_vs_baseline_{dtypes[0]}"]["seconds_per_frame_ours"]
    save("flops", dict(flops, achieved_tflops_ours=round(flops["flops_ours"] / ours_s / 1e12, 1) if cuda else None))
    save("wall_s", round(time.perf_counter() - started, 1))


if __name__ == "__main__":
    main()
