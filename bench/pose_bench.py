"""Pose extraction speed (frames/s) on the shared talk video, plus drawing speed.

Usage: python bench/pose_bench.py [VIDEO] [--frames N] [--style-png docs/pose_style.png]
Prints one line per measurement and the share of frames where each part was found.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.pose.draw import draw_overlay, draw_pose  # noqa: E402
from engine.pose.extract import detect_image  # noqa: E402
from engine.video import reader  # noqa: E402
from engine.pose.extract import extract_poses  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames (0 = all)")
    parser.add_argument("--style-png", type=Path, default=None, help="also write the style comparison PNG here")
    args = parser.parse_args()
    if not args.video.is_file():
        sys.exit(f"video not found: {args.video} (the shared test media live in <repo>/../shared)")

    with tempfile.TemporaryDirectory() as folder:
        video = _first_frames(args.video, args.frames, Path(folder)) if args.frames else args.video
        start = time.perf_counter()
        seq = extract_poses(video)
        seconds = time.perf_counter() - start
        frames = len(seq)
        print(f"extraction: {frames} frames {seq.width}x{seq.height} in {seconds:.1f} s = {frames / seconds:.1f} frames/s")
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
    if args.style_png is not None:
        write_style_png(args.video, args.style_png)


if __name__ == "__main__":
    main()
