"""The numbers the TalkingPose paper reports, computed on the user's own videos.

Per frame pair: ``ssim``, ``psnr`` (PSNR_float and PSNR_int); over time: ``tje`` (TJE(Δ), paper
4.4, and the official script's variant); poses: ``akd``; pretrained networks: ``networks``
(LPIPS, FVD, ... against user-supplied weights) on top of ``distances``. ``report`` compares
two video files; ``sweep`` scores renders at several β. Importing this package loads no torch.
"""

from engine.metrics.psnr import PSNR_CAP_DB, psnr_float, psnr_int
from engine.metrics.ssim import ssim
from engine.metrics.tje import TjeAccumulator, TjeResult, temporal_jitter_error

__all__ = ["PSNR_CAP_DB", "psnr_float", "psnr_int", "ssim", "TjeAccumulator", "TjeResult", "temporal_jitter_error"]
