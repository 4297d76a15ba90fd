"""Pose extraction speed (frames/s) on the shared talk video, MediaPipe and DWPose side by side, plus drawing speed.

Usage: python -m bench.pose_bench [VIDEO] [--frames N] [--dwpose-frames N] [--pose-model DIR] [--gpu]
       [--style-png docs/pose_style.png]
Prints one line per measurement and the share of frames where each part was found.
DWPose runs the real ONNX files with ``--pose-model DIR``; without them it runs stand-ins of the
same compute and signatures (bench/dwpose_proxy.py), and says so. ``--gpu`` adds DWPose frames/s
at batch 1, 8 and 32 on ONNX Runtime's CUDA provider (needs onnxruntime-gpu and a GPU).
``--style-png`` also writes the style comparison of the issue note: a talk2.mp4 frame, our pose
image of it, and a frame of the official DWPose rendering talk2_dwpose.mp4, side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from engine.pose.draw import draw_overlay, draw_pose
from engine.pose.extract import detect_image
from engine.video import reader
from engine.pose.extract import extract_poses

DEFAULT_VIDEO = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ted" / "talk2.mp4"


def _first_frames(video: Path, frames: int, folder: Path) -> Path:
    """Copy the first ``frames`` frames into a new file (re-encoded losslessly enough for MediaPipe)."""
    out = folder / f"first{frames}.mp4"
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        stream_in = source.streams.video[0]
        stream = target.add_stream("libx264", rate=stream_in.average_rate)
        stream.width, stream.height, stream.pix_fmt = stream_in.width, stream_in.height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "12"}
        for index, frame in enumerate(source.decode(stream_in)):
            if index >= frames:
                break
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out


def write_style_png(video: Path, out: Path, index: int = 100) -> None:
    """Side by side: driving frame with our overlay | our pose image | official DWPose frame."""
    import cv2

    frame = reader.read_frame(video, index)
    pose = detect_image(frame)
    height, width = frame.shape[:2]
    ours = draw_pose(pose, width, height)
    official = reader.read_frame(video.with_name(video.stem + "_dwpose.mp4"), index)
    official = cv2.resize(official, (width, height), interpolation=cv2.INTER_AREA)
    gap = np.full((height, 8, 3), 255, np.uint8)
    panel = np.concatenate([draw_overlay(frame, pose), gap, ours, gap, official], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), panel[:, :, ::-1])
    print(f"style comparison written to {out} (frame {index}: ours in the middle, official DWPose on the right)")


def _dwpose_frames(video: Path, count: int) -> list[np.ndarray]:
    return [frame for _, frame in zip(range(count), reader.iter_frames(video))]


def bench_dwpose(video: Path, count: int, model_dir: Path | None, gpu: bool) -> None:
    """DWPose frames/s on CPU (batch 1 as on CPU batching gains nothing) and, with ``gpu``, at batch 1/8/32."""
    import onnxruntime as ort

    from engine.pose.dwpose import DWPoseBackend

    with tempfile.TemporaryDirectory() as folder:
        if model_dir is None:
            from bench.dwpose_proxy import write_proxies

            model_dir, what = write_proxies(Path(folder)), "compute-matched stand-in models (not the real files)"
        else:
            what = f"the real files in {model_dir}"
        frames = _dwpose_frames(video, count)
        backend = DWPoseBackend(model_dir, device="cpu", batch_size=1)
        backend.detect(frames[:1])  # first run: ONNX Runtime's allocations
        backend.reset()
        start = time.perf_counter()
        backend.detect(frames)
        seconds = time.perf_counter() - start
        print(f"dwpose CPU ({what}): {len(frames)} frames in {seconds:.1f} s = {len(frames) / seconds:.2f} frames/s")
        if not gpu:
            return
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            print("dwpose GPU: skipped (this onnxruntime has no CUDA provider; install onnxruntime-gpu)")
            return
        frames = (frames * (64 // max(1, len(frames)) + 1))[:64]
        for batch in (1, 8, 32):
            backend = DWPoseBackend(model_dir, device="cuda", batch_size=batch)
            backend.detect(frames[:batch])
            backend.reset()
            start = time.perf_counter()
            backend.detect(frames)
            seconds = time.perf_counter() - start
            print(f"dwpose GPU batch {batch} ({backend.info['pose_provider']}): {len(frames) / seconds:.1f} frames/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames (0 = all)")
    parser.add_argument("--style-png", type=Path, default=None, help="also write the style comparison PNG here")
    parser.add_argument("--dwpose-frames", type=int, default=4, help="frames for the DWPose measurement (0 = skip it)")
    parser.add_argument("--pose-model", type=Path, default=None, help="folder with the real DWPose ONNX files")
    parser.add_argument("--gpu", action="store_true", help="also DWPose on the GPU at batch 1, 8 and 32")
    args = parser.parse_args()
    if not args.video.is_file():
        sys.exit(f"video not found: {args.video} (the shared test media live in <repo>/../shared)")

    with tempfile.TemporaryDirectory() as folder:
        video = _first_frames(args.video, args.frames, Path(folder)) if args.frames else args.video
        start = time.perf_counter()
        seq = extract_poses(video, backend="mediapipe")
        seconds = time.perf_counter() - start
        frames = len(seq)
        print(f"mediapipe extraction: {frames} frames {seq.width}x{seq.height} in {seconds:.1f} s = {frames / seconds:.1f} frames/s")
        found = {
            "body": (seq.body[:, 1, 2] > 0).mean(),
            "face": (seq.face[:, :, 2] > 0).any(axis=1).mean(),
            "left hand": (seq.hands[:, 0, :, 2] > 0).any(axis=1).mean(),
            "right hand": (seq.hands[:, 1, :, 2] > 0).any(axis=1).mean(),
        }
        print("found in: " + ", ".join(f"{name} {share:.1%}" for name, share in found.items()))

        start = time.perf_counter()
        for index in range(frames):
            draw_pose(seq[index], 512, 512)
        seconds = time.perf_counter() - start
        print(f"drawing 512x512: {frames / seconds:.0f} frames/s")
    if args.dwpose_frames > 0:
        bench_dwpose(args.video, args.dwpose_frames, args.pose_model, args.gpu)
    if args.style_png is not None:
        write_style_png(args.video, args.style_png)


if __name__ == "__main__":
    main()
