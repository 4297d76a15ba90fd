"""One pass over two frame streams that updates every per-frame metric at once.

``report.py`` (two video files) and ``sweep.py`` (renders at several β) both feed frame pairs
into a ``FrameComparison``; it holds only running sums and the TJE window, so memory does
not grow with video length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.errors import InputError
from engine.metrics.psnr import PSNR_CAP_DB, psnr_float, psnr_int
from engine.metrics.ssim import SSIM_CHANNELS, SSIM_WINDOWS, ssim, ssim_label
from engine.metrics.tje import TjeAccumulator, check_delta, check_variant


class FrameComparison:
    """Accumulates SSIM, PSNR_float, PSNR_int and TJE(Δ) for each Δ over frame pairs."""

    def __init__(
        self,
        deltas: Sequence[int] = (5,),
        tje_variant: str = "paper",
        *,
        ssim_window: str = "gaussian",
        ssim_channels: str = "gray",
        psnr_cap_db: float | None = PSNR_CAP_DB,
    ) -> None:
        self.deltas = tuple(check_delta(d) for d in deltas)
        self.tje_variant = check_variant(tje_variant)
        if ssim_window not in SSIM_WINDOWS or ssim_channels not in SSIM_CHANNELS:
            raise InputError(f"unknown SSIM setting '{ssim_window}'/'{ssim_channels}'; use windows "
                             f"{', '.join(SSIM_WINDOWS)} and channels {', '.join(SSIM_CHANNELS)}")
        self.ssim_window, self.ssim_channels = ssim_window, ssim_channels
        self.psnr_cap_db = psnr_cap_db
        self._tje = [TjeAccumulator(d, tje_variant) for d in self.deltas]
        self._sums = {"ssim": 0.0, "psnr_float": 0.0, "psnr_int": 0.0}
        self.frames = 0

    def add(self, real: np.ndarray, generated: np.ndarray) -> None:
        """Compare frame t of both videos (HxWx3 uint8 RGB, one size)."""
        self._sums["ssim"] += ssim(real, generated, window=self.ssim_window, channels=self.ssim_channels)
        self._sums["psnr_float"] += psnr_float(real, generated, self.psnr_cap_db)
        self._sums["psnr_int"] += psnr_int(real, generated, self.psnr_cap_db)
        for accumulator in self._tje:
            accumulator.add(real, generated)
        self.frames += 1

    def metrics(self) -> dict[str, dict]:
        """Metric name -> {"value": float | None, plus what was computed and how}."""
        mean = {k: (v / self.frames if self.frames else None) for k, v in self._sums.items()}
        cap = "none (identical frames give inf)" if self.psnr_cap_db is None else f"{self.psnr_cap_db:g} dB"
        out: dict[str, dict] = {
            "ssim": {"value": mean["ssim"], "frames": self.frames,
                     "method": f"mean over frames; {ssim_label(self.ssim_window, self.ssim_channels)}"},
            "psnr_float": {"value": mean["psnr_float"], "frames": self.frames, "cap_db": self.psnr_cap_db,
                           "method": f"float64 MSE, mean over frames, cap {cap}"},
            "psnr_int": {"value": mean["psnr_int"], "frames": self.frames, "cap_db": self.psnr_cap_db,
                         "method": f"uint8 arithmetic (wraps, as the Disco toolkit), mean over frames, cap {cap}"},
        }
        for accumulator in self._tje:
            result = accumulator.result()
            how = "signed frame differences (paper 4.4)" if result.variant == "paper" else (
                "absolute frame differences first (official tje_error.py)")
            out[f"tje_{result.delta}"] = {
                "value": result.value, "delta": result.delta, "variant": result.variant, "pairs": result.pairs,
                "method": f"TJE(Δ={result.delta}), variant {result.variant}: {how}, mean over {result.pairs} frame pairs",
            }
        return out
