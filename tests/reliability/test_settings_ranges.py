"""Class 7: every number is checked for range and finiteness up front, before a model loads."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "option, value, field",
    [("--seed", str(2**64), "seed"), ("--seed", str(2**63), "seed"), ("--cfg", "inf", "cfg"), ("--cfg", "nan", "cfg"),
     ("--cfg", "1e9", "cfg"), ("--beta", "nan", "beta"), ("--steps", "100000", "steps"), ("--size", "8192x8192", "size"),
     ("--smooth", "inf", "smooth"), ("--smooth", "nan", "smooth")],
)
def test_out_of_range_numbers_exit_2_before_the_model_loads(valid_inputs, tmp_path, cli, option, value, field):
    source, driving = valid_inputs
    # an unknown model would be exit 3: exit 2 shows the number was refused before any model was looked up
    code, _, errors = cli("animate", source, driving, "-o", tmp_path / "out.mp4", "--model", "no-such-model",
                          option, value, "--quiet")
    assert code == 2 and len(errors) == 1 and errors[0].startswith(f"error: {field}: ")
    assert not (tmp_path / "out.mp4").exists()


def test_the_largest_seed_works_with_torch():
    import torch

    from engine.config import MAX_SEED, RenderSettings
    from engine.sampling.closed_loop import sample_z_T

    settings = RenderSettings(seed=MAX_SEED)
    first = sample_z_T((1, 4, 2, 2), settings.seed)
    assert torch.equal(first, sample_z_T((1, 4, 2, 2), MAX_SEED)) and torch.isfinite(first).all()
