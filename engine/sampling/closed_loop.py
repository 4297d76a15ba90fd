"""Closed-loop control (CLC), TalkingPose Algorithm 1 and eq. 1.

Names follow the paper: ``z_T`` is the one Gaussian noise sampled per job, ``x_k`` the UNet input
for frame k, ``z0_hat`` (ẑ0,k) the clean latent frame k's DDIM steps end at, ``beta`` (β) the gain.

    x_1     = z_T
    x_{k+1} = z_T + β (ẑ0,k − z_T)        (eq. 1)

β = 0 starts every frame from z_T (no feedback); the paper uses β = 0.05.
"""

from __future__ import annotations

import torch


def sample_z_T(shape: tuple[int, ...], seed: int, frame: int | None = None) -> torch.Tensor:
    """The job's noise z_T (CPU float32, seeded, identical on every device).

    ``frame`` gives the paper's ablation instead: an independent z_T per frame, still reproducible.

    Args:
        shape: the latent shape, (1, C, h, w) for one frame (h, w = height / 8, width / 8).
        seed: the job's seed.
        frame: None for the job's single z_T; a frame index for an independent z_T per frame.

    Returns:
        Standard normal noise of ``shape``, float32 on the CPU.
    """
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed if frame is None else (seed * 1_000_003 + frame + 1) % (2**63))
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def clc_update(z_T: torch.Tensor, z0_hat: torch.Tensor, beta: float) -> torch.Tensor:
    """Eq. 1: the input of frame k+1 from z_T and frame k's clean latent ẑ0,k.

    Args:
        z_T: (1, C, h, w) the job's noise.
        z0_hat: (1, C, h, w) frame k's denoised latent, same device and dtype as ``z_T``.
        beta: the feedback gain β in [0, 1] (0: every frame starts from z_T alone).

    Returns:
        (1, C, h, w) z_T + β (ẑ0,k − z_T).
    """
    return z_T + beta * (z0_hat - z_T)


def frame_input(z_T: torch.Tensor, previous_z0_hat: torch.Tensor | None, beta: float) -> torch.Tensor:
    """x_k: z_T for the first frame, eq. 1 afterwards.

    Args:
        z_T: (1, C, h, w) the job's noise.
        previous_z0_hat: (1, C, h, w) the previous frame's ẑ0, or None for the first frame.
        beta: the feedback gain β.

    Returns:
        (1, C, h, w) the frame's starting latent (a copy of ``z_T`` for the first frame).
    """
    if previous_z0_hat is None:
        return z_T.clone()
    return clc_update(z_T, previous_z0_hat, beta)
