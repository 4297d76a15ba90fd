"""Soak: ``studio-cli animate`` end to end on a driving video of 10,000+ frames, analysis streamed.

    python -m bench.soak_bench                    # 10,080 frames (the puppet sample looped 42 times)
    python -m bench.soak_bench --frames 1200      # a shorter run first
    python -m bench.soak_bench --max-seconds 3000 # stop the render (Ctrl-C, frames kept) after 50 min

The driving video is the bundled puppet sample (256x256, 20 fps, a person MediaPipe finds) looped
with PyAV. The model is ``builtin:tiny`` at 64x64 and 1 step, so the run measures everything
around the model: streamed analysis, pose drawing, the frame writer, the store, the export.
From the ``--json`` events of ONE run it reports the time to the first ``frame`` event against the
time the analysis needs for the whole video, frames/s per window, the child's RSS at frames
1,000 / 5,000 / 10,000, bytes per frame on disk, and a projection for a one-hour 25 fps talk at
512x512 on a GPU (assumptions printed with it). Prints Markdown; ``--out`` also writes JSON.

The child runs torch on one thread (OMP_NUM_THREADS=1) so that the analysis thread has the other
core, and with TALKINGPOSE_ANALYSIS_AHEAD=0 so that the analysis may run to the end of the video
while the render goes on: the run then measures the whole video's analysis time too. With
``--max-seconds`` the render is interrupted like a Ctrl-C and the figures cover what it reached.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import psutil

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"
RSS_AT = (1000, 5000, 10000)
HOUR_FRAMES = 25 * 3600
# Per-frame figures for the projection (see the README's benchmark section for where they come from).
GPU_FLOOR_S = 0.068  # assumed: ~54 TFLOP per 512x512 frame (30 steps, CFG) at an H200's ~790 TFLOP/s bf16
GPU_REALISTIC_S = (0.21, 0.45)  # the same at 15-33 % of peak, what published SD1.5 pipelines reach
STORE_BYTES_512 = 80_000  # lossless WebP per 512x512 talk frame (bench/frame_store_bench.py)


def looped_video(path: Path, frames: int) -> Path:
    """The puppet sample looped until it has ``frames`` frames (re-encoded, libx264 ultrafast)."""
    with av.open(str(SAMPLES / "driving.mp4")) as source:
        clip = [frame.to_ndarray(format="rgb24") for frame in source.decode(video=0)]
        rate = source.streams.video[0].average_rate
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = clip[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for index in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(clip[index % len(clip)], format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def run_animate(driving: Path, work: Path, max_seconds: float | None):
    """Run animate --json; returns (seconds since start, event) pairs, RSS MB at RSS_AT frames, wall seconds."""
    import signal
    import threading

    command = [
        sys.executable, "-m", "studio.cli.main", "animate", str(SAMPLES / "source.png"), str(driving),
        "-o", str(work / "out.mp4"), "--model", "builtin:tiny", "--size", "64x64", "--steps", "1", "--json",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "TALKINGPOSE_ANALYSIS_AHEAD": "0"}
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events, rss = [], {}
    process = psutil.Process(child.pid)
    if max_seconds:
        timer = threading.Timer(max_seconds, lambda: child.poll() is None and child.send_signal(signal.SIGINT))
        timer.daemon = True
        timer.start()
    for line in child.stdout:
        now = time.perf_counter() - started
        try:
            event = json.loads(line)
        except ValueError:
            continue
        events.append((now, event))
        if event["event"] == "frame" and event["index"] + 1 in RSS_AT:
            rss[event["index"] + 1] = process.memory_info().rss / 2**20
    if child.wait() not in (0, 130):  # 130: stopped by --max-seconds, frames kept
        raise SystemExit(f"animate failed with exit code {child.returncode}")
    return events, rss, time.perf_counter() - started


def summarise(events, rss, wall: float, work: Path, windows: int) -> dict:
    frames = [(t, e) for t, e in events if e["event"] == "frame"]
    analysis = [(t, e) for t, e in events if e["event"] == "analysis"]
    begin = next(t for t, e in events if e["event"] == "start")  # inputs checked; imports and start-up before it
    analysis_done = next((t - begin for t, e in analysis if e["done"] >= e["total"] and e is analysis[-1][1]), None)
    analysed = analysis[-1][1]["done"] if analysis else 0
    (t0, e0), (t1, e1) = analysis[len(analysis) // 10], analysis[-1]  # past MediaPipe's start-up
    steady_ms = 1000 * (t1 - t0) / max(1, e1["done"] - e0["done"])
    first_frame = frames[0][0] - begin
    stored = [p for p in (work / "out.mp4.work" / "frames").iterdir() if p.suffix in (".webp", ".png")]
    step = max(1, len(frames) // windows)
    rates = []
    for start in range(0, len(frames) - step + 1, step):
        (t0, _), (t1, _) = frames[start], frames[start + step - 1]
        rates.append({"frames": f"{start + 1}-{start + step}", "fps": round((step - 1) / max(t1 - t0, 1e-9), 2)})
    return {
        "frames": len(frames), "wall_s": round(wall, 1), "first_frame_s": round(first_frame, 1),
        "analysis_whole_video_s": None if analysis_done is None else round(analysis_done, 1),
        "analysis_frames": analysed,
        "analysis_ms_per_frame": round(steady_ms, 1), "startup_s": round(begin, 1),
        "frames_per_s": rates, "rss_mb": {k: round(v) for k, v in rss.items()},
        "bytes_per_frame_64": round(sum(p.stat().st_size for p in stored) / max(1, len(stored))),
    }


def projection(analysis_ms: float | None) -> dict:
    hour = {"frames": HOUR_FRAMES, "gpu_floor_h": round(HOUR_FRAMES * GPU_FLOOR_S / 3600, 2)}
    hour["gpu_realistic_h"] = [round(HOUR_FRAMES * s / 3600, 1) for s in GPU_REALISTIC_S]
    hour["store_gb"] = round(HOUR_FRAMES * STORE_BYTES_512 / 1e9, 1)
    if analysis_ms is not None:
        hour["analysis_h_at_measured_rate"] = round(HOUR_FRAMES * analysis_ms / 1000 / 3600, 2)
    return hour


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10080)
    parser.add_argument("--windows", type=int, default=5, help="frames/s is reported over this many equal windows")
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    parser.add_argument("--max-seconds", type=float, help="interrupt the render after this long (frames kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        work = Path(folder)
        driving = looped_video(work / "driving.mp4", args.frames)
        events, rss, wall = run_animate(driving, work, args.max_seconds)
        result = summarise(events, rss, wall, work, args.windows)
    result["one_hour_25fps_512"] = projection(result["analysis_ms_per_frame"])
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    print(f"| driving frames | {args.frames} (puppet sample looped; 256x256, 20 fps); rendered {result['frames']} |")
    print("|---|---|")
    print(f"| first `frame` event | {result['first_frame_s']} s after the `start` event "
          f"(process start-up before it: {result['startup_s']} s) |")
    print(f"| analysis of the whole video (same run) | {result['analysis_whole_video_s']} s "
          f"({result['analysis_frames']} frames analysed, {result['analysis_ms_per_frame']} ms/frame) |")
    print(f"| whole run (analysis, render, export) | {result['wall_s']} s |")
    print("| frames/s by window | " + ", ".join(f"{r['frames']}: {r['fps']}" for r in result["frames_per_s"]) + " |")
    print("| RSS at frame | " + ", ".join(f"{k:,}: {v} MB" for k, v in result["rss_mb"].items()) + " |")
    print(f"| bytes/frame on disk (64x64) | {result['bytes_per_frame_64']} |")
    hour = result["one_hour_25fps_512"]
    print(f"| one hour, 25 fps, 512x512 | {hour['frames']:,} frames; GPU floor {hour['gpu_floor_h']} h, "
          f"realistic {hour['gpu_realistic_h'][0]}-{hour['gpu_realistic_h'][1]} h; analysis "
          f"{hour.get('analysis_h_at_measured_rate')} h alongside; frames {hour['store_gb']} GB |")


if __name__ == "__main__":
    main()
