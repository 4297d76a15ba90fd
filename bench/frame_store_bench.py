"""Frame store codecs: bytes per frame and encode/decode ms per frame, lossless only.

    python -m bench.frame_store_bench                    # 12 frames of talk2.mp4 at 512x512
    python -m bench.frame_store_bench --video clip.mp4 --frames 20 --size 512

Real content matters for compression, so the frames are a real talk (the driving video, resized
to SIZE x SIZE) rather than noise or gradients. Every option is checked to decode pixel-exact;
one that does not is reported as such and would be disqualified. Ratios are against the store's
previous format (PNG, zlib level 1), measured in the same process. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np


DEFAULT_VIDEO = Path("/work/shared/data/ted/talk2.mp4")
FALLBACK_VIDEO = Path(__file__).resolve().parents[1] / "resources" / "samples" / "driving.mp4"


def load_frames(video: Path, count: int, size: int) -> list[np.ndarray]:
    """``count`` frames spread over the first minute of ``video``, resized to size x size RGB."""
    import cv2

    from engine.video.reader import iter_frames

    frames = []
    for index, frame in enumerate(iter_frames(video)):
        if index % 25 == 0:  # one a second: different poses and backgrounds, not near-duplicates
            frames.append(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA))
        if len(frames) == count:
            break
    return frames


def cv2_png(level: int):
    import cv2

    def encode(rgb):
        return cv2.imencode(".png", rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, level])[1].tobytes()

    return encode, _cv2_decode


def _cv2_decode(data: bytes) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]


def pil_webp(method: int):
    from PIL import Image

    def encode(rgb):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "WEBP", lossless=True, method=method, quality=100 if method else 0, exact=True)
        return buffer.getvalue()

    def decode(data):
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))

    return encode, decode


def engine_store():
    """What FrameStore writes today (engine/video/frame_store.py)."""
    from engine.video.frame_store import FrameStore, decode_frame

    return FrameStore.encode_frame, decode_frame


def ffv1_chunk(frames: list[np.ndarray]) -> tuple[float, float, float, bool]:
    """FFV1 in one MKV chunk (intra-only, lossless): bytes/frame, encode and decode ms/frame."""
    import av

    buffer = io.BytesIO()
    started = time.perf_counter()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "bgr0"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    encode_s = time.perf_counter() - started
    data = buffer.getvalue()
    started = time.perf_counter()
    with av.open(io.BytesIO(data)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    decode_s = time.perf_counter() - started
    exact = len(decoded) == len(frames) and all(np.array_equal(a, b) for a, b in zip(decoded, frames))
    n = len(frames)
    return len(data) / n, 1000 * encode_s / n, 1000 * decode_s / n, exact


def measure(frames, encode, decode, repeats: int) -> tuple[float, float, float, bool]:
    sizes, exact = [], True
    started = time.perf_counter()
    for _ in range(repeats):
        blobs = [encode(f) for f in frames]
    encode_s = (time.perf_counter() - started) / repeats
    started = time.perf_counter()
    decoded = [decode(b) for b in blobs]
    decode_s = time.perf_counter() - started
    sizes = [len(b) for b in blobs]
    exact = all(np.array_equal(a, b) for a, b in zip(decoded, frames))
    n = len(frames)
    return sum(sizes) / n, 1000 * encode_s / n, 1000 * decode_s / n, exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO if DEFAULT_VIDEO.is_file() else FALLBACK_VIDEO)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    frames = load_frames(args.video, args.frames, args.size)
    options = [(f"PNG zlib {level} (cv2)", cv2_png(level)) for level in (1, 3, 6, 9)]
    options += [(f"WebP lossless method {m} (PIL)", pil_webp(m)) for m in (0, 1, 2, 4, 6)]
    options.append(("FrameStore today", engine_store()))
    rows = [(name, *measure(frames, *codec, args.repeats)) for name, codec in options]
    rows.append((f"FFV1 in one MKV chunk of {len(frames)} (PyAV)", *ffv1_chunk(frames)))
    baseline = rows[0][1]
    print(f"{len(frames)} frames of {args.video.name} at {args.size}x{args.size}\n")
    print("| format | KB/frame | x fewer bytes than PNG 1 | encode ms/frame | decode ms/frame | pixel-exact |")
    print("|---|---:|---:|---:|---:|---|")
    for name, size, enc_ms, dec_ms, exact in rows:
        print(f"| {name} | {size / 1000:.0f} | {baseline / size:.2f} | {enc_ms:.1f} | {dec_ms:.1f} | {'yes' if exact else 'NO'} |")


if __name__ == "__main__":
    main()
