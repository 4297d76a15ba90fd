"""Synthetic media shared by tests in different folders: lossless tiny videos and colour-block frames."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

BLOCK_COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 220)]


def write_lossless_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Write HxWx3 uint8 RGB frames losslessly (FFV1 in MKV), so decoded pixels equal the written ones."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def colour_blocks(index: int, width: int = 64, height: int = 48, brightness_step: float = 0.05) -> np.ndarray:
    """Four flat colour blocks (2x2) whose brightness grows with ``index``: easy for lossy codecs
    (chroma subsampling included) to keep, yet every frame tells itself apart from its neighbours."""
    image = np.zeros((height, width, 3), np.uint8)
    block_height, block_width = height // 2, width // 2
    for block, colour in enumerate(BLOCK_COLOURS):
        y, x = divmod(block, 2)
        image[y * block_height:(y + 1) * block_height, x * block_width:(x + 1) * block_width] = (
            np.array(colour) * (0.4 + brightness_step * index)
        )
    return image
