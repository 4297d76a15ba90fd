"""``studio-cli dataset``: turn a folder of talk videos into a training dataset (the paper's preprocessing).

    studio-cli dataset VIDEOS_DIR -o DATASET_DIR [--size 512] [--fps 20] [--json]

Upper body cropped to a square, resampled to 20 fps, poses extracted; clips without a face or
hands are dropped with the reason; unreadable files are reported and skipped. Run it again to
add new videos or to continue after a stop: finished videos are skipped.
Imports no Qt. Errors are engine.errors exceptions; studio.cli prints them and exits with their code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import InputError
from engine.textfiles import load_json


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``dataset`` subcommand; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "dataset", help="build a training dataset from a folder of videos",
        description="Detect and crop the upper body of each video to a square, resample to a fixed frame rate, "
                    "extract poses and write an index that 'studio-cli train' reads.")
    parser.add_argument("videos_dir", type=Path, metavar="VIDEOS_DIR", help="folder of videos (MP4, MOV, MKV, WebM, AVI)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DATASET_DIR", help="where the dataset goes (created if needed)")
    parser.add_argument("--size", type=int, default=512, help="side of the square frames in pixels (default 512, as the paper)")
    parser.add_argument("--fps", type=float, default=20.0, help="frame rate of the stored clips (default 20, as the paper)")
    parser.add_argument("--max-missing-face", type=float, default=0.2, metavar="SHARE",
                        help="drop a clip when the face is missing in more than this share of frames (default 0.2)")
    parser.add_argument("--max-missing-hands", type=float, default=0.5, metavar="SHARE",
                        help="drop a clip when both hands are missing in more than this share of frames (default 0.5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per clip instead of text")
    from studio.cli._common import add_pose_options

    add_pose_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``dataset`` and return the exit code (2 when no usable clip results)."""
    from engine.train.dataset_builder import build_dataset

    from studio.cli._common import Reporter, pose_backend_choice

    # bad choices fail before any video; the line goes to stderr, as the command's other notes
    pose = pose_backend_choice(Reporter(json_mode=args.json), args.pose_backend, args.pose_model)
    show = _Output(args.json)
    report = build_dataset(args.videos_dir, args.output, size=args.size, fps=args.fps, on_event=show.event,
                           max_missing_face=args.max_missing_face, max_missing_hands=args.max_missing_hands,
                           pose_backend=pose["pose_backend"], pose_model=args.pose_model)
    show.close()
    index = load_json(report.index, what="the dataset index")
    usable = [clip for clip in index["clips"] if clip.get("status") == "kept"]
    counts = {status: report.count(status) for status in ("kept", "dropped", "failed", "done before")}
    if args.json:
        print(json.dumps({"event": "done", "index": str(report.index), "usable_clips": len(usable), **counts}), flush=True)
    else:
        print(f"{counts['kept']} kept, {counts['dropped']} dropped, {counts['failed']} failed, "
              f"{counts['done before']} done before; {len(usable)} usable clips in {report.index}", flush=True)
    if not usable:
        raise InputError(f"no usable clip in {args.videos_dir}: each needs one person whose face and hands are visible "
                         "in most frames; see the reasons above")
    return 0


class _Output:
    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.bar = None

    def event(self, event) -> None:
        if event.kind == "clip-progress":
            if not self.as_json:
                self._progress(event)
            return
        if event.kind == "clip-started":
            self.close()
            if not self.as_json:
                print(f"[{event.number}/{event.count}] {event.video}", flush=True)
            return
        self.close()
        if self.as_json:
            print(json.dumps({"event": "clip", "video": event.video, "status": event.status, "reason": event.reason,
                              "frames": event.frames}), flush=True)
        else:
            detail = f": {event.reason}" if event.reason else (f" ({event.frames} frames)" if event.frames else "")
            print(f"  {event.status}{detail}", flush=True)

    def _progress(self, event) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=event.total, desc="  poses", unit="frame", file=sys.stderr, dynamic_ncols=True, leave=False)
        self.bar.total = max(self.bar.total or 0, event.total)
        self.bar.update(event.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
