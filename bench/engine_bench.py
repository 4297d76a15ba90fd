"""Engine benchmark: ours vs a replica of the official per-frame pipeline, timed and in FLOPs.

    python -m bench.engine_bench                                   # tiny components, 64x64, CPU
    python -m bench.engine_bench --arch sd15 --size 128 --frames 3 # SD1.5's real UNet/VAE/CLIP, random weights
    python -m bench.engine_bench --arch sd15 --size 512 --device cuda --dtype fp16   # a GPU (bench/gpu_check.sh)
    python -m bench.engine_bench --attention-options               # the reference-attention variants
    python -m bench.engine_bench --profile                         # where the time goes (top ops)

Baseline = bench/official_replica.py: the official code's per-frame work (CLIP, VAE-encode and the
ReferenceNet at batch 2 every frame; reference keys for every CFG row, then plain attention
recomputed for the uncond rows). Ours: appearance once per job, uncond row plain from the start.
Both render the same frames (checked: ``max_pixel_diff_baseline_vs_ours``). Timings are interleaved
frame by frame (ours, baseline, baseline, ours, ...); ``baseline_over_ours`` is the median over
``--repeats`` renders of the paired ratio (both sides timed over the same minutes of machine load);
seconds per frame = render time / frames, so ours also pays its once-per-job appearance.
FLOPs are counted at SD1.5's real size (512x512, 30 steps, CFG 3.5) on the meta device: nothing runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
import psutil
import torch

from bench.official_replica import OfficialReplica, render_official

from engine.config import RenderSettings
from engine.events import FrameReady
from engine.pipeline import AnimationPipeline


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def inputs(size: int, frames: int):
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return source, [np.roll(base, k, axis=1) for k in range(frames)]


def build(arch: str):
    from engine.models import components

    return components.sd15_components() if arch == "sd15" else components.tiny_components()


def render_ours(pipeline, source, poses, settings) -> list[np.ndarray]:
    return [e.image for e in pipeline.render(source, poses, settings, overlap_decode=False) if isinstance(e, FrameReady)]


def timed(fn, sync) -> tuple[float, list]:
    started = time.perf_counter()
    frames = list(fn())
    sync()
    return time.perf_counter() - started, frames


def compare(pipeline, settings, frames: int, repeats: int, sync) -> dict:
    """Ours vs the official replica, interleaved frame by frame (ours k, baseline k, baseline k+1,
    ours k+1, ...: the order flips every frame), medians over ``repeats`` renders; and their frame
    difference. Ours' first frame carries its once-per-job appearance encoding."""
    replica = OfficialReplica(pipeline)
    source, poses = inputs(settings.width, frames)
    warm = settings.replace(steps=2)
    render_ours(pipeline, source, poses[:1], warm)
    list(render_official(replica, source, poses[:1], warm))
    ours_s, base_s, diff = [], [], 0
    for _ in range(repeats):
        streams = {
            "ours": (e.image for e in pipeline.render(source, poses, settings, overlap_decode=False) if isinstance(e, FrameReady)),
            "baseline": render_official(replica, source, poses, settings),
        }
        seconds = {"ours": 0.0, "baseline": 0.0}
        images = {"ours": [], "baseline": []}
        for k in range(frames):
            for name in (("ours", "baseline") if k % 2 == 0 else ("baseline", "ours")):
                started = time.perf_counter()
                images[name].append(next(streams[name]))
                sync()
                seconds[name] += time.perf_counter() - started
        ours_s.append(seconds["ours"] / frames)
        base_s.append(seconds["baseline"] / frames)
        diff = max(diff, max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(images["ours"], images["baseline"])))
    paired = [b / o for o, b in zip(ours_s, base_s)]
    return {
        "seconds_per_frame_ours": round(statistics.median(ours_s), 4),
        "seconds_per_frame_baseline": round(statistics.median(base_s), 4),
        # each repeat pairs ours and the baseline over the same minutes of machine load
        "baseline_over_ours": round(statistics.median(paired), 3),
        "baseline_over_ours_per_repeat": [round(r, 3) for r in paired],
        "median_baseline_over_median_ours": round(statistics.median(base_s) / statistics.median(ours_s), 3),
        "max_pixel_diff_baseline_vs_ours": diff,
    }


def count_flops(size: int = 512, steps: int = 30, cfg: float = 3.5) -> dict:
    """FLOPs per frame at SD1.5's architecture on the meta device (shapes only, nothing computed).

    One UNet call's FLOPs times ``steps`` (every step has the same shapes); the once-per-job
    appearance of ours is reported apart (``flops_ours_once_per_job``), not per frame."""
    from torch.utils.flop_counter import FlopCounterMode

    from engine.models.components import sd15_components

    with torch.device("meta"):
        components = sd15_components()
    pipeline = AnimationPipeline(components, device="meta", dtype=torch.float32)
    replica = OfficialReplica(pipeline)
    c = components
    latent = size // c.vae_scale_factor
    clip_px = int(c.image_encoder.config.image_size)
    meta = dict(device="meta", dtype=torch.float32)

    def flops(fn) -> int:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            fn()
        return counter.get_total_flops()

    def clip_and_encode():
        clip = c.image_encoder(pixel_values=torch.empty(1, 3, clip_px, clip_px, **meta)).image_embeds.unsqueeze(1)
        return clip, c.vae.encode(torch.empty(1, 3, size, size, **meta)).latent_dist.mean

    clip, latents = clip_and_encode()
    appearance_ours = flops(lambda: pipeline.bank.clear() or c.reference_unet(latents, torch.zeros((), **meta), encoder_hidden_states=clip))
    ours_states = pipeline.bank.snapshot()
    reference_batch2 = flops(lambda: replica.appearance_from(clip, latents, cfg))
    official_states = pipeline.bank.snapshot()
    encode = flops(clip_and_encode)
    pose = flops(lambda: c.pose_guider(torch.empty(1, 3, size, size, **meta)))
    decode = flops(lambda: c.vae.decode(torch.empty(1, c.latent_channels, latent, latent, **meta)))
    batch = 2 if cfg > 1.0 else 1
    x = torch.empty(batch, c.latent_channels, latent, latent, **meta)
    tokens = torch.empty(batch, 1, clip.shape[-1], **meta)

    def unet_call(states, official: bool) -> int:
        replica.use(official)
        pipeline.bank.restore(states)
        pipeline.bank.reference_index, pipeline.bank.plain_rows = None, batch - 1
        try:
            return flops(lambda: c.denoising_unet(x, torch.tensor(500), encoder_hidden_states=tokens))
        finally:
            replica.use(False)

    ours = pose + steps * unet_call(ours_states, False) + decode
    baseline = encode + reference_batch2 + pose + steps * unet_call(official_states, True) + decode
    return {
        "flops_config": f"sd15 {size}x{size}, {steps} steps, CFG {cfg}",
        "flops_ours": ours,
        "flops_baseline": baseline,
        "flops_baseline_over_ours": round(baseline / ours, 3),
        "flops_ours_once_per_job": encode + appearance_ours,
    }


def compile_check(components, settings, frames: int) -> dict:
    """torch.compile of the denoising UNet: frames vs the default path, and s/frame after compiling."""
    import copy

    source, poses = inputs(settings.width, frames)
    plain = AnimationPipeline.for_settings(copy.deepcopy(components), settings)
    compiled = AnimationPipeline.for_settings(components, settings.replace(compile=True))
    started = time.perf_counter()
    render_ours(compiled, source, poses[:1], settings)
    compile_s = time.perf_counter() - started
    timings = {"plain": [], "compiled": []}
    images = {}
    for _ in range(2):  # interleaved
        for name, pipeline in (("plain", plain), ("compiled", compiled)):
            seconds, images[name] = timed(lambda: render_ours(pipeline, source, poses, settings), lambda: None)
            timings[name].append(seconds / frames)
    diff = max(int(np.abs(a.astype(np.int16) - b).max()) for a, b in zip(images["plain"], images["compiled"]))
    plain_s, compiled_s = min(timings["plain"]), min(timings["compiled"])
    return {"first_frame_with_compile_s": round(compile_s, 1), "seconds_per_frame_plain": round(plain_s, 4),
            "seconds_per_frame_compiled": round(compiled_s, 4), "plain_over_compiled": round(plain_s / compiled_s, 3),
            "max_pixel_diff": diff}


def memory_flatness(pipeline, settings, frames: int) -> dict:
    """RSS at frame 100 and at the last frame of a 1-step render: memory must not grow with length."""
    source, _ = inputs(settings.width, 1)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (settings.height, settings.width, 3), dtype=np.uint8)
    poses = (np.roll(base, k, axis=1) for k in range(frames))  # a generator: no list of frames kept
    memory = {}
    for event in pipeline.render(source, poses, settings.replace(steps=1), overlap_decode=False):
        if isinstance(event, FrameReady) and event.index + 1 in (100, frames):
            memory[event.index + 1] = rss_mb()
    return {f"rss_mb_at_frame_{k}": round(v, 1) for k, v in memory.items()} | {
        f"rss_growth_mb_100_to_{frames}": round(memory[frames] - memory[100], 2)}


def profile(pipeline, settings) -> None:
    """Top ops by self CPU time for one frame of ours and one of the baseline (to stderr)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    replica = OfficialReplica(pipeline)
    source, poses = inputs(settings.width, 1)
    for name, fn in (("ours", lambda: render_ours(pipeline, source, poses, settings)),
                     ("baseline", lambda: list(render_official(replica, source, poses, settings)))):
        fn()
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        print(f"--- {name}", file=sys.stderr)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=("tiny", "sd15"), default="tiny")
    parser.add_argument("--size", type=int, default=None, help="output width = height (default: 64 tiny, 128 sd15)")
    parser.add_argument("--frames", type=int, default=None, help="frames per render (default: 8 tiny, 3 sd15)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cfg", type=float, default=3.5)
    parser.add_argument("--repeats", type=int, default=None, help="interleaved renders per side (default: 5 tiny, 3 sd15)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--no-flops", action="store_true", help="skip the FLOP count at 512x512")
    parser.add_argument("--flops-only", action="store_true", help="only the FLOP count (nothing is computed)")
    parser.add_argument("--attention-options", action="store_true", help="time the reference-attention variants")
    parser.add_argument("--profile", action="store_true", help="print the top ops of one frame each")
    parser.add_argument("--compile-check", action="store_true", help="frames and s/frame with torch.compile vs without")
    parser.add_argument("--flat-frames", type=int, default=0, help="also render N 1-step frames and report RSS growth (N > 100)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default on CPU: 1)")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    if args.threads or args.device == "cpu":
        # on the shared 2-core machines 2 torch threads spin on each other: 5-10x slower than 1
        torch.set_num_threads(args.threads or 1)
    if args.flops_only:
        print(json.dumps(count_flops(cfg=args.cfg), indent=2))
        return
    size = args.size or (128 if args.arch == "sd15" else 64)
    frames = args.frames or (3 if args.arch == "sd15" else 8)
    args.repeats = args.repeats or (3 if args.arch == "sd15" else 5)
    settings = RenderSettings(width=size, height=size, steps=args.steps, cfg=args.cfg, device=args.device, dtype=args.dtype)
    pipeline = AnimationPipeline.for_settings(build(args.arch), settings)
    cuda = pipeline.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    report = {"config": f"{args.arch}-{size}", "device": str(pipeline.device), "dtype": str(pipeline.dtype),
              "steps": args.steps, "cfg": args.cfg, "frames": frames, "repeats": args.repeats,
              "torch_threads": torch.get_num_threads()}
    if args.profile:
        profile(pipeline, settings.replace(steps=min(args.steps, 5)))
    if args.compile_check:
        report["compile"] = compile_check(build(args.arch), settings, frames)
    elif args.attention_options:
        from bench.attention_options import measure

        appearance = pipeline.encode_appearance(inputs(size, 1)[0], size, size)
        factor = pipeline.components.vae_scale_factor
        shape = (1, pipeline.components.latent_channels, size // factor, size // factor)
        report["attention_options"] = measure(pipeline, appearance, shape, repeats=4 * args.repeats)
    else:
        report.update(compare(pipeline, settings, frames, args.repeats, sync))
    if args.flat_frames > 100:
        report.update(memory_flatness(pipeline, settings, args.flat_frames))
    report["peak_rss_mb"] = round(rss_mb(), 1)
    if cuda:
        report["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if not args.no_flops:
        report.update(count_flops(cfg=args.cfg))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
