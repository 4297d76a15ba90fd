"""Hostile and broken files: a pickle that runs code, missing, truncated, mis-shaped and bit-flipped files."""

from __future__ import annotations

import json

import pytest
import torch

from engine.errors import ModelError
from engine.weights import Library, import_model, load_model, load_state_dict, verify_model


class WritesMarker:
    """Unpickling this calls exec, which creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def write_malicious_checkpoint(path, marker):
    torch.save({"conv_in.weight": torch.zeros(16, 3, 3, 3), "payload": WritesMarker(marker)}, path)


def test_the_payload_really_runs_code_when_unpickled_unsafely(tmp_path):
    """Guard for the next test: without weights_only this file does write the marker."""
    marker = tmp_path / "marker"
    write_malicious_checkpoint(tmp_path / "evil.pth", marker)
    torch.load(tmp_path / "evil.pth", weights_only=False)
    assert marker.read_text() == "ran"


def test_a_pickle_with_code_is_refused_and_nothing_runs(released, tmp_path):
    marker = tmp_path / "marker"
    file = released / "pretrained_weights" / "pose_guider.pth"
    write_malicious_checkpoint(file, marker)
    with pytest.raises(ModelError) as caught:
        load_model(released)
    assert str(caught.value) == f"{file} contains code or objects, not just tensors; refusing to load it"
    assert not marker.exists()
    with pytest.raises(ModelError, match="refusing to load it"):
        import_model(released, library=Library(tmp_path / "library"))
    assert not marker.exists()
    assert not (tmp_path / "library" / "moore-animateanyone").exists()


def test_a_pickled_non_tensor_is_refused(tmp_path):
    file = tmp_path / "weights.pth"
    torch.save({"conv_in.weight": torch.zeros(1), "step": 1000}, file)
    with pytest.raises(ModelError, match=r"weights\.pth holds 1 entries that are not tensors \(e\.g\. 'step'\)"):
        load_state_dict(file)


def test_missing_checkpoint_names_the_file(released):
    file = released / "pretrained_weights" / "reference_unet.pth"
    file.unlink()
    with pytest.raises(ModelError, match=rf"^{file} is missing; download it with the other checkpoints"):
        load_model(released)


def test_truncated_checkpoint_names_the_file(released):
    file = released / "pretrained_weights" / "denoising_unet.pth"
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as caught:
        load_model(released)
    assert str(caught.value) == f"{file} is truncated or corrupt; download it again"


def test_truncated_safetensors_in_a_base_folder_names_the_file(released):
    file = released / "pretrained_weights" / "sd-vae-ft-mse" / "diffusion_pytorch_model.safetensors"
    file.write_bytes(file.read_bytes()[:-100])
    with pytest.raises(ModelError, match=rf"^{file} is truncated or corrupt; download it again$"):
        load_model(released)


def test_weights_of_another_architecture_are_refused_naming_file_and_shapes(released):
    config_file = released / "pretrained_weights" / "stable-diffusion-v1-5" / "unet" / "config.json"
    config = json.loads(config_file.read_text())
    config["block_out_channels"] = [16, 32]  # the config of a wider UNet than the weights were trained as
    config_file.write_text(json.dumps(config))
    with pytest.raises(ModelError) as caught:
        load_model(released)
    message = str(caught.value)
    assert message.startswith(f"{released / 'pretrained_weights' / 'reference_unet.pth'} does not match the UNet of {config_file}")
    assert "wrong shapes (conv_in.weight is 8x4x3x3 but should be 16x4x3x3" in message
    assert "\n" not in message


def test_pose_guider_for_another_unet_width_is_refused(released):
    file = released / "pretrained_weights" / "pose_guider.pth"
    state = torch.load(file, weights_only=True)
    state["conv_out.weight"], state["conv_out.bias"] = torch.zeros(320, 8, 3, 3), torch.zeros(320)
    torch.save(state, file)
    with pytest.raises(ModelError, match=r"pose_guider\.pth makes 320-channel features but the UNet's first block has 8 channels"):
        load_model(released)


def test_flipped_byte_is_caught_by_the_checksum_naming_the_file(released, tmp_path):
    library = Library(tmp_path / "library")
    folder = import_model(released, name="flip", library=library)
    file = folder / "denoising_unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(file.read_bytes())
    data[len(data) - 10] ^= 0x01  # inside the tensor data: the file still parses, only the hash can tell
    file.write_bytes(bytes(data))
    expected = f"{file} is corrupt (its sha256 does not match model.json); re-import or re-fetch it"
    assert verify_model(folder) == [expected]
    assert library.verify("flip") == [expected]
    with pytest.raises(ModelError) as caught:
        load_model("flip", library=library)
    assert str(caught.value) == expected
    file.unlink()
    assert verify_model(folder) == [f"{file} is missing; re-import or re-fetch it"]


def test_damaged_model_json_is_reported_not_raised_by_verify(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{not json")
    assert verify_model(tmp_path / "model") == [
        f"{tmp_path / 'model' / 'model.json'} (the model description) is not valid JSON "
        "(Expecting property name enclosed in double quotes at line 1, column 2); re-import or re-fetch the model"
    ]
