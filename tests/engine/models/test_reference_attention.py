"""Reference attention reads contiguous row slices at inference: the same frames as the previous
gather/index_copy path, and no gather or scatter per layer per step."""

from __future__ import annotations

import copy

import numpy as np
import torch

from engine.config import RenderSettings
from engine.events import FrameReady
from engine.models.reference_attention import ReferenceReadProcessor, attend, self_attention_paths
from engine.pipeline import AnimationPipeline

SETTINGS = RenderSettings(width=32, height=32, steps=3, cfg=3.5, seed=7, beta=0.05, device="cpu")


class PreviousReadProcessor(ReferenceReadProcessor):
    """The engine's previous inference path, kept here as the reference implementation: rows picked
    with nonzero() (uncond = index -1), attended apart, and index_copy'd back into a new tensor."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        reference = self.bank.states.get(self.path)
        if reference is None:
            return attend(attn, hidden_states, hidden_states)
        batch = hidden_states.shape[0]
        plain_rows = self.bank.plain_rows
        index = torch.tensor([-1] * plain_rows + [0] * (batch - plain_rows))
        reference = reference.to(hidden_states.dtype)
        with_ref = (index >= 0).nonzero().flatten()
        without_ref = (index < 0).nonzero().flatten()
        if len(without_ref) == 0:
            return attend(attn, hidden_states, torch.cat([hidden_states, reference[index]], dim=1))
        plain = attend(attn, hidden_states[without_ref], hidden_states[without_ref])
        h_ref = hidden_states[with_ref]
        guided = attend(attn, h_ref, torch.cat([h_ref, reference[index[with_ref]]], dim=1))
        out = hidden_states.new_zeros((batch,) + plain.shape[1:])
        out = out.index_copy(0, without_ref, plain)
        return out.index_copy(0, with_ref, guided)


def _use_previous_path(pipeline):
    unet = pipeline.components.denoising_unet
    paths = set(self_attention_paths(unet))
    processors = {}
    for name, processor in unet.attn_processors.items():
        path = name[: -len(".processor")]
        processors[name] = PreviousReadProcessor(pipeline.bank, path) if path in paths else processor
    unet.set_attn_processor(processors)


def _frames(pipeline, rgb, settings=SETTINGS):
    return [e.image for e in pipeline.render(rgb(0), [rgb(i + 10) for i in range(3)], settings) if isinstance(e, FrameReady)]


def test_slices_give_identical_frames_to_the_previous_gather_path(posed_components, rgb):
    previous_pipeline = AnimationPipeline(copy.deepcopy(posed_components))
    _use_previous_path(previous_pipeline)
    ours = _frames(AnimationPipeline(posed_components), rgb)
    previous = _frames(previous_pipeline, rgb)
    assert len(ours) == 3
    for a, b in zip(ours, previous):
        assert np.array_equal(a, b)


def test_cond_only_batch_matches_the_previous_path_too(posed_components, rgb):
    settings = SETTINGS.replace(cfg=1.0)
    previous_pipeline = AnimationPipeline(copy.deepcopy(posed_components))
    _use_previous_path(previous_pipeline)
    ours = _frames(AnimationPipeline(posed_components), rgb, settings)
    for a, b in zip(ours, _frames(previous_pipeline, rgb, settings)):
        assert np.array_equal(a, b)


def test_inference_runs_no_gather_or_scatter(tiny_components, rgb, monkeypatch):
    calls = {"index_copy": 0, "nonzero": 0}
    for name in calls:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    frames = _frames(AnimationPipeline(tiny_components), rgb)
    assert len(frames) == 3
    assert calls == {"index_copy": 0, "nonzero": 0}


def test_uncond_row_ignores_the_reference_and_cond_row_reads_it(tiny_components, rgb):
    pipeline = AnimationPipeline(tiny_components)
    a = pipeline.encode_appearance(rgb(1), 32, 32)
    b = pipeline.encode_appearance(rgb(2), 32, 32)
    torch.manual_seed(3)
    x = torch.randn(1, 4, 4, 4).repeat(2, 1, 1, 1)
    tokens = torch.cat([torch.zeros_like(a.clip_embeds), a.clip_embeds])
    outputs = []
    for appearance in (a, b):
        pipeline.bank.restore(appearance.reference_states)
        pipeline.bank.reference_index, pipeline.bank.plain_rows = None, 1
        with torch.no_grad():
            outputs.append(tiny_components.denoising_unet(x, torch.tensor(500), encoder_hidden_states=tokens).sample)
    assert torch.equal(outputs[0][0], outputs[1][0])  # uncond: plain self-attention, no reference
    assert (outputs[0][1] - outputs[1][1]).abs().max() > 1e-4  # cond: reads the stored reference
