"""Denoising of one frame with classifier-free guidance (k-diffusion style: a pure loop); any sampler of
``engine.sampling.samplers`` (the name stays from when DDIM was the only one)."""

from __future__ import annotations

from typing import Callable, Generator

import torch
from diffusers import DDIMScheduler

from engine.cancel import CancelToken, check
from engine.sampling.samplers import step_kwargs

# predict(latent_batch, t) -> model output for the batch
Predictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def uses_cfg(cfg: float) -> bool:
    """Whether guidance needs the uncond pass: only above 1, as the official pipeline decides
    (``guidance_scale > 1.0``); at or below 1 the cond half runs alone.

    Args:
        cfg: the guidance scale.

    Returns:
        True when each step evaluates the batch [uncond, cond].
    """
    return cfg > 1.0


def guided(model_output: torch.Tensor, cfg: float) -> torch.Tensor:
    """CFG on a [uncond, cond] batch: uncond + cfg (cond − uncond).

    Args:
        model_output: (2B, C, h, w), the uncond rows first.
        cfg: the guidance scale.

    Returns:
        (B, C, h, w) the guided prediction.
    """
    uncond, cond = model_output.chunk(2)
    return uncond + cfg * (cond - uncond)


def denoise_steps(
    predict: Predictor,
    x: torch.Tensor,
    scheduler: DDIMScheduler,
    cfg: float,
    cancel: CancelToken | None = None,
) -> Generator[int, None, torch.Tensor]:
    """Run the scheduler's timesteps from x (at t = T) down to the clean latent ẑ0.

    A generator: yields the step number (1..steps) after each step and returns ẑ0, so callers can
    stream progress (``z0 = yield from denoise_steps(...)``). ``scheduler.set_timesteps`` must have
    been called (for multistep samplers: once per frame, which also clears their history). With
    ``cfg > 1`` each step evaluates the batch [uncond, cond]; otherwise only the cond half runs.

    Args:
        predict: ``predict(batch, t)`` -> the model's output for a (B, C, h, w) latent batch at timestep t.
        x: (1, C, h, w) the starting latent (scaled by ``scheduler.init_noise_sigma`` here).
        scheduler: a diffusers scheduler with its timesteps set.
        cfg: the guidance scale.
        cancel: checked before every step.

    Yields:
        The number of steps done, 1..steps.

    Returns:
        (1, C, h, w) ẑ0 in ``x``'s dtype.
    """
    latents = x * scheduler.init_noise_sigma
    use_cfg = uses_cfg(cfg)
    extra = step_kwargs(scheduler)
    for i, t in enumerate(scheduler.timesteps):
        check(cancel)
        batch = torch.cat([latents, latents]) if use_cfg else latents
        output = predict(batch, t)
        output = guided(output, cfg) if use_cfg else output
        latents = scheduler.step(output.float(), t, latents.float(), **extra).prev_sample.to(x.dtype)
        yield i + 1
    return latents
