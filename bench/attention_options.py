"""Ways to give a CFG batch [uncond, cond] plain self-attention on the uncond row and reference
attention on the cond row, timed against each other on one UNet call (``engine_bench.py --attention-options``).

- gather:  the previous engine code: index the rows with ``nonzero``, attend, ``index_copy`` back;
- slices:  the engine's now: contiguous views ``h[:1]``, ``h[1:]``, two attention calls, one cat;
- masked:  one attention call over the whole batch with keys [h, reference] and a mask hiding the
           reference tokens from the uncond row (extra K/V projections and scores for that row).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.nn import functional as F

from engine.models.reference_attention import ReferenceReadProcessor, attend, self_attention_paths


class GatherProcessor(ReferenceReadProcessor):
    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        reference = self.bank.states[self.path].to(hidden_states.dtype)
        index = torch.tensor([-1, 0])
        with_ref, without_ref = (index >= 0).nonzero().flatten(), (index < 0).nonzero().flatten()
        plain = attend(attn, hidden_states[without_ref], hidden_states[without_ref])
        h_ref = hidden_states[with_ref]
        guided = attend(attn, h_ref, torch.cat([h_ref, reference[index[with_ref]]], dim=1))
        out = hidden_states.new_zeros((hidden_states.shape[0],) + plain.shape[1:])
        return out.index_copy(0, without_ref, plain).index_copy(0, with_ref, guided)


class MaskedProcessor(ReferenceReadProcessor):
    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        reference = self.bank.states[self.path].to(hidden_states.dtype)
        batch, tokens, _ = hidden_states.shape
        keys_from = torch.cat([hidden_states, reference[:1].expand(batch, -1, -1)], dim=1)
        allowed = torch.ones(batch, 1, 1, keys_from.shape[1], dtype=torch.bool, device=hidden_states.device)
        allowed[0, :, :, tokens:] = False  # the uncond row never sees the reference
        query, key, value = attn.to_q(hidden_states), attn.to_k(keys_from), attn.to_v(keys_from)
        head_dim = query.shape[-1] // attn.heads
        query, key, value = (x.view(batch, -1, attn.heads, head_dim).transpose(1, 2) for x in (query, key, value))
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed, scale=attn.scale)
        out = out.transpose(1, 2).reshape(batch, tokens, -1)
        return attn.to_out[1](attn.to_out[0](out))


def measure(pipeline, appearance, latent_shape, repeats: int = 5) -> dict:
    """Median seconds of one CFG UNet call per option (interleaved), and whether each equals slices."""
    unet = pipeline.components.denoising_unet
    ours = dict(unet.attn_processors)
    paths = set(self_attention_paths(unet))
    options = {"slices": None, "gather": GatherProcessor, "masked": MaskedProcessor}
    torch.manual_seed(0)
    batch = torch.randn((2,) + tuple(latent_shape[1:]), dtype=pipeline.dtype, device=pipeline.device)
    tokens = torch.cat([torch.zeros_like(appearance.clip_embeds), appearance.clip_embeds])
    pipeline.bank.restore(appearance.reference_states)
    pipeline.bank.reference_index, pipeline.bank.plain_rows = None, 1
    times = {name: [] for name in options}
    outputs = {}
    t = torch.tensor(500, device=pipeline.device)
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first round warms up
            for name, cls in options.items():
                procs = ours if cls is None else {
                    n: cls(pipeline.bank, n[: -len(".processor")]) if n[: -len(".processor")] in paths else p for n, p in ours.items()
                }
                unet.set_attn_processor(dict(procs))
                started = time.perf_counter()
                outputs[name] = unet(batch, t, encoder_hidden_states=tokens).sample
                times[name].append(time.perf_counter() - started)
    unet.set_attn_processor(dict(ours))
    report = {}
    for name in options:
        report[name] = {
            "seconds_per_unet_call": round(statistics.median(times[name][1:]), 5),
            "identical_to_slices": bool(torch.equal(outputs[name], outputs["slices"])),
            "max_abs_diff_vs_slices": float((outputs[name] - outputs["slices"]).abs().max()),
        }
    return report
