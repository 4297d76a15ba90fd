"""The bundled sample inputs (resources/samples/) and a contact sheet of puppets.

``write_samples`` renders, from held-out seeds only (never seen in training):
  source.png          puppet A standing at rest, facing the camera
  driving.mp4         puppet B (another build and look) talking and gesturing, H.264 yuv420p
  driving_poses.npz   B's ground-truth keypoints per frame (PoseSequence, width/height set);
                      MediaPipe is not made for cartoon puppets, so the demo uses these
  samples.json        the seeds and settings, so the files can be reproduced

Reproduce with ``python -m engine.puppets.samples resources/samples``.
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.errors import OutputError
from engine.pose.keypoints import PoseSequence
from engine.puppets.motion import (
    HELDOUT_MOTION_SEEDS, MotionGenerator, frame_controls, pose_for, pose_from_controls, sample_controls,
)
from engine.puppets.generator import HELDOUT_IDENTITY_SEEDS, render_puppet, sample_identity
from engine.video.reader import video_fingerprint

SOURCE_IDENTITY_SEED = HELDOUT_IDENTITY_SEEDS.start + 14
DRIVING_IDENTITY_SEED = HELDOUT_IDENTITY_SEEDS.start + 8
DRIVING_MOTION_SEED = HELDOUT_MOTION_SEEDS.start + 10


EVAL_IDENTITY_SEEDS = HELDOUT_IDENTITY_SEEDS.start + 500  # + clip index: bench/demo_eval.py and the demo-model tests
EVAL_MOTION_SEEDS = HELDOUT_MOTION_SEEDS.start + 700


def held_out_clip(index: int, frames: int, size: int, fps: float = 20.0):
    """(source, truth frames, pose images) of held-out evaluation clip ``index``.

    One held-out identity performs one held-out motion: ``truth`` is what a perfect model would
    draw, ``source`` is that identity at rest (the SOURCE), ``poses`` are the motion's pose
    drawings (the DRIVING input). Neither the identity nor the motion is ever drawn in training.
    """
    from engine.pose.draw import draw_pose
    from engine.puppets.motion import sample_motion

    identity = sample_identity(EVAL_IDENTITY_SEEDS + index)
    motion = sample_motion(EVAL_MOTION_SEEDS + index, frames, fps, identity=identity)
    source = render_puppet(identity, identity.rest_pose(), size, size)
    truth = [render_puppet(identity, motion[k], size, size) for k in range(frames)]
    poses = [draw_pose(motion[k], size, size) for k in range(frames)]
    return source, truth, poses


def _encode(frames, path: Path, fps: float, size: int, crf: int) -> int:
    """Stream frames to an H.264 MP4 (temp name, then rename); returns the frame count."""
    partial = path.with_name(path.name + ".partial.mp4")
    count = 0
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
            count += 1
        for packet in stream.encode():
            container.mux(packet)
    partial.replace(path)
    return count


def write_samples(out_dir: Path, seconds: float = 12, fps: float = 20, size: int = 256, crf: int = 18) -> dict:
    """Write source.png, driving.mp4, driving_poses.npz and samples.json into ``out_dir``."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the samples folder {out_dir} ({exc.strerror}); choose a writable folder"
        ) from None
    source, driver = sample_identity(SOURCE_IDENTITY_SEED), sample_identity(DRIVING_IDENTITY_SEED)
    frames = int(round(seconds * fps))
    motion = sample_controls(DRIVING_MOTION_SEED, frames, fps)
    poses = [pose_for(driver, motion, k) for k in range(frames)]
    try:
        source_png = out_dir / "source.png"
        if not cv2.imwrite(str(source_png), render_puppet(source, source.rest_pose(), size, size)[:, :, ::-1]):
            raise OSError(0, "the PNG encoder failed")
        _encode((render_puppet(driver, pose, size, size) for pose in poses), out_dir / "driving.mp4", fps, size, crf)
        # the video's fingerprint lets engine.sample_pose give these poses to this exact video only
        sequence = PoseSequence.from_poses(poses, fps, width=size, height=size,
                                           fingerprint=video_fingerprint(out_dir / "driving.mp4"))
        sequence.save(out_dir / "driving_poses.npz")
        about = {
            "source_identity_seed": SOURCE_IDENTITY_SEED, "driving_identity_seed": DRIVING_IDENTITY_SEED,
            "driving_motion_seed": DRIVING_MOTION_SEED, "fps": fps, "frames": frames, "size": size, "crf": crf,
            "made_by": f"python -m engine.puppets.samples {out_dir} --seconds {seconds:g} --fps {fps:g} --size {size}",
        }
        (out_dir / "samples.json").write_text(json.dumps(about, indent=2) + "\n")
    except OSError as exc:
        raise OutputError(
            f"cannot write the samples into {out_dir} ({exc.strerror or exc}); check the folder and free disk space"
        ) from None
    return about


def contact_sheet(identity_seeds, motion_seed: int = HELDOUT_MOTION_SEEDS.start + 7, poses: int = 5,
                  size: int = 128, seconds: float = 10.0) -> np.ndarray:
    """One row per identity: rest pose, ``poses`` moments of one motion, and the last one's pose drawing."""
    from engine.pose.draw import draw_pose

    generator = MotionGenerator(motion_seed)
    times = np.linspace(0.0, seconds, poses + 1)[1:]
    controls = generator.controls_at(times)
    rows = []
    for seed in identity_seeds:
        identity = sample_identity(seed)
        row = [render_puppet(identity, identity.rest_pose(), size, size)]
        for k in range(poses):
            pose = pose_from_controls(identity.build, frame_controls(controls, k))
            row.append(render_puppet(identity, pose, size, size))
        row.append(draw_pose(pose, size, size))
        rows.append(np.concatenate(row, 1))
    return np.concatenate(rows, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.puppets.samples", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for source.png, driving.mp4, driving_poses.npz")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--fps", type=float, default=20.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sheet", type=Path, help="also write a contact sheet PNG of 8 held-out puppets here")
    args = parser.parse_args(argv)
    about = write_samples(args.out_dir, args.seconds, args.fps, args.size)
    print(f"wrote {about['frames']} frames at {args.size}x{args.size} to {args.out_dir}")
    if args.sheet is not None:
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        sheet = contact_sheet(range(HELDOUT_IDENTITY_SEEDS.start, HELDOUT_IDENTITY_SEEDS.start + 8))
        cv2.imwrite(str(args.sheet), sheet[:, :, ::-1])
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
