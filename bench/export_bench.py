"""Export benchmark: encode speed and whether resident memory stays flat over a long export.

    python -m bench.export_bench                       # 2,000 frames, 256x256, preset web
    python -m bench.export_bench --frames 500 --preset gif --size 128

Fills a FrameStore in a temporary folder with synthetic frames (a moving gradient plus noise,
so the encoder has real work), then exports it. RSS is sampled through ``on_progress`` at frame
200 and at the last frame; growth between them is what a longer export would keep adding.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from engine.video import FrameStore, export_frames, load_preset

EARLY_SAMPLE = 200  # frames: past start-up (encoder buffers, lookahead, codec tables allocated)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def synthetic_frame(index: int, size: int, noise: np.ndarray) -> np.ndarray:
    """A diagonal gradient that slides one pixel per frame, with fixed grain on top."""
    ramp = (np.arange(size)[None, :] + np.arange(size)[:, None] + 2 * index) % 256
    image = np.stack([ramp, np.roll(ramp, size // 3, axis=1), 255 - ramp], axis=-1).astype(np.int16)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def fill_store(store: FrameStore, frames: int, size: int) -> float:
    noise = np.random.default_rng(0).integers(-12, 13, (size, size, 3), dtype=np.int16)
    started = time.perf_counter()
    for index in range(frames):
        store.write(index, synthetic_frame(index, size, noise))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256, help="frame width and height in pixels")
    parser.add_argument("--preset", default="web")
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    if args.frames <= EARLY_SAMPLE:
        parser.error(f"--frames must be more than {EARLY_SAMPLE}")

    preset = load_preset(args.preset)
    with tempfile.TemporaryDirectory(prefix="export-bench-") as folder:
        store = FrameStore(Path(folder) / "job", durable=False)
        fill_seconds = fill_store(store, args.frames, args.size)
        samples: dict[int, float] = {}

        def on_progress(done: int, total: int) -> None:
            if done in (EARLY_SAMPLE, total):
                samples[done] = rss_mb()

        rss_before = rss_mb()
        output = Path(folder) / f"bench{preset.extension or '-frames'}"
        result = export_frames(store, output, preset, args.fps, on_progress=on_progress)
        size_mb = (
            sum(p.stat().st_size for p in output.iterdir()) if output.is_dir() else output.stat().st_size
        ) / 2**20
    print(json.dumps({
        "preset": preset.id,
        "frames": result.frames,
        "size": f"{args.size}x{args.size}",
        "export_seconds": round(result.seconds, 2),
        "export_fps": round(result.frames / result.seconds, 1),
        "store_fill_fps": round(args.frames / fill_seconds, 1),
        "output_mb": round(size_mb, 2),
        "rss_mb_before_export": round(rss_before, 1),
        f"rss_mb_at_frame_{EARLY_SAMPLE}": round(samples[EARLY_SAMPLE], 1),
        f"rss_mb_at_frame_{args.frames}": round(samples[args.frames], 1),
        "rss_growth_mb": round(samples[args.frames] - samples[EARLY_SAMPLE], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
