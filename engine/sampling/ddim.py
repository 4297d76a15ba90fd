"""DDIM denoising of one frame with classifier-free guidance (k-diffusion style: a pure loop)."""

from __future__ import annotations

from typing import Callable, Generator

import torch
from diffusers import DDIMScheduler

from engine.cancel import CancelToken, check

# predict(latent_batch, t) -> model output for the batch
Predictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def guided(model_output: torch.Tensor, cfg: float) -> torch.Tensor:
    """CFG on a [uncond, cond] batch: uncond + cfg (cond − uncond)."""
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
    been called. With ``cfg != 1`` each step evaluates the batch [uncond, cond]; with ``cfg == 1``
    only the cond half (the same result, half the work).
    """
    latents = x * scheduler.init_noise_sigma
    use_cfg = cfg != 1.0
    for i, t in enumerate(scheduler.timesteps):
        check(cancel)
        batch = torch.cat([latents, latents]) if use_cfg else latents
        output = predict(batch, t)
        output = guided(output, cfg) if use_cfg else output
        latents = scheduler.step(output.float(), t, latents.float(), eta=0.0).prev_sample.to(x.dtype)
        yield i + 1
    return latents
