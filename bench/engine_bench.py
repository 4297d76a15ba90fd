"""Engine benchmark: seconds per frame, peak memory, memory flatness, and ours vs the per-frame baseline.

    python bench/engine_bench.py                 # tiny components on CPU (any machine)
    python bench/engine_bench.py --full          # SD1.5-sized random weights, 512x512, 30 steps, CFG (needs CUDA)

"Baseline" mimics the official code: ReferenceNet, CLIP and VAE-encode re-run for every frame and the
reference used in both CFG halves. Ours runs them once per job and leaves the uncond half plain.
Both run in this process on the same components; the ratio is baseline time / ours.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import RenderSettings  # noqa: E402
from engine.events import FrameReady  # noqa: E402
from engine.pipeline import AnimationPipeline  # noqa: E402


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def poses(count: int, height: int, width: int):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for k in range(count):
        yield np.roll(base, k, axis=1)  # a new pose image per frame, no list kept


def timed_render(pipeline, settings, frames: int, baseline: bool, sync) -> tuple[float, dict]:
    source = np.random.default_rng(1).integers(0, 256, (settings.height, settings.width, 3), dtype=np.uint8)
    memory, started, first_done = {}, time.perf_counter(), None
    for event in pipeline.render(source, poses(frames, settings.height, settings.width), settings, baseline=baseline):
        if isinstance(event, FrameReady):
            sync()
            if event.index == 0:
                first_done = time.perf_counter()
            if event.index + 1 in (100, 1000):
                memory[event.index + 1] = rss_mb()
    total = time.perf_counter() - (first_done if first_done and frames > 1 else started)
    return total / max(1, frames - 1 if frames > 1 else 1), memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="SD1.5-sized architecture at 512x512 (CUDA)")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--flat-frames", type=int, default=1000, help="frames for the memory-flatness run (tiny only)")
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args()

    if args.full:
        from engine.models.components import sd15_components

        if not torch.cuda.is_available():
            sys.exit("--full needs a CUDA GPU (the SD1.5-sized model at 512x512 takes minutes per frame on a CPU)")
        components, settings = sd15_components(), RenderSettings(width=512, height=512, steps=30, cfg=3.5, device="cuda", dtype=args.dtype)
        frames = args.frames or 6
        sync = torch.cuda.synchronize
    else:
        from engine.models.components import tiny_components

        components, settings = tiny_components(), RenderSettings(width=64, height=64, steps=30, cfg=3.5, device="cpu")
        frames = args.frames or 20
        sync = lambda: None  # noqa: E731

    torch.set_grad_enabled(False)
    pipeline = AnimationPipeline.for_settings(components, settings)
    timed_render(pipeline, settings.replace(steps=2), 2, False, sync)  # warm-up
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    ours, _ = timed_render(pipeline, settings, frames, False, sync)
    baseline, _ = timed_render(pipeline, settings, frames, True, sync)
    report = {
        "config": "sd15-512" if args.full else "tiny-64",
        "device": str(pipeline.device),
        "dtype": str(pipeline.dtype),
        "steps": settings.steps,
        "seconds_per_frame_ours": round(ours, 4),
        "seconds_per_frame_baseline": round(baseline, 4),
        "baseline_over_ours": round(baseline / ours, 3),
        "peak_rss_mb": round(rss_mb(), 1),
    }
    if torch.cuda.is_available():
        report["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if not args.full and args.flat_frames:
        _, memory = timed_render(pipeline, settings.replace(steps=1), args.flat_frames, False, sync)
        if 100 in memory and 1000 in memory:
            report["rss_mb_at_frame_100"] = round(memory[100], 1)
            report["rss_mb_at_frame_1000"] = round(memory[1000], 1)
            report["rss_growth_mb_100_to_1000"] = round(memory[1000] - memory[100], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
