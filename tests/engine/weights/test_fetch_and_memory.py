"""fetch fails fast and clearly offline; memory savers keep frames the same and CLIP/VAE parked on the CPU."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.weights import Library, apply_memory_options
from engine.weights.fetch import KNOWN_MODELS, fetch


def test_fetch_with_offline_mode_fails_at_once(tmp_path):
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"cannot fetch while offline \(HF_HUB_OFFLINE is set\).*models import PATH"):
        fetch("talkingpose", library=Library(tmp_path))
    assert time.monotonic() - started < 1.0
    assert not (tmp_path / "talkingpose").exists()


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", "http://10.255.255.1"])  # refused / silently dropped
def test_fetch_without_a_network_fails_within_its_timeout(tmp_path, monkeypatch, endpoint):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"cannot reach 1.*connect to the internet"):
        fetch("animate-anyone", library=Library(tmp_path), timeout=1.5, endpoint=endpoint)
    assert time.monotonic() - started < 3.0


def test_fetch_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ModelError, match=r"no known model named 'sdxl'; fetch one of: animate-anyone, talkingpose"):
        fetch("sdxl", library=Library(tmp_path))
    assert sorted(KNOWN_MODELS) == ["animate-anyone", "talkingpose"]


def test_offload_keeps_frames_identical_and_parks_clip_and_vae_on_the_cpu(fresh_components, render, rgb, reference_frames):
    components = fresh_components()
    calls = []
    real_to = torch.nn.Module.to

    def spy(module, *args, **kwargs):
        calls.append((type(module).__name__, str(kwargs.get("device", args[0] if args else None))))
        return real_to(module, *args, **kwargs)

    turn_off = apply_memory_options(components, offload=True)
    torch.nn.Module.to = spy
    try:
        frames = render(components, rgb)
    finally:
        torch.nn.Module.to = real_to
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference_frames))
    # each parked part visits the UNet's device while it runs and returns to the CPU after
    assert ("CLIPVisionModelWithProjection", "cpu") in calls and ("Decoder", "cpu") in calls and ("Encoder", "cpu") in calls
    assert calls.count(("Decoder", "cpu")) >= 2 * len(frames)  # arrive + leave per decoded frame
    turn_off()
    assert not components.image_encoder._forward_pre_hooks and not components.vae.decoder._forward_hooks


def test_vae_tiling_decodes_large_frames_tile_by_tile_and_can_be_turned_off(fresh_components):
    components = fresh_components()
    vae = components.vae
    latents = torch.randn(1, 4, 16, 16)  # 128x128 pixels: larger than this VAE's 32-pixel tile
    tiles = []
    handle = vae.decoder.register_forward_pre_hook(lambda module, args: tiles.append(args[0].shape[-1]))
    with torch.no_grad():
        plain = vae.decode(latents).sample
        turn_off = apply_memory_options(components, vae_tiling=True)
        tiled = vae.decode(latents).sample
        turn_off()
        again = vae.decode(latents).sample
    handle.remove()
    assert tiles[0] == 16 and len(tiles) > 3 and max(tiles[1:-1]) < 16 and tiles[-1] == 16
    assert tiled.shape == plain.shape == (1, 3, 128, 128) and torch.equal(again, plain)


@pytest.fixture
def fake_hub(monkeypatch, tmp_path, make_layout):
    """Serve a tiny released layout as if from the Hub's repos; ``hub.corrupt`` names a file delivered damaged."""
    import hashlib
    import shutil
    from types import SimpleNamespace

    import huggingface_hub

    import engine.weights.fetch as fetch_module

    weights = make_layout(tmp_path / "upstream", image_encoder_as_bin=True) / "pretrained_weights"
    repos = {
        "patrolli/AnimateAnyone": weights,
        "lambdalabs/sd-image-variations-diffusers": weights,
        "stabilityai/sd-vae-ft-mse": weights / "sd-vae-ft-mse",
        "stable-diffusion-v1-5/stable-diffusion-v1-5": weights / "stable-diffusion-v1-5",
    }
    hub = SimpleNamespace(corrupt=None, downloads=[])

    def download(repo, path, local_dir, **options):
        target = local_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repos[repo] / path, target)
        if path == hub.corrupt:
            target.write_bytes(target.read_bytes()[:-1] + b"!")
        hub.downloads.append((repo, path))
        return str(target)

    class FakeApi:
        def __init__(self, endpoint):
            pass

        def get_paths_info(self, repo, paths):
            data = (repos[repo] / paths[0]).read_bytes()
            if paths[0].endswith(".json"):
                return [SimpleNamespace(lfs=None, blob_id=hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())]
            return [SimpleNamespace(lfs=SimpleNamespace(sha256=hashlib.sha256(data).hexdigest()), blob_id="")]

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(fetch_module, "ensure_online", lambda endpoint, timeout, repo: None)
    return hub


def test_fetch_downloads_checks_and_imports_a_known_model(fake_hub, tmp_path, fresh_components):
    library = Library(tmp_path / "library")
    folder = fetch("animate-anyone", library=library)
    assert folder == library.root / "animate-anyone" and library.verify("animate-anyone") == []
    assert ("patrolli/AnimateAnyone", "reference_unet.pth") in fake_hub.downloads
    assert ("stable-diffusion-v1-5/stable-diffusion-v1-5", "unet/config.json") in fake_hub.downloads
    assert not (library.root / ".downloads" / "animate-anyone").exists()
    loaded = library.load("animate-anyone").components.pose_guider.state_dict()
    original = fresh_components().pose_guider.state_dict()
    assert all(torch.equal(loaded[k], original[k]) for k in original)
    with pytest.raises(ModelError, match="already in the library"):
        fetch("animate-anyone", library=library)


def test_fetch_rejects_a_damaged_download_and_keeps_nothing_of_it(fake_hub, tmp_path):
    fake_hub.corrupt = "pose_guider.pth"
    library = Library(tmp_path / "library")
    with pytest.raises(ModelError, match=r"pose_guider\.pth from patrolli/AnimateAnyone arrived corrupt \(checksum mismatch\)"):
        fetch("animate-anyone", library=library)
    assert not (library.root / ".downloads" / "animate-anyone" / "patrolli--AnimateAnyone" / "pose_guider.pth").exists()
    assert [info.name for info in library.list()] == []
