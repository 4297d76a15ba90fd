"""Compare a generated video with the real one and write the numbers as Markdown and CSV.

Policy for mismatched inputs (stated in every report's notes):
- Lengths: frame pairs are compared up to the shorter video (TJE pairs included); the note
  says how many frames each video has.
- Sizes: different frame sizes are an InputError unless ``size_policy="resize"``, which
  resizes each generated frame to the real video's size with area interpolation (what the
  authors' tje_error.py does).
- Δ < 1, an unknown TJE variant, missing or unreadable files: InputError.

Frames are decoded one at a time (engine/video/reader.py); memory does not grow with length.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError, OutputError
from engine.metrics.compare import FrameComparison
from engine.metrics.tje import check_delta, check_variant
from engine.metrics.weights import NETWORK_METRICS, locate_all
from engine.video.reader import iter_frames, probe

SIZE_POLICIES = ("error", "resize")
_LABELS = {
    "ssim": "SSIM", "psnr_float": "PSNR_float (dB)", "psnr_int": "PSNR_int (dB)", "lpips": "LPIPS",
    "fid_vid": "FID-VID", "fvd": "FVD", "csim": "CSIM", "syncnet": "SyncNet", "akd": "AKD (px)",
    "akd_face": "AKD face (px)", "akd_hands": "AKD hands (px)", "akd_torso": "AKD torso (px)", "akd_lips": "AKD_lip (px)",
}


def evaluate_videos(
    real: str | Path,
    generated: str | Path,
    delta: int = 5,
    tje_variant: str = "paper",
    size_policy: str = "error",
    *,
    max_frames: int | None = None,
    ssim_window: str = "gaussian",
    ssim_channels: str = "gray",
    networks: Sequence[str] = NETWORK_METRICS,
    weights_dir: str | Path | None = None,
    device: str = "cpu",
    pose_metrics: bool = False,
    pose_cache_dir: str | Path | None = None,
    pose_backend: str = "auto",
    pose_model: str | Path | None = None,
    cancel: CancelToken | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """All metrics of ``generated`` against ``real`` as a JSON-ready dict (see ``format_markdown``)."""
    # 1. check inputs
    delta, tje_variant = check_delta(delta), check_variant(tje_variant)
    if size_policy not in SIZE_POLICIES:
        raise InputError(f"unknown size policy '{size_policy}'; use 'error' or 'resize'")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be at least 1, got {max_frames}")
    comparison = FrameComparison((delta,), tje_variant, ssim_window=ssim_window, ssim_channels=ssim_channels)
    real_info, gen_info = _probe("real", real), _probe("generated", generated)
    real_size, gen_size = (real_info.width, real_info.height), (gen_info.width, gen_info.height)
    notes: list[str] = []
    if real_size != gen_size:
        if size_policy == "error":
            raise InputError(
                f"the real video is {real_size[0]}x{real_size[1]} but the generated one is {gen_size[0]}x{gen_size[1]}; "
                "render at the real size or allow resizing (--resize)")
        notes.append(f"generated frames resized from {gen_size[0]}x{gen_size[1]} to {real_size[0]}x{real_size[1]} (area)")

    # 2. open the network metrics whose weights are present; the rest are skipped with a reason
    usable, skipped = locate_all(networks, weights_dir)
    network_metrics = []
    if usable:
        from engine.metrics.networks import build_network_metrics  # torch loads only when some weights exist

        network_metrics, failed = build_network_metrics(usable, device)
        skipped.update(failed)

    # 3. one streaming pass over both videos
    _compare_streams(real_info, gen_info, [comparison, *network_metrics], max_frames, cancel, on_progress)
    if real_info.frame_count != gen_info.frame_count and (max_frames is None or comparison.frames < max_frames):
        notes.append(f"lengths differ (real {real_info.frame_count} frames, generated {gen_info.frame_count}); "
                     f"compared the first {comparison.frames}")
    if max_frames is not None and comparison.frames == max_frames:
        notes.append(f"limited to the first {max_frames} frames")

    # 4. collect
    metrics = comparison.metrics()
    if metrics[f"tje_{delta}"]["value"] is None:
        notes.append(f"TJE(Δ={delta}) needs at least {delta + 1} frames; only {comparison.frames} were compared")
    for metric in network_metrics:
        metrics[metric.name] = metric.result()
    if pose_metrics:
        _add_pose_metrics(metrics, skipped, real_info.path, gen_info.path, pose_cache_dir, max_frames, cancel,
                          (pose_backend, pose_model))
    else:
        skipped["akd"] = "not requested: pass --akd (runs MediaPipe Holistic on both videos, about 0.1 s a frame)"
    return {
        "real": str(real_info.path), "generated": str(gen_info.path),
        "frames_compared": comparison.frames,
        "frames": {"real": real_info.frame_count, "generated": gen_info.frame_count},
        "size": {"real": list(real_size), "generated": list(gen_size), "policy": size_policy},
        "delta": delta, "tje_variant": tje_variant,
        "metrics": metrics, "skipped": skipped, "notes": notes,
    }


def _compare_streams(real_info, gen_info, accumulators: list, max_frames: int | None,
                     cancel: CancelToken | None, on_progress: Callable[[int, int], None] | None) -> None:
    """Feed each (real, generated) frame pair to every accumulator (``add(real, generated)``), resizing
    generated frames to the real size; ``accumulators[0]`` is the FrameComparison that counts frames."""
    comparison = accumulators[0]
    expected = min(real_info.frame_count, gen_info.frame_count, max_frames or math.inf)
    real_frames = iter_frames(real_info.path, 0, max_frames, cancel=cancel)
    gen_frames = iter_frames(gen_info.path, 0, max_frames, cancel=cancel)
    try:
        for real_frame in real_frames:
            gen_frame = next(gen_frames, None)
            if gen_frame is None:
                break
            check(cancel)
            if gen_frame.shape != real_frame.shape:
                size = (real_frame.shape[1], real_frame.shape[0])
                gen_frame = cv2.resize(gen_frame, size, interpolation=cv2.INTER_AREA)
            for accumulator in accumulators:
                accumulator.add(real_frame, gen_frame)
            if on_progress is not None:
                on_progress(comparison.frames, max(int(expected), comparison.frames))
    finally:  # close both decoders now, not whenever the generators are collected
        real_frames.close()
        gen_frames.close()


def _add_pose_metrics(metrics: dict, skipped: dict, real: Path, generated: Path, cache_dir: str | Path | None,
                      max_frames: int | None, cancel: CancelToken | None, pose=("auto", None)) -> None:
    """AKD into ``metrics``, or why not into ``skipped``: a video without a person spoils only this metric."""
    from engine.metrics.akd import akd_videos  # MediaPipe only when asked for

    try:
        metrics.update(akd_videos(real, generated, cache_dir=cache_dir, cancel=cancel, max_frames=max_frames,
                                  pose_backend=pose[0], pose_model=pose[1]))
    except InputError as exc:  # e.g. no person in the generated video: the other numbers still stand
        skipped["akd"] = str(exc)


def metric_label(name: str) -> str:
    """Human name of a metric key ('tje_5' -> 'TJE(Δ=5)')."""
    if name.startswith("tje_"):
        return f"TJE(Δ={name[4:]})"
    return _LABELS.get(name, name)


def format_value(value: float | None) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.4f}"


def format_markdown(result: dict) -> str:
    """The report as Markdown: a header line, the metric table, skipped metrics and notes."""
    width, height = result["size"]["real"]
    lines = [
        f"# {Path(result['generated']).name} vs {Path(result['real']).name}", "",
        f"{result['frames_compared']} frames compared at {width}x{height}; TJE variant: {result['tje_variant']}.", "",
        "| metric | value | how |", "|---|---|---|",
    ]
    for name, entry in result["metrics"].items():
        lines.append(f"| {metric_label(name)} | {format_value(entry['value'])} | {entry.get('method', '')} |")
    if result["skipped"]:
        lines += ["", "Skipped:"] + [f"- {metric_label(n)}: {why}" for n, why in result["skipped"].items()]
    if result["notes"]:
        lines += ["", "Notes:"] + [f"- {note}" for note in result["notes"]]
    return "\n".join(lines) + "\n"


def format_csv(result: dict) -> str:
    """The report as CSV rows: metric, value, status (computed/skipped), details."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "value", "status", "details"])
    for name, entry in result["metrics"].items():
        value = entry["value"]
        writer.writerow([metric_label(name), "" if value is None else repr(float(value)), "computed", entry.get("method", "")])
    for name, why in result["skipped"].items():
        writer.writerow([metric_label(name), "", "skipped", why])
    return buffer.getvalue()


def write_report(result: dict, out_dir: str | Path, stem: str = "eval") -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.csv`` and ``<stem>.json`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir).expanduser()
    paths = {"markdown": out_dir / f"{stem}.md", "csv": out_dir / f"{stem}.csv", "json": out_dir / f"{stem}.json"}
    texts = {"markdown": format_markdown(result), "csv": format_csv(result),
             "json": json.dumps(to_json_ready(result), indent=2, ensure_ascii=False) + "\n"}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind, path in paths.items():
            path.write_text(texts[kind], encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the report to {out_dir} ({exc.strerror or type(exc).__name__}); choose a writable folder") from None
    return paths


def to_json_ready(value):
    """Replace inf/nan floats by strings (JSON has no infinity) and numpy scalars by Python ones."""
    if isinstance(value, dict):
        return {k: to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _probe(role: str, path: str | Path):
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{role} video not found: {path}; check the path")
    return probe(path)
