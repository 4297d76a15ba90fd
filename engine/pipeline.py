"""The TalkingPose animation pipeline: appearance once per job, then frames with closed-loop control.

``AnimationPipeline.render`` is a generator of engine events (Progress per denoising step, FrameReady
per frame as soon as it is decoded, Done at the end). Nothing accumulates across frames, so memory
stays flat for any video length; a CancelToken stops it within one denoising step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch
from PIL import Image

from engine.cancel import CancelToken, check
from engine.config import RenderSettings
from engine.device import resolve_device, resolve_dtype
from engine.errors import InputError
from engine.events import ClcState, Done, Event, FrameReady, Progress
from engine.models.components import CLIP_MEAN, CLIP_STD, Components, pose_features_added
from engine.models.reference_attention import install_reference_attention
from engine.sampling.closed_loop import frame_input, sample_z_T
from engine.sampling.ddim import denoise_steps


@dataclass
class Appearance:
    """What the source image contributes, computed once per job."""

    clip_embeds: torch.Tensor  # (1, 1, D): CLIP image_embeds as one cross-attention token
    reference_states: dict[str, torch.Tensor]  # ReferenceNet norm1(h) per transformer block


def image_to_tensor(image: np.ndarray, width: int, height: int) -> torch.Tensor:
    """HxWx3 uint8 -> (1, 3, height, width) float in [0, 1], bicubic-resized when needed."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if image.shape[:2] != (height, width):
        image = np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def latents_to_image(decoded: torch.Tensor) -> np.ndarray:
    """VAE output (1, 3, H, W) in [-1, 1] -> HxWx3 uint8."""
    pixels = ((decoded[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(1, 2, 0).cpu().numpy()


class AnimationPipeline:
    """Components on one device/dtype, with reference attention installed."""

    def __init__(self, components: Components, device: str | torch.device = "cpu", dtype: torch.dtype | str = torch.float32):
        self.device = torch.device(device) if not isinstance(device, torch.device) else device
        self.dtype = resolve_dtype(dtype, self.device) if isinstance(dtype, str) else dtype
        self.components = components.to(self.device, self.dtype).eval()
        self.bank = install_reference_attention(components.reference_unet, components.denoising_unet)
        self.vae_scaling = float(getattr(components.vae.config, "scaling_factor", 0.18215))

    @classmethod
    def for_settings(cls, components: Components, settings: RenderSettings) -> "AnimationPipeline":
        device = resolve_device(settings.device)
        return cls(components, device, resolve_dtype(settings.dtype, device))

    # -- appearance (once per job) -------------------------------------------------------------
    @torch.no_grad()
    def encode_appearance(self, source: np.ndarray, width: int, height: int) -> Appearance:
        c = self.components
        # 1. CLIP image embedding of the source, one token
        clip_size = int(c.image_encoder.config.image_size)
        clip_in = image_to_tensor(source, clip_size, clip_size)
        mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        clip_in = ((clip_in - mean) / std).to(self.device, self.dtype)
        clip_embeds = c.image_encoder(pixel_values=clip_in).image_embeds.unsqueeze(1)
        # 2. VAE latents of the source at output size
        vae_in = (image_to_tensor(source, width, height) * 2 - 1).to(self.device, self.dtype)
        source_latents = c.vae.encode(vae_in).latent_dist.mean * self.vae_scaling
        # 3. ReferenceNet once at timestep 0: its transformer blocks write norm1(h) into the bank
        self.bank.clear()
        c.reference_unet(source_latents, torch.zeros((), device=self.device), encoder_hidden_states=clip_embeds)
        return Appearance(clip_embeds, self.bank.snapshot())

    # -- one frame -----------------------------------------------------------------------------
    @torch.no_grad()
    def pose_features(self, pose_image: np.ndarray, width: int, height: int) -> torch.Tensor:
        pose = image_to_tensor(pose_image, width, height).to(self.device, self.dtype)
        return self.components.pose_guider(pose)

    def denoise_frame(
        self,
        x_k: torch.Tensor,
        pose_features: torch.Tensor,
        appearance: Appearance,
        scheduler,
        cfg: float,
        cancel: CancelToken | None = None,
        reference_in_both_halves: bool = False,
    ):
        """DDIM from x_k to ẑ0,k. CFG batch is [uncond, cond]: uncond has a zero CLIP token and plain
        self-attention (no reference); both halves get the pose features. A generator: yields step
        numbers, returns ẑ0,k (``z0 = yield from pipeline.denoise_frame(...)``)."""
        unet = self.components.denoising_unet
        self.bank.restore(appearance.reference_states)
        cond_tokens = appearance.clip_embeds
        two_halves = torch.cat([torch.zeros_like(cond_tokens), cond_tokens])
        cond_only_index = torch.zeros(1, dtype=torch.long)
        cfg_index = torch.tensor([0, 0] if reference_in_both_halves else [-1, 0])

        def predict(batch: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            cfg_batch = batch.shape[0] == 2
            self.bank.reference_index = cfg_index if cfg_batch else cond_only_index
            tokens = two_halves if cfg_batch else cond_tokens
            with torch.no_grad(), pose_features_added(unet, pose_features.expand(batch.shape[0], -1, -1, -1)):
                return unet(batch, t, encoder_hidden_states=tokens).sample

        return (yield from denoise_steps(predict, x_k.to(self.device, self.dtype), scheduler, cfg, cancel))

    @torch.no_grad()
    def decode(self, z0_hat: torch.Tensor) -> np.ndarray:
        return latents_to_image(self.components.vae.decode(z0_hat / self.vae_scaling).sample)

    # -- a whole video -------------------------------------------------------------------------
    def render(
        self,
        source: np.ndarray,
        pose_images: Iterable[np.ndarray],
        settings: RenderSettings,
        cancel: CancelToken | None = None,
        resume: ClcState | None = None,
        first_index: int = 0,
        baseline: bool = False,
    ) -> Iterator[Event]:
        """Yield Progress/FrameReady events for each pose image, then Done.

        ``resume`` (the state saved with frame k) continues at frame k+1 exactly as an uninterrupted
        run would. ``baseline`` mimics the official code for benchmarks: appearance re-encoded every
        frame and the reference used in both CFG halves.
        """
        width, height = settings.width, settings.height
        started = time.perf_counter()
        # 1. appearance, once
        check(cancel)
        appearance = self.encode_appearance(source, width, height)
        # 2. the job's noise z_T (Alg. 1: sampled once)
        factor = self.components.vae_scale_factor
        shape = (1, self.components.latent_channels, height // factor, width // factor)
        z_T = sample_z_T(shape, settings.seed)
        previous_z0_hat = None
        index = first_index
        if resume is not None:
            if not torch.equal(resume.z_T, z_T) and not settings.independent_noise:
                raise InputError("the saved render state does not match these settings (seed or size changed); start a new render")
            previous_z0_hat = resume.z0_hat
            index = resume.k + 1
        scheduler = self.components.make_scheduler()
        scheduler.set_timesteps(settings.steps, device=self.device)
        frames = 0
        # 3. frame by frame with closed-loop control
        for pose_image in pose_images:
            check(cancel)
            frame_started = time.perf_counter()
            if baseline:
                appearance = self.encode_appearance(source, width, height)
            if settings.independent_noise:
                z_T = sample_z_T(shape, settings.seed, frame=index)
                x_k = z_T.clone()
            else:
                x_k = frame_input(z_T, previous_z0_hat, settings.beta)
            features = self.pose_features(pose_image, width, height)
            steps = self.denoise_frame(x_k, features, appearance, scheduler, settings.cfg, cancel, baseline)
            z0_hat = yield from _as_progress(steps, index, settings.steps)
            previous_z0_hat = z0_hat.float().cpu()
            image = self.decode(z0_hat)
            yield FrameReady(index, image, ClcState(index, z_T, previous_z0_hat), time.perf_counter() - frame_started)
            index += 1
            frames += 1
        yield Done(frames, time.perf_counter() - started)


def _as_progress(steps, frame: int, total: int):
    """Turn a denoising generator's step numbers into Progress events; return its ẑ0."""
    while True:
        try:
            step = next(steps)
        except StopIteration as finished:
            return finished.value
        yield Progress(frame, step, total)
