"""The TalkingPose animation pipeline: appearance once per job, then frames with closed-loop control.

``AnimationPipeline.render`` is a generator of engine events (Progress per denoising step, FrameReady
per frame as soon as it is decoded, Done at the end). Nothing accumulates across frames, so memory
stays flat for any video length; a CancelToken stops it within one denoising step.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from PIL import Image

from engine.cancel import CancelToken, check
from engine.config import RenderSettings
from engine.device import resolve_device, resolve_dtype
from engine.errors import Cancelled, InputError
from engine.events import ClcState, Done, Event, FrameReady, Progress
from engine.models import encode
from engine.models.components import Components, pose_slot
from engine.models.reference_attention import install_reference_attention
from engine.sampling.closed_loop import frame_input, sample_z_T
from engine.sampling.ddim import denoise_steps
from engine.sampling.samplers import make_sampler, start_frame


@dataclass
class Appearance:
    """What the source image contributes, computed once per job."""

    clip_embeds: torch.Tensor  # (1, 1, D): CLIP image_embeds as one cross-attention token
    reference_states: dict[str, torch.Tensor]  # ReferenceNet norm1(h) per transformer block


def image_to_tensor(image: np.ndarray, width: int, height: int) -> torch.Tensor:
    """An RGB picture as the encoders' input tensor, bicubic-resized when needed.

    Args:
        image: (H, W, 3) uint8 RGB.
        width, height: the tensor's size in pixels.

    Returns:
        (1, 3, height, width) float32 in [0, 1], on the CPU.

    Raises:
        InputError: ``image`` is not (H, W, 3) uint8.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if image.shape[:2] != (height, width):
        image = np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def latents_to_image(decoded: torch.Tensor) -> np.ndarray:
    """A decoded frame as a picture.

    Args:
        decoded: the VAE decoder's output, (1, 3, H, W) in [-1, 1] (clamped), any device and dtype.

    Returns:
        (H, W, 3) uint8 RGB on the CPU.
    """
    pixels = ((decoded[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(1, 2, 0).cpu().numpy()


class AnimationPipeline:
    """Components on one device/dtype, with reference attention installed.

    ``compile`` wraps the denoising UNet in torch.compile; ``channels_last`` stores the UNet and VAE
    convolution weights in channels_last format. Both change speed only (frames equal within float
    tolerance; tests/engine/test_sampling_samplers.py states it)."""

    def __init__(
        self,
        components: Components,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | str = torch.float32,
        compile: bool = False,
        channels_last: bool = False,
    ):
        """Move ``components`` to ``device``/``dtype`` in eval mode and install reference attention.

        Args:
            components: the model's parts (moved in place, not copied).
            device: a torch device or its name ("cpu", "cuda:0").
            dtype: a torch dtype, or a name resolved for the device ("auto", "fp16", "fp32", ...).
            compile: wrap the denoising UNet in ``torch.compile`` (first frame slower, later ones faster).
            channels_last: store the UNet and VAE weights in channels_last memory format.
        """
        self.device = torch.device(device) if not isinstance(device, torch.device) else device
        self.dtype = resolve_dtype(dtype, self.device) if isinstance(dtype, str) else dtype
        self.components = components.to(self.device, self.dtype).eval()
        self.bank = install_reference_attention(components.reference_unet, components.denoising_unet)
        self.vae_scaling = encode.vae_scaling(components.vae)
        self.pose = pose_slot(components.denoising_unet)
        if channels_last:
            for module in (components.denoising_unet, components.vae):
                module.to(memory_format=torch.channels_last)
        unet = components.denoising_unet
        self.denoiser = torch.compile(unet, dynamic=False) if compile else unet

    @classmethod
    def for_settings(cls, components: Components, settings: RenderSettings) -> "AnimationPipeline":
        """A pipeline on the device, dtype and speed options ``settings`` name ("auto" resolved here).

        Args:
            components: the model's parts.
            settings: a job's settings; only ``device``, ``dtype``, ``compile`` and ``channels_last`` are read.

        Returns:
            The pipeline.
        """
        device = resolve_device(settings.device)
        return cls(components, device, resolve_dtype(settings.dtype, device), settings.compile, settings.channels_last)

    # -- appearance (once per job) -------------------------------------------------------------
    @torch.no_grad()
    def encode_appearance(self, source: np.ndarray, width: int, height: int) -> Appearance:
        """Encode the source once per job: its CLIP token and the ReferenceNet's attention states.

        Args:
            source: (H, W, 3) uint8 RGB source image (resized as needed).
            width, height: the output size in pixels (multiples of the VAE's scale factor, 8).

        Returns:
            An :class:`Appearance`: ``clip_embeds`` (1, 1, D) and ``reference_states``, the
            ReferenceNet's norm1 hidden states (1, tokens, channels) per transformer block.
        """
        c = self.components
        # 1. CLIP image embedding of the source, one token
        clip_size = int(c.image_encoder.config.image_size)
        clip_in = image_to_tensor(source, clip_size, clip_size)
        clip_embeds = encode.clip_embeds(c.image_encoder, clip_in, self.device, self.dtype)
        # 2. VAE latents of the source at output size
        vae_in = image_to_tensor(source, width, height)
        source_latents = encode.vae_latents(c.vae, vae_in, self.vae_scaling, self.device, self.dtype)
        # 3. ReferenceNet once at timestep 0: its transformer blocks write norm1(h) into the bank
        self.bank.clear()
        c.reference_unet(source_latents, torch.zeros((), device=self.device), encoder_hidden_states=clip_embeds)
        return Appearance(clip_embeds, self.bank.snapshot())

    # -- one frame -----------------------------------------------------------------------------
    @torch.no_grad()
    def pose_features(self, pose_image: np.ndarray, width: int, height: int) -> torch.Tensor:
        """The Pose Guider's features of one pose image, added to the denoising UNet's first block.

        Args:
            pose_image: (H, W, 3) uint8 RGB pose drawing (resized as needed).
            width, height: the output size in pixels.

        Returns:
            (1, C, height / 8, width / 8) features on the pipeline's device and dtype (C: the UNet's
            first block width).
        """
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
    ):
        """Sample from x_k to ẑ0,k. CFG batch is [uncond, cond]: uncond has a zero CLIP token and plain
        self-attention (no reference); both halves get the pose features. ``scheduler`` must have had
        ``start_frame`` for this frame. A generator: yields step numbers, returns ẑ0,k
        (``z0 = yield from pipeline.denoise_frame(...)``).

        Args:
            x_k: (1, 4, h, w) the frame's starting latent (eq. 1's input), h, w = height / 8, width / 8.
            pose_features: (1, C, h, w) from :meth:`pose_features`.
            appearance: from :meth:`encode_appearance`.
            scheduler: a sampler from ``engine.sampling.samplers.make_sampler``, started for this frame.
            cfg: the classifier-free guidance scale (1 or less: one conditional pass per step).
            cancel: checked before every step.

        Yields:
            Step numbers 1..steps as each completes.

        Returns:
            ẑ0,k, (1, 4, h, w) on the pipeline's device and dtype.
        """
        self.bank.restore(appearance.reference_states)
        self.bank.reference_index = None
        cond_tokens = appearance.clip_embeds
        two_halves = torch.cat([torch.zeros_like(cond_tokens), cond_tokens])

        def predict(batch: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            cfg_batch = batch.shape[0] == 2
            # contiguous rows: [uncond | cond] -> the first row attends plainly
            self.bank.plain_rows = 1 if cfg_batch else 0
            tokens = two_halves if cfg_batch else cond_tokens
            self.pose.features = pose_features.expand(batch.shape[0], -1, -1, -1)
            try:
                with torch.no_grad():
                    return self.denoiser(batch, t, encoder_hidden_states=tokens).sample
            finally:
                self.pose.features = None

        return (yield from denoise_steps(predict, x_k.to(self.device, self.dtype), scheduler, cfg, cancel))

    @torch.no_grad()
    def decode(self, z0_hat: torch.Tensor) -> np.ndarray:
        """Decode a denoised latent into a frame.

        Args:
            z0_hat: (1, 4, h, w) scaled latents (as :meth:`denoise_frame` returns them).

        Returns:
            (8h, 8w, 3) uint8 RGB.
        """
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
        overlap_decode: bool | None = None,
    ) -> Iterator[Event]:
        """Yield Progress/FrameReady events for each pose image, then Done.

        ``resume`` (the state saved with frame k) continues at frame k+1 exactly as an uninterrupted
        run would. ``overlap_decode`` (default: on CUDA only) decodes frame k on a worker while frame
        k+1 denoises (its input needs only ẑ0,k), so FrameReady(k) may follow Progress events of
        frame k+1; FrameReady events stay in frame order and all come before Done, even on cancel.

        Args:
            source: (H, W, 3) uint8 RGB source image.
            pose_images: (H', W', 3) uint8 RGB pose drawings, one per frame, consumed lazily.
            settings: size, steps, CFG, seed, β, sampler and the independent-noise ablation.
            cancel: checked before every frame and step; raises Cancelled after draining decodes.
            resume: the :class:`ClcState` saved with the last finished frame, to continue after it.
            first_index: the frame index of the first pose image when not resuming.
            overlap_decode: decode on a worker thread while the next frame denoises.

        Yields:
            Progress per step, FrameReady per frame (``image`` (height, width, 3) uint8, ``state``
            the ClcState to resume from), then Done. Raises InputError when ``resume`` was saved
            with another seed or size, Cancelled when ``cancel`` was set.
        """
        width, height = settings.width, settings.height
        started = time.perf_counter()
        check(cancel)
        appearance = self.encode_appearance(source, width, height)
        factor = self.components.vae_scale_factor
        shape = (1, self.components.latent_channels, height // factor, width // factor)
        z_T = sample_z_T(shape, settings.seed)  # Alg. 1: the job's noise, sampled once
        previous_z0_hat = None
        index = first_index
        if resume is not None:
            if not torch.equal(resume.z_T, z_T) and not settings.independent_noise:
                raise InputError("the saved render state does not match these settings (seed or size changed); start a new render")
            previous_z0_hat = resume.z0_hat
            index = resume.k + 1
        scheduler = make_sampler(settings.sampler, self.components.scheduler_config)
        overlap = self.device.type == "cuda" if overlap_decode is None else overlap_decode
        decoder = DecodeAhead(self.decode, self.device) if overlap else None
        frames = 0
        try:
            for pose_image in pose_images:
                check(cancel)
                frame_started = time.perf_counter()
                if settings.independent_noise:
                    z_T = sample_z_T(shape, settings.seed, frame=index)
                    x_k = z_T.clone()
                else:
                    x_k = frame_input(z_T, previous_z0_hat, settings.beta)  # eq. 1
                features = self.pose_features(pose_image, width, height)
                start_frame(scheduler, settings.steps, self.device)  # also clears multistep history
                steps = self.denoise_frame(x_k, features, appearance, scheduler, settings.cfg, cancel)
                z0_hat = yield from _as_progress(steps, index, settings.steps, decoder)
                previous_z0_hat = z0_hat.float().cpu()
                state = ClcState(index, z_T, previous_z0_hat)
                if decoder is None:
                    yield FrameReady(index, self.decode(z0_hat), state, time.perf_counter() - frame_started)
                else:
                    yield from decoder.submit(z0_hat, _frame_event(index, state, frame_started))
                index += 1
                frames += 1
            if decoder is not None:
                yield from decoder.drain()
        except Cancelled:
            if decoder is not None:
                yield from decoder.drain()  # frames already denoised are never lost
            raise
        finally:
            if decoder is not None:
                decoder.close()
        yield Done(frames, time.perf_counter() - started)


def _frame_event(index: int, state: ClcState, frame_started: float) -> Callable[[np.ndarray], FrameReady]:
    return lambda image: FrameReady(index, image, state, time.perf_counter() - frame_started)


class DecodeAhead:
    """Decodes frames on one worker thread (on CUDA, on its own stream) while the next frame denoises.

    ``submit`` queues a decode and yields the frames that are already done; at most two decodes
    wait, so memory stays flat. Events come out in submission order."""

    def __init__(self, decode: Callable[[torch.Tensor], np.ndarray], device: torch.device):
        """``decode`` turns (1, 4, h, w) latents into an (H, W, 3) uint8 frame; ``device`` is where they live."""
        self._decode = decode
        self._device = device
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vae-decode")
        self._pending: deque[tuple[Future, Callable[[np.ndarray], FrameReady]]] = deque()
        self._stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    def _run(self, z0_hat: torch.Tensor) -> np.ndarray:
        if self._stream is None:
            return self._decode(z0_hat)
        with torch.cuda.stream(self._stream):
            return self._decode(z0_hat)  # latents_to_image's .cpu() waits for this stream only

    def submit(self, z0_hat: torch.Tensor, make_event: Callable[[np.ndarray], FrameReady]) -> Iterator[FrameReady]:
        """Queue the decode of ``z0_hat`` (1, 4, h, w); yield ``make_event(frame)`` for each finished decode."""
        if self._stream is not None:
            # the decode stream must see ẑ0 as the denoising stream finished it
            self._stream.wait_stream(torch.cuda.current_stream(self._device))
        while len(self._pending) >= 2:
            future, made = self._pending.popleft()
            yield made(future.result())
        self._pending.append((self._pool.submit(self._run, z0_hat), make_event))
        yield from self.ready()

    def ready(self) -> Iterator[FrameReady]:
        """The events of the decodes already finished, oldest first, without waiting."""
        while self._pending and self._pending[0][0].done():
            future, make_event = self._pending.popleft()
            yield make_event(future.result())

    def drain(self) -> Iterator[FrameReady]:
        """Wait for every queued decode and yield its event, oldest first."""
        while self._pending:
            future, make_event = self._pending.popleft()
            yield make_event(future.result())

    def close(self) -> None:
        """Stop the worker thread (after its current decode)."""
        self._pool.shutdown(wait=True)


def _as_progress(steps, frame: int, total: int, decoder: DecodeAhead | None = None):
    """Turn a denoising generator's step numbers into Progress events (and any finished decodes); return its ẑ0."""
    while True:
        try:
            step = next(steps)
        except StopIteration as finished:
            return finished.value
        yield Progress(frame, step, total)
        if decoder is not None:
            yield from decoder.ready()
