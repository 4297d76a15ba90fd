"""Reference attention on stock diffusers UNets, via attention processors (no forked UNet).

AnimateAnyone / TalkingPose: the ReferenceNet (a UNet run on the source latents) stores, for every
BasicTransformerBlock, the self-attention input ``norm1(h)``, keyed by the block's module path. The
denoising UNet's block at the same path attends with keys/values ``concat([norm1(h), stored], tokens)``
using its own to_q/to_k/to_v/to_out.

Which rows use the reference: at inference the batch is [uncond, cond] (or cond alone), so
``ReferenceBank.plain_rows`` says how many leading rows attend plainly; the rest read stored row 0.
Those are contiguous slices (views), so no gather or scatter runs per layer per step. Training mixes
references per sample: there ``ReferenceBank.reference_index`` (B,) gives each sample's stored row,
or -1 for plain self-attention (condition dropout), and takes precedence.
"""

from __future__ import annotations

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from torch.nn import functional as F

from engine.errors import ModelError

SELF_ATTENTION_SUFFIX = ".attn1.processor"


class ReferenceBank:
    """States written by the ReferenceNet, read by the denoising UNet."""

    def __init__(self) -> None:
        self.states: dict[str, torch.Tensor] = {}
        self.reference_index: torch.Tensor | None = None  # (B,) long; -1 = no reference; None = use plain_rows
        self.plain_rows = 0  # leading rows with plain self-attention; the others read stored row 0

    def clear(self) -> None:
        self.states.clear()
        self.reference_index = None
        self.plain_rows = 0

    def snapshot(self) -> dict[str, torch.Tensor]:
        return dict(self.states)

    def restore(self, states: dict[str, torch.Tensor]) -> None:
        self.states = dict(states)


def attend(attn: Attention, queries_from: torch.Tensor, keys_from: torch.Tensor) -> torch.Tensor:
    """Multi-head attention with ``attn``'s own projections; SDPA does the maths."""
    query = attn.to_q(queries_from)
    key = attn.to_k(keys_from)
    value = attn.to_v(keys_from)
    batch, tokens, inner = query.shape
    head_dim = inner // attn.heads
    query = query.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
    key = key.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
    value = value.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
    if getattr(attn, "norm_q", None) is not None:
        query = attn.norm_q(query)
    if getattr(attn, "norm_k", None) is not None:
        key = attn.norm_k(key)
    out = F.scaled_dot_product_attention(query, key, value, scale=attn.scale)
    out = out.transpose(1, 2).reshape(batch, tokens, inner).to(query.dtype)
    out = attn.to_out[1](attn.to_out[0](out))
    if attn.residual_connection:
        out = out + queries_from
    return out / attn.rescale_output_factor


class ReferenceWriteProcessor:
    """ReferenceNet side: store norm1(h) (this processor's input), then attend as usual."""

    def __init__(self, bank: ReferenceBank, path: str):
        self.bank, self.path = bank, path

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        self.bank.states[self.path] = hidden_states
        return attend(attn, hidden_states, hidden_states)


class ReferenceReadProcessor:
    """Denoising UNet side: keys/values from [norm1(h), stored reference] where the sample asks for it."""

    def __init__(self, bank: ReferenceBank, path: str):
        self.bank, self.path = bank, path

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        reference = self.bank.states.get(self.path)
        if reference is None:
            return attend(attn, hidden_states, hidden_states)
        reference = reference.to(hidden_states.dtype)
        if self.bank.reference_index is not None:
            return _per_sample(attn, hidden_states, reference, self.bank.reference_index)
        plain_rows = self.bank.plain_rows
        if plain_rows <= 0:
            return attend(attn, hidden_states, _with_reference(hidden_states, reference))
        if plain_rows >= hidden_states.shape[0]:
            return attend(attn, hidden_states, hidden_states)
        plain, guided = hidden_states[:plain_rows], hidden_states[plain_rows:]
        plain_out = attend(attn, plain, plain)
        guided_out = attend(attn, guided, _with_reference(guided, reference))
        return torch.cat([plain_out, guided_out])


def _with_reference(hidden_states: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Keys/values source: each row's own tokens followed by stored reference row 0's."""
    return torch.cat([hidden_states, reference[:1].expand(hidden_states.shape[0], -1, -1)], dim=1)


def _per_sample(attn: Attention, hidden_states: torch.Tensor, reference: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Training path: sample i reads stored row index[i], or attends plainly where index[i] < 0."""
    index = index.to(hidden_states.device)
    with_ref = (index >= 0).nonzero().flatten()
    without_ref = (index < 0).nonzero().flatten()
    if len(without_ref) == 0:
        return attend(attn, hidden_states, torch.cat([hidden_states, reference[index]], dim=1))
    if len(with_ref) == 0:
        return attend(attn, hidden_states, hidden_states)
    plain = attend(attn, hidden_states[without_ref], hidden_states[without_ref])
    h_ref = hidden_states[with_ref]
    guided = attend(attn, h_ref, torch.cat([h_ref, reference[index[with_ref]]], dim=1))
    out = hidden_states.new_zeros((hidden_states.shape[0],) + plain.shape[1:])
    out = out.index_copy(0, without_ref, plain)
    return out.index_copy(0, with_ref, guided)


def self_attention_paths(unet: torch.nn.Module) -> list[str]:
    """Module paths of every transformer block's self-attention (attn1), in model order."""
    return [name[: -len(".processor")] for name in unet.attn_processors if name.endswith(SELF_ATTENTION_SUFFIX)]


def install_reference_attention(reference_unet: torch.nn.Module, denoising_unet: torch.nn.Module) -> ReferenceBank:
    """Wire the two UNets through a new ReferenceBank; returns it."""
    ref_paths = self_attention_paths(reference_unet)
    den_paths = self_attention_paths(denoising_unet)
    if ref_paths != den_paths:
        raise ModelError(
            "the ReferenceNet and the denoising UNet have different transformer blocks "
            f"({len(ref_paths)} vs {len(den_paths)}); both must have the same architecture"
        )
    bank = ReferenceBank()
    for unet, processor_class in ((reference_unet, ReferenceWriteProcessor), (denoising_unet, ReferenceReadProcessor)):
        processors = {}
        for name in unet.attn_processors:
            if name.endswith(SELF_ATTENTION_SUFFIX):
                processors[name] = processor_class(bank, name[: -len(".processor")])
            else:
                processors[name] = AttnProcessor2_0()
        unet.set_attn_processor(processors)
    return bank
