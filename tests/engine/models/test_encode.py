"""One copy of the encoders' input handling: the render pipeline and the trainer feed CLIP and the VAE
through engine.models.encode, and it normalises exactly as CLIP's preprocessing does."""

from __future__ import annotations

import numpy as np
import torch

from engine.models import encode
from engine.models.components import CLIP_MEAN, CLIP_STD
from engine.pipeline import AnimationPipeline, image_to_tensor
from tests.engine.train.test_trainer import make_trainer


def test_clip_input_is_normalised_by_clips_mean_and_std(tiny_components):
    seen = {}
    encoder = tiny_components.image_encoder
    handle = encoder.register_forward_pre_hook(lambda module, args, kwargs: seen.update(kwargs), with_kwargs=True)
    images = torch.rand(2, 3, encoder.config.image_size, encoder.config.image_size)
    try:
        embeds = encode.clip_embeds(encoder, images, "cpu")
    finally:
        handle.remove()
    mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    assert torch.equal(seen["pixel_values"], (images - mean) / std)
    assert embeds.shape == (2, 1, encoder.config.projection_dim)


def test_vae_latents_are_the_scaled_posterior_mean_of_images_in_minus_one_to_one(tiny_components):
    vae = tiny_components.vae
    images = torch.rand(1, 3, 32, 32)
    latents = encode.vae_latents(vae, images, 0.5, "cpu")
    with torch.no_grad():
        expected = vae.encode(images * 2 - 1).latent_dist.mean * 0.5
    assert latents.shape == (1, vae.config.latent_channels, 4, 4) and torch.equal(latents, expected)
    assert encode.vae_scaling(vae) == float(vae.config.scaling_factor)


def test_pipeline_and_trainer_both_encode_through_the_shared_functions(tiny_components, tmp_path, monkeypatch):
    calls = []
    for name in ("clip_embeds", "vae_latents"):
        original = getattr(encode, name)
        monkeypatch.setattr(encode, name, lambda *args, _f=original, _n=name, **kw: calls.append(_n) or _f(*args, **kw))

    source = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    appearance = AnimationPipeline(tiny_components).encode_appearance(source, 32, 32)
    assert calls == ["clip_embeds", "vae_latents"]
    with torch.no_grad():
        clip_in = image_to_tensor(source, *(2 * [tiny_components.image_encoder.config.image_size]))
        direct = encode.clip_embeds(tiny_components.image_encoder, clip_in, "cpu", torch.float32)
    assert torch.equal(appearance.clip_embeds, direct)

    calls.clear()
    trainer = make_trainer(tmp_path, cond_dropout=0.0)
    batch = trainer.make_batch([trainer.dataset.item(i) for i in range(2)])
    trainer.loss(batch, torch.Generator().manual_seed(0))
    assert calls == ["clip_embeds", "vae_latents", "vae_latents"]  # source token, source and target latents
