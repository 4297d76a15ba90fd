"""One 256-colour palette for a whole clip, and frames mapped onto it: what an animated GIF needs.

The palette is chosen from a bounded sample of the frames (evenly spread, shrunk), so building
it costs the same memory for 10 frames as for 100,000. One palette for every frame keeps colours
from flickering between frames, which per-frame palettes would cause.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SAMPLE_FRAMES = 24  # frames looked at to choose the palette
SAMPLE_SIDE = 128  # each sampled frame is shrunk to about this many pixels a side
COLOURS = 256  # what GIF allows


class ClipPalette:
    """A palette chosen from frames ``read(i)`` for i in ``range(start, end)``."""

    def __init__(self, read: Callable[[int], np.ndarray], start: int, end: int):
        from PIL import Image

        count = end - start
        taken = min(SAMPLE_FRAMES, count)
        picks = [start + (i * count) // taken for i in range(taken)]  # evenly spread, first frame included
        samples = [_shrunk(read(index)) for index in picks]
        width = max(sample.shape[1] for sample in samples)
        mosaic = np.concatenate([_padded(sample, width) for sample in samples], axis=0)
        chosen = Image.fromarray(mosaic, "RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
        rgb = np.asarray(chosen.getpalette()[: 3 * COLOURS], np.uint8).reshape(-1, 3)
        self.colours = np.zeros((COLOURS, 3), np.uint8)
        self.colours[: len(rgb)] = rgb
        self._target = Image.new("P", (1, 1))
        self._target.putpalette(self.colours.reshape(-1).tolist())

    def indexed(self, image: np.ndarray) -> np.ndarray:
        """``image`` (HxWx3 uint8 RGB) as HxW palette indices, error-diffused so gradients do not band."""
        from PIL import Image

        mapped = Image.fromarray(np.ascontiguousarray(image), "RGB").quantize(
            palette=self._target, dither=Image.Dither.FLOYDSTEINBERG
        )
        return np.asarray(mapped, np.uint8)

    def argb(self) -> np.ndarray:
        """The palette as PyAV's pal8 frames want it: (256, 4) uint8, columns A, R, G, B."""
        table = np.full((COLOURS, 4), 255, np.uint8)
        table[:, 1:] = self.colours
        return table


def _shrunk(image: np.ndarray) -> np.ndarray:
    # Plain striding: colours stay exact (no blending), and the sample stays small.
    step = max(1, max(image.shape[:2]) // SAMPLE_SIDE)
    return np.ascontiguousarray(image[::step, ::step])


def _padded(image: np.ndarray, width: int) -> np.ndarray:
    if image.shape[1] == width:
        return image
    # Repeat the edge rather than add black, which would steal a palette entry.
    return np.pad(image, ((0, 0), (0, width - image.shape[1]), (0, 0)), mode="edge")
