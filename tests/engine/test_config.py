"""Bad settings raise one clear error naming the field."""

from __future__ import annotations

import pytest

from engine.config import RenderSettings, parse_size
from engine.device import resolve_device
from engine.errors import SettingsError


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"beta": -0.1}, "beta"),
        ({"beta": 1.5}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"width": 100}, "width"),
        ({"height": 7}, "height"),
        ({"device": "tpu"}, "device"),
        ({"dtype": "int8"}, "dtype"),
        ({"cfg": -1}, "cfg"),
        ({"seed": -3}, "seed"),
        ({"seed": 2**64}, "seed"),  # torch's generator overflows: refused here, not after the model loads
        ({"seed": 2**63}, "seed"),
        ({"cfg": float("inf")}, "cfg"),  # inf/NaN guidance renders black frames
        ({"cfg": float("nan")}, "cfg"),
        ({"cfg": 51}, "cfg"),
        ({"beta": float("inf")}, "beta"),
        ({"beta": 10**400}, "beta"),  # too large for a float: still one clear error
        ({"steps": 10**9}, "steps"),
        ({"width": 8192}, "width"),
        ({"device": "cuda:x"}, "device"),
        ({"independent_noise": 1}, "independent_noise"),
    ],
)
def test_bad_setting_names_the_field(changes, field):
    with pytest.raises(SettingsError) as error:
        RenderSettings(**changes)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")
    assert "\n" not in str(error.value)


def test_limits_themselves_are_accepted():
    from engine.config import MAX_CFG, MAX_SEED, MAX_SIDE

    settings = RenderSettings(seed=MAX_SEED, cfg=MAX_CFG, width=MAX_SIDE, height=8, device="cuda:1")
    assert (settings.seed, settings.cfg, settings.size) == (2**63 - 1, 50.0, (4096, 8))
    import torch

    torch.Generator().manual_seed(MAX_SEED)  # the largest seed is one torch accepts


def test_defaults_are_the_papers():
    settings = RenderSettings()
    assert (settings.beta, settings.steps, settings.cfg) == (0.05, 30, 3.5)


def test_parse_size():
    assert parse_size("512x384") == (512, 384)
    for bad in ("100x7", "abc", "512", "0x0", "8192x512"):
        with pytest.raises(SettingsError, match="size"):
            parse_size(bad)


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SettingsError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type in ("cpu", "mps")


def test_round_trip_dict():
    settings = RenderSettings(beta=0.1, seed=3)
    assert RenderSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(SettingsError, match="bogus"):
        RenderSettings.from_dict({"bogus": 1})
