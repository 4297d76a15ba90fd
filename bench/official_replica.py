"""A replica of the official per-frame cost (Moore-AnimateAnyone / dfki-av TalkingPose), for benchmarks.

What the official ``Pose2VideoPipeline.__call__`` does for every frame (TalkingPose calls it once per
frame, video_length 1; ``do_classifier_free_guidance = guidance_scale > 1.0``):

1. CLIP image embedding of the source (224x224), one token; CFG tokens = [zeros, clip];
2. VAE-encode the source at output size;
3. at the first denoising step, the ReferenceNet runs on the source latents repeated to batch 2
   (rows: zero-CLIP, real CLIP) at timestep 0, and its ``norm1(h)`` per transformer block is
   copied into the denoising UNet's blocks (``ReferenceAttentionControl.update``);
4. every step, every self-attention of the denoising UNet attends ALL rows with keys/values
   ``concat([norm1(h), bank_row], tokens)`` (bank row b for batch row b), then recomputes plain
   self-attention for the unconditional rows (``uc_mask``: the first half) and writes it over
   them (boolean-mask gather and scatter);
5. DDIM step, then the VAE decode of the frame.

Step 4 gives the unconditional rows plain self-attention, so the frames are those of a pipeline with
a plain uncond half and a reference-guided cond half — ours — only paid for at a higher price. The
replica therefore gives ours' frames (equal up to float rounding: the ReferenceNet runs at batch 2)
and the bench checks it. Not replicated: ``update`` casts the bank to fp16 (a no-op in the official
fp16 runs; here the bank keeps the pipeline's dtype so the comparison is like for like).
"""

from __future__ import annotations

import torch
from diffusers.models.attention_processor import Attention

from engine.models.reference_attention import ReferenceBank, attend, self_attention_paths
from engine.pipeline import Appearance, AnimationPipeline, image_to_tensor
from engine.models.components import CLIP_MEAN, CLIP_STD


class OfficialReadProcessor:
    """Step 4 above: reference keys for every row, then plain attention recomputed for the uncond half."""

    def __init__(self, bank: ReferenceBank, path: str):
        self.bank, self.path = bank, path

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        bank = self.bank.states[self.path].to(hidden_states.dtype)
        if bank.shape[0] != hidden_states.shape[0]:
            bank = bank[-1:].expand(hidden_states.shape[0], -1, -1)
        out = attend(attn, hidden_states, torch.cat([hidden_states, bank], dim=1))
        if hidden_states.shape[0] < 2:
            return out  # no CFG: nothing to recompute
        half = hidden_states.shape[0] // 2
        if hidden_states.is_meta:  # FLOP counting: boolean masks need data; slices cost the same FLOPs
            plain = attend(attn, hidden_states[:half], hidden_states[:half])
            return torch.cat([plain, out[half:]])
        uc_mask = torch.tensor([True] * half + [False] * (hidden_states.shape[0] - half), device=hidden_states.device)
        out = out.clone()
        out[uc_mask] = attend(attn, hidden_states[uc_mask], hidden_states[uc_mask])
        return out


class OfficialReplica:
    """Switches an AnimationPipeline between our processors and the official replica's."""

    def __init__(self, pipeline: AnimationPipeline):
        self.pipeline = pipeline
        unet = pipeline.components.denoising_unet
        self.ours = dict(unet.attn_processors)
        paths = set(self_attention_paths(unet))
        self.replica = {
            name: OfficialReadProcessor(pipeline.bank, name[: -len(".processor")]) if name[: -len(".processor")] in paths else proc
            for name, proc in self.ours.items()
        }

    def use(self, official: bool) -> None:
        self.pipeline.components.denoising_unet.set_attn_processor(dict(self.replica if official else self.ours))

    @torch.no_grad()
    def appearance(self, source, width: int, height: int, cfg: float) -> Appearance:
        """Steps 1-3, as the official code does them for every frame."""
        p, c = self.pipeline, self.pipeline.components
        size = int(c.image_encoder.config.image_size)
        mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        clip_in = ((image_to_tensor(source, size, size) - mean) / std).to(p.device, p.dtype)
        clip = c.image_encoder(pixel_values=clip_in).image_embeds.unsqueeze(1)
        vae_in = (image_to_tensor(source, width, height) * 2 - 1).to(p.device, p.dtype)
        latents = c.vae.encode(vae_in).latent_dist.mean * p.vae_scaling
        return self.appearance_from(clip, latents, cfg)

    @torch.no_grad()
    def appearance_from(self, clip: torch.Tensor, latents: torch.Tensor, cfg: float) -> Appearance:
        """Step 3: the ReferenceNet at batch 2 (zero-CLIP row, real row) when guiding, else batch 1."""
        p = self.pipeline
        tokens = torch.cat([torch.zeros_like(clip), clip]) if cfg > 1.0 else clip
        p.bank.clear()
        p.components.reference_unet(latents.repeat(tokens.shape[0], 1, 1, 1), torch.zeros((), device=latents.device), encoder_hidden_states=tokens)
        return Appearance(clip, p.bank.snapshot())


def render_official(replica: OfficialReplica, source, pose_images, settings):
    """Frames as the official per-frame loop makes them (steps 1-5 per frame), with the same CLC
    (z_T once, eq. 1) so the frames compare one to one with ``AnimationPipeline.render``."""
    from engine.sampling.closed_loop import frame_input, sample_z_T
    from engine.sampling.samplers import make_sampler, start_frame

    p = replica.pipeline
    factor = p.components.vae_scale_factor
    z_T = sample_z_T((1, p.components.latent_channels, settings.height // factor, settings.width // factor), settings.seed)
    scheduler = make_sampler(settings.sampler, p.components.scheduler_config)
    previous = None
    for pose_image in pose_images:
        # processors switched per frame, so a bench can interleave this generator with ours frame by frame
        replica.use(True)
        try:
            appearance = replica.appearance(source, settings.width, settings.height, settings.cfg)
            features = p.pose_features(pose_image, settings.width, settings.height)
            start_frame(scheduler, settings.steps, p.device)
            steps = p.denoise_frame(frame_input(z_T, previous, settings.beta), features, appearance, scheduler, settings.cfg)
            while True:
                try:
                    next(steps)
                except StopIteration as done:
                    z0_hat = done.value
                    break
            previous = z0_hat.float().cpu()
            image = p.decode(z0_hat)
        finally:
            replica.use(False)
        yield image
