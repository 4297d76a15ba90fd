"""Samplers for one frame's denoising: DDIM (the paper's), DPM-Solver++(2M) and UniPC.

All three are diffusers schedulers built from the model's own scheduler config (v-prediction, zero
terminal SNR, trailing spacing), so they share the training noise schedule. Closed-loop control
only needs each frame's final clean latent ẑ0,k, so any sampler fits Algorithm 1 — provided the
multistep solvers' history (previous model outputs) is cleared at the start of every frame:
otherwise frame k+1 would extrapolate from frame k's predictions and a resumed job (which starts
with an empty history) would differ from an uninterrupted one.

Zero terminal SNR: the first trailing timestep (999) has alpha_cumprod 0, where the solvers' log-SNR
is infinite; diffusers clamps it to 2**-24 when ``rescale_betas_zero_snr`` is set, and
``final_sigmas_type="zero"`` makes the last step land on the model's clean estimate, as DDIM does.
"""

from __future__ import annotations

import inspect

import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler

from engine.config import SAMPLERS

_CLASSES = {"ddim": DDIMScheduler, "dpmpp-2m": DPMSolverMultistepScheduler, "unipc": UniPCMultistepScheduler}
_EXTRA = {
    "ddim": {},
    "dpmpp-2m": dict(algorithm_type="dpmsolver++", solver_order=2, final_sigmas_type="zero"),
    "unipc": dict(solver_order=2, predict_x0=True, final_sigmas_type="zero"),
}


def make_sampler(name: str, scheduler_config: dict):
    """A fresh scheduler of kind ``name`` with the model's schedule.

    Args:
        name: one of SAMPLERS.
        scheduler_config: the model's (DDIM) scheduler config; keys a sampler does not take
            (e.g. DDIM's ``clip_sample``) are dropped, the schedule keys are kept.
    Returns:
        a diffusers scheduler; call :func:`start_frame` before each frame.
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLERS)}")
    cls = _CLASSES[name]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    config = {key: value for key, value in scheduler_config.items() if key in accepted}
    config.update(_EXTRA[name])
    return cls(**config)


def start_frame(scheduler, steps: int, device: torch.device | str) -> None:
    """Set the timesteps and clear any multistep history, so every frame samples from a clean slate.

    Args:
        scheduler: a scheduler from :func:`make_sampler`.
        steps: the number of denoising steps.
        device: where the timesteps live (the pipeline's device).
    """
    scheduler.set_timesteps(steps, device=device)


def step_kwargs(scheduler) -> dict:
    """Extra arguments for ``scheduler.step``: DDIM's eta (0: deterministic); the solvers take none.

    Args:
        scheduler: a scheduler from :func:`make_sampler`.

    Returns:
        Keyword arguments for ``scheduler.step``.
    """
    return {"eta": 0.0} if isinstance(scheduler, DDIMScheduler) else {}
