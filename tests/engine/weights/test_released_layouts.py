"""Released AnimateAnyone / TalkingPose layouts load by name and render exactly what the in-memory model renders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.weights import detect_layout, load_model
from engine.weights.checkpoints import REFERENCE_UNET_ALLOWED_MISSING
from engine.weights.layouts import load_released


def test_animate_anyone_layout_renders_the_same_frames_as_the_in_memory_model(released, reference_frames, rgb, render):
    loaded = load_model(released)
    frames = render(loaded.components, rgb)
    assert len(frames) == len(reference_frames) == 2
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference_frames))
    assert loaded.info.resolution == (512, 768)
    layout = detect_layout(released)
    assert layout.kind == "animate-anyone" and sorted(layout.checkpoints) == ["denoising_unet", "pose_guider", "reference_unet"]
    assert (released / "pretrained_weights" / "motion_module.pth").is_file()  # present in the release, never read


def test_talkingpose_layout_with_a_pickled_clip_folder_renders_the_same_frames(tmp_path, reference_frames, rgb, render, make_layout):
    root = make_layout(tmp_path / "TalkingPose", image_encoder_as_bin=True, kind="talkingpose")
    layout = detect_layout(root)
    assert layout.kind == "talkingpose"
    assert layout.checkpoints["denoising_unet"] == root / "pretrained_weights" / "talkingpose" / "denoising_unet.pth"
    assert layout.image_encoder == root / "pretrained_weights" / "image_encoder"
    # pointing straight at the checkpoint folder finds the base folders one level up
    assert detect_layout(root / "pretrained_weights" / "talkingpose").vae == root / "pretrained_weights" / "sd-vae-ft-mse"
    frames = render(load_model(root / "pretrained_weights" / "talkingpose").components, rgb)
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference_frames))


def test_loaded_weights_equal_the_written_ones_and_only_the_reference_head_is_filled_in(released, fresh_components):
    original = fresh_components()
    components = load_released(detect_layout(released))
    for name in ("denoising_unet", "pose_guider", "vae", "image_encoder"):
        mine, theirs = getattr(components, name).state_dict(), getattr(original, name).state_dict()
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine), name
    reference = components.reference_unet.state_dict()
    for key, value in original.reference_unet.state_dict().items():
        if key in REFERENCE_UNET_ALLOWED_MISSING:
            assert not torch.equal(reference[key], value)  # absent from the file: zeros/ones, never random
            assert torch.all(reference[key] == (1 if key == "conv_norm_out.weight" else 0))
        else:
            assert torch.equal(reference[key], value), key
    assert not any(p.is_meta for c in components.modules().values() for p in c.parameters())


def test_reference_unet_missing_any_other_key_is_refused_by_name(released):
    file = released / "pretrained_weights" / "reference_unet.pth"
    state = torch.load(file, weights_only=True)
    del state["mid_block.attentions.0.proj_in.weight"]
    torch.save(state, file)
    with pytest.raises(ModelError) as caught:
        load_model(released)
    message = str(caught.value)
    assert "reference_unet.pth" in message and "1 missing keys (mid_block.attentions.0.proj_in.weight)" in message
    assert "conv_out" not in message and "\n" not in message


def test_unexpected_keys_are_named_with_counts(released):
    file = released / "pretrained_weights" / "denoising_unet.pth"
    state = torch.load(file, weights_only=True)
    for i in range(5):
        state[f"down_blocks.0.motion_modules.{i}.weight"] = torch.zeros(1)
    torch.save(state, file)
    with pytest.raises(ModelError, match=r"denoising_unet\.pth does not match .*5 unexpected keys \(down_blocks\.0\.motion_modules\.0\.weight, .*, \.\.\.\)"):
        load_model(released)


def test_safetensors_checkpoint_is_preferred_over_the_pickle(released, fresh_components):
    from safetensors.torch import save_file

    weights = released / "pretrained_weights"
    state = torch.load(weights / "denoising_unet.pth", weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(weights / "denoising_unet.safetensors"))
    (weights / "denoising_unet.pth").write_bytes(b"not a checkpoint")  # would fail if it were read
    layout = detect_layout(released)
    assert layout.checkpoints["denoising_unet"].suffix == ".safetensors"
    loaded = load_model(released).components.denoising_unet.state_dict()
    original = fresh_components().denoising_unet.state_dict()
    assert loaded.keys() == original.keys() and all(torch.equal(loaded[k], original[k]) for k in loaded)


def test_builtin_sd15_config_is_used_when_no_unet_config_is_present_and_tiny_weights_then_mismatch(released):
    shutil.rmtree(released / "pretrained_weights" / "stable-diffusion-v1-5")
    layout = detect_layout(released)
    assert layout.unet_config is None
    # the tiny image encoder (8-d) cannot feed an SD1.5 UNet (768-d): refused before any weights are read
    with pytest.raises(ModelError, match=r"gives 8-d embeddings but the UNet expects 768-d"):
        load_model(released)


def test_a_folder_without_checkpoints_names_where_it_looked(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"holds no denoising_unet\.pth \(looked in it, pretrained_weights/talkingpose/"):
        detect_layout(tmp_path / "empty")


def test_missing_base_folders_say_what_to_download(released):
    shutil.rmtree(released / "pretrained_weights" / "sd-vae-ft-mse")
    with pytest.raises(ModelError, match=r"no sd-vae-ft-mse/ folder .*download stabilityai/sd-vae-ft-mse"):
        detect_layout(released)
    shutil.rmtree(released / "pretrained_weights" / "image_encoder")
    with pytest.raises(ModelError, match=r"no image_encoder/ folder .*sd-image-variations-diffusers"):
        detect_layout(released)
