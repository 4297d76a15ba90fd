"""The full-size SD1.5 architecture, checked on the meta device (no memory): what the released files must hold."""

from __future__ import annotations

import pytest
import torch

from engine.errors import ModelError
from engine.models.components import clip_vit_l14_config, sd15_unet_config, sd_vae_config
from engine.weights.checkpoints import (
    CLIP_IGNORED_UNEXPECTED,
    REFERENCE_UNET_ALLOWED_MISSING,
    check_shapes,
    clip_on_meta,
    expected_shapes,
    pose_guider_config_from_shapes,
    pose_guider_on_meta,
    unet_on_meta,
    vae_on_meta,
)

# Facts about the released Moore-AnimateAnyone / TalkingPose checkpoints (names and shapes from their files).
RELEASED_DENOISING_UNET_KEYS = 686
RELEASED_REFERENCE_UNET_KEYS = 682
RELEASED_SHAPES = {
    "conv_in.weight": (320, 4, 3, 3),
    "time_embedding.linear_1.weight": (1280, 320),
    "down_blocks.0.attentions.0.proj_in.weight": (320, 320, 1, 1),
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight": (320, 320),
    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": (320, 768),
    "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight": (10240, 1280),
    "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_out.0.weight": (320, 320),
}
POSE_GUIDER_SHAPES = {
    "conv_in.weight": (16, 3, 3, 3), "blocks.0.weight": (16, 16, 3, 3), "blocks.1.weight": (32, 16, 3, 3),
    "blocks.2.weight": (32, 32, 3, 3), "blocks.3.weight": (96, 32, 3, 3), "blocks.4.weight": (96, 96, 3, 3),
    "blocks.5.weight": (256, 96, 3, 3), "conv_out.weight": (320, 256, 3, 3),
}


@pytest.fixture(scope="module")
def sd15_unet():
    return unet_on_meta(sd15_unet_config(), "sd15")


def sdxl_like_unet_config() -> dict:
    """SDXL's UNet shape family (2048-d cross-attention, 3 levels, 10 transformer layers deep) without its extras."""
    return dict(
        sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=2048, attention_head_dim=(5, 10, 20), transformer_layers_per_block=(1, 2, 10),
        use_linear_projection=True, norm_num_groups=32,
    )


def test_sd15_unet_key_names_and_shapes_match_the_released_files(sd15_unet):
    expected = expected_shapes(sd15_unet)
    assert all(tensor.is_meta for tensor in sd15_unet.state_dict().values())
    assert len(expected) == RELEASED_DENOISING_UNET_KEYS
    for name, shape in RELEASED_SHAPES.items():
        assert expected[name] == shape, name
    reference_file = {k: v for k, v in expected.items() if k not in REFERENCE_UNET_ALLOWED_MISSING}
    assert len(reference_file) == RELEASED_REFERENCE_UNET_KEYS
    check_shapes(expected, expected, "denoising_unet.pth", "SD1.5")  # accepted as is
    check_shapes(reference_file, expected, "reference_unet.pth", "SD1.5", allowed_missing=REFERENCE_UNET_ALLOWED_MISSING)
    with pytest.raises(ModelError, match=r"4 missing keys \(conv_norm_out\.weight, conv_norm_out\.bias, conv_out\.weight, \.\.\.\)"):
        check_shapes(reference_file, expected, "denoising_unet.pth", "SD1.5")  # the gap is allowed for the ReferenceNet only


def test_sd15_pose_guider_has_the_released_layers_and_about_1_09m_parameters():
    guider = pose_guider_on_meta(pose_guider_config_from_shapes(POSE_GUIDER_SHAPES, "pose_guider.pth"), "pose_guider.pth")
    shapes = expected_shapes(guider)
    assert {k: v for k, v in shapes.items() if k.endswith("weight")} == POSE_GUIDER_SHAPES
    assert sorted(shapes) == sorted([f"{n}.{p}" for n in ["conv_in", *(f"blocks.{i}" for i in range(6)), "conv_out"] for p in ("weight", "bias")])
    parameters = sum(torch.Size(shape).numel() for shape in shapes.values())
    assert 1_080_000 < parameters < 1_095_000
    assert guider.config.conditioning_embedding_channels == sd15_unet_config()["block_out_channels"][0]


def test_sd15_clip_and_vae_key_counts_on_meta():
    clip = expected_shapes(clip_on_meta(clip_vit_l14_config(), "image_encoder"))
    assert clip["visual_projection.weight"] == (768, 1024)
    assert clip["vision_model.embeddings.patch_embedding.weight"] == (1024, 3, 14, 14)
    assert not any(name in clip for name in CLIP_IGNORED_UNEXPECTED)  # rebuilt at load; old files may still carry it
    vae = expected_shapes(vae_on_meta(sd_vae_config(), "vae"))
    assert len(vae) == 248 and vae["quant_conv.weight"] == (8, 8, 1, 1) and vae["decoder.conv_out.weight"] == (3, 128, 3, 3)


def test_sdxl_like_weights_against_the_sd15_config_are_refused_in_one_sentence(sd15_unet):
    sdxl = expected_shapes(unet_on_meta(sdxl_like_unet_config(), "sdxl"))
    with pytest.raises(ModelError) as caught:
        check_shapes(sdxl, expected_shapes(sd15_unet), "denoising_unet.pth", "the UNet of stable-diffusion-v1-5/unet/config.json")
    message = str(caught.value)
    assert message.startswith("denoising_unet.pth does not match the UNet of stable-diffusion-v1-5/unet/config.json:")
    assert "missing keys" in message and "unexpected keys" in message and "wrong shapes" in message
    assert "\n" not in message and len(message) < 900
