"""The closed-loop pipeline on tiny random components: Algorithm 1, reference attention, pose, streaming, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.cancel import CancelToken
from engine.config import RenderSettings
from engine.errors import Cancelled
from engine.events import Done, FrameReady, Progress
from engine.pipeline import AnimationPipeline
from engine.sampling.closed_loop import clc_update, sample_z_T

SETTINGS = RenderSettings(width=32, height=32, steps=3, cfg=3.5, seed=7, beta=0.05, device="cpu")


def frames_of(events):
    return [e for e in events if isinstance(e, FrameReady)]


def record_inputs(pipeline):
    """Spy on the latent x_k that enters each frame's denoising."""
    seen = []
    original = pipeline.denoise_frame

    def spy(x_k, *args, **kwargs):
        seen.append(x_k.clone())
        return original(x_k, *args, **kwargs)

    pipeline.denoise_frame = spy
    return seen


def test_clc_update_is_equation_1():
    z_T, z0 = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2)
    assert torch.equal(clc_update(z_T, z0, 0.0), z_T)
    assert torch.allclose(clc_update(z_T, z0, 1.0), z0)
    assert torch.allclose(clc_update(z_T, z0, 0.05), 0.95 * z_T + 0.05 * z0, atol=1e-7)


def test_latent_entering_frame_k_plus_1_follows_algorithm_1(posed_components, rgb):
    pipeline = AnimationPipeline(posed_components)
    inputs = record_inputs(pipeline)
    events = list(pipeline.render(rgb(0), [rgb(i + 10) for i in range(4)], SETTINGS))
    frames = frames_of(events)
    z_T = sample_z_T((1, 4, 4, 4), SETTINGS.seed)
    assert torch.equal(inputs[0], z_T)  # x_1 = z_T
    for k in range(3):
        state = frames[k].state
        assert state.k == k and torch.equal(state.z_T, z_T)
        expected = z_T + 0.05 * (state.z0_hat - z_T)
        torch.testing.assert_close(inputs[k + 1], expected, rtol=0, atol=1e-6)
        assert not torch.equal(inputs[k + 1], z_T)


def test_beta_zero_starts_every_frame_from_z_T(posed_components, rgb):
    pipeline = AnimationPipeline(posed_components)
    inputs = record_inputs(pipeline)
    list(pipeline.render(rgb(0), [rgb(i + 10) for i in range(3)], SETTINGS.replace(beta=0.0)))
    assert all(torch.equal(x, inputs[0]) for x in inputs)


def test_independent_noise_ablation_draws_a_new_z_T_per_frame(posed_components, rgb):
    pipeline = AnimationPipeline(posed_components)
    inputs = record_inputs(pipeline)
    list(pipeline.render(rgb(0), [rgb(10)] * 3, SETTINGS.replace(independent_noise=True)))
    assert not torch.equal(inputs[0], inputs[1]) and not torch.equal(inputs[1], inputs[2])


def test_same_seed_is_bit_identical_and_another_seed_differs(posed_components, rgb):
    poses = [rgb(i + 10) for i in range(2)]
    first = frames_of(AnimationPipeline(posed_components).render(rgb(0), poses, SETTINGS))
    again = frames_of(AnimationPipeline(posed_components).render(rgb(0), poses, SETTINGS))
    other = frames_of(AnimationPipeline(posed_components).render(rgb(0), poses, SETTINGS.replace(seed=8)))
    for a, b in zip(first, again):
        assert np.array_equal(a.image, b.image)
    assert not np.array_equal(first[0].image, other[0].image)


def test_resume_from_saved_state_matches_uninterrupted_run(posed_components, rgb):
    poses = [rgb(i + 10) for i in range(4)]
    full = frames_of(AnimationPipeline(posed_components).render(rgb(0), poses, SETTINGS))
    resumed = frames_of(AnimationPipeline(posed_components).render(rgb(0), poses[2:], SETTINGS, resume=full[1].state))
    assert [f.index for f in resumed] == [2, 3]
    for a, b in zip(full[2:], resumed):
        assert np.array_equal(a.image, b.image)


def _unet_output(pipeline, appearance, use_reference: bool, tokens: torch.Tensor):
    unet = pipeline.components.denoising_unet
    pipeline.bank.restore(appearance.reference_states)
    pipeline.bank.reference_index = torch.tensor([0 if use_reference else -1])
    torch.manual_seed(3)
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        return unet(x, torch.tensor(500), encoder_hidden_states=tokens).sample


def test_reference_attention_changes_cond_but_not_uncond(tiny_components, rgb):
    pipeline = AnimationPipeline(tiny_components)
    a = pipeline.encode_appearance(rgb(1), 32, 32)
    b = pipeline.encode_appearance(rgb(2), 32, 32)
    assert set(a.reference_states) == set(pipeline.bank.states) and len(a.reference_states) == 4
    cond_a = _unet_output(pipeline, a, True, a.clip_embeds)
    cond_b = _unet_output(pipeline, b, True, b.clip_embeds)
    assert (cond_a - cond_b).abs().max() > 1e-4
    # reference alone (same CLIP token) still changes the output: the states are read
    cond_b_same_token = _unet_output(pipeline, b, True, a.clip_embeds)
    assert (cond_a - cond_b_same_token).abs().max() > 1e-4
    zeros = torch.zeros_like(a.clip_embeds)
    assert torch.equal(_unet_output(pipeline, a, False, zeros), _unet_output(pipeline, b, False, zeros))


def test_reference_net_runs_once_per_job(tiny_components, rgb):
    pipeline = AnimationPipeline(tiny_components)
    calls = {"reference": 0, "clip": 0, "vae_encode": 0}
    for name, module, method in (
        ("reference", tiny_components.reference_unet, "forward"),
        ("clip", tiny_components.image_encoder, "forward"),
        ("vae_encode", tiny_components.vae, "encode"),
    ):
        original = getattr(module, method)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        setattr(module, method, counted)
    events = list(pipeline.render(rgb(0), [rgb(i) for i in range(6)], SETTINGS))
    assert len(frames_of(events)) == 6
    assert calls == {"reference": 1, "clip": 1, "vae_encode": 1}


def test_pose_changes_the_frame(posed_components, rgb):
    pipeline = AnimationPipeline(posed_components)
    one = frames_of(pipeline.render(rgb(0), [rgb(20)], SETTINGS))[0].image
    two = frames_of(pipeline.render(rgb(0), [rgb(21)], SETTINGS))[0].image
    assert not np.array_equal(one, two)


def test_untrained_pose_guider_outputs_exact_zero(tiny_components, rgb):
    from engine.models.pose_guider import PoseGuider

    guider = PoseGuider()  # the full-size layers of docs/architecture.md, "Model"
    assert sum(p.numel() for p in guider.parameters()) == pytest.approx(1.09e6, rel=0.02)
    features = guider(torch.rand(1, 3, 64, 64))
    assert features.shape == (1, 320, 8, 8)
    assert torch.count_nonzero(features) == 0
    keys = set(guider.state_dict())
    assert {"conv_in.weight", "blocks.5.bias", "conv_out.weight"} <= keys and "blocks.6.weight" not in keys


def _hidden_pose_signal(guider, poses):
    """How much the last hidden layer of the guider changes between two pose images."""
    x = torch.nn.functional.silu(guider.conv_in(poses))
    for block in guider.blocks:
        x = torch.nn.functional.silu(block(x))
    return float((x[0] - x[1]).abs().mean())


def test_kaiming_init_keeps_the_pose_signal_that_the_papers_init_loses():
    from engine.models.pose_guider import PoseGuider

    poses = torch.zeros(2, 3, 128, 128)
    poses[0, :, 40:60, 30:90] = 1.0  # two different "skeletons": bright bars in different places
    poses[1, :, 70:90, 30:90] = 1.0
    sizes = dict(block_out_channels=(16, 32, 64, 128), conditioning_embedding_channels=32)
    gaussian, kaiming = PoseGuider(**sizes), PoseGuider(**sizes)
    gaussian.init_gaussian(seed=0)
    kaiming.init_kaiming(seed=0)
    with torch.no_grad():
        weak, strong = _hidden_pose_signal(gaussian, poses), _hidden_pose_signal(kaiming, poses)
        assert torch.count_nonzero(kaiming(poses)) == 0  # conv_out still zero: adds nothing before training
    assert strong > 100 * weak
    assert strong > 1e-3


def test_events_stream_frame_1_before_frame_2_is_computed(tiny_components, rgb):
    pulled = []

    def poses():
        for i in range(3):
            pulled.append(i)
            yield rgb(i)

    stream = AnimationPipeline(tiny_components).render(rgb(0), poses(), SETTINGS)
    kinds = []
    for event in stream:
        kinds.append(event.kind)
        if isinstance(event, FrameReady):
            assert event.index == 0 and pulled == [0]
            break
    assert kinds == ["progress"] * 3 + ["frame"]


def test_cancel_mid_frame_stops_within_one_step_and_keeps_earlier_frames(tiny_components, rgb):
    token = CancelToken()
    stream = AnimationPipeline(tiny_components).render(rgb(0), [rgb(i) for i in range(5)], SETTINGS, cancel=token)
    delivered = []
    with pytest.raises(Cancelled):
        for event in stream:
            delivered.append(event)
            if isinstance(event, Progress) and event.frame == 1 and event.step == 1:
                token.cancel()
    assert [e.index for e in frames_of(delivered)] == [0]
    assert isinstance(delivered[-1], Progress) and (delivered[-1].frame, delivered[-1].step) == (1, 1)
    assert not any(isinstance(e, Done) for e in delivered)


def test_components_round_trip_through_safetensors(posed_components, rgb, tmp_path):
    from engine.models.components import Components

    posed_components.save_pretrained(tmp_path / "model")
    assert (tmp_path / "model" / "denoising_unet" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = Components.from_pretrained(tmp_path / "model")
    a = frames_of(AnimationPipeline(posed_components).render(rgb(0), [rgb(1)], SETTINGS))[0].image
    b = frames_of(AnimationPipeline(loaded).render(rgb(0), [rgb(1)], SETTINGS))[0].image
    assert np.array_equal(a, b)
