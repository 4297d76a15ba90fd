"""Classes 2 and 9: import and verify open every weights file and check it against the model's configs;
a model.json with unusable values is a model error (exit 3) that names model.json."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.reliability.conftest import edit_model_json, rehash

VAE_WEIGHTS = "vae/diffusion_pytorch_model.safetensors"


def _reshape_one(path):
    tensors = load_file(str(path))
    name = next(name for name, tensor in tensors.items() if tensor.dim() == 4)
    tensors[name] = tensors[name].reshape(tensors[name].shape[0], -1, 1, 1).contiguous()
    save_file(tensors, str(path))
    return name


def _drop_one(path):
    tensors = load_file(str(path))
    name = sorted(tensors)[0]
    del tensors[name]
    save_file(tensors, str(path))
    return name


def _cast_one(path):
    tensors = load_file(str(path))
    name = next(name for name, tensor in tensors.items() if tensor.is_floating_point())
    tensors[name] = tensors[name].to(dtype=torch.int32)
    save_file(tensors, str(path))
    return name


def _cut_in_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return "truncated or corrupt"


def _huge_header(path):
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 2**62) + data[8:])
    return "truncated or corrupt"


@pytest.mark.parametrize(
    "damage, expect",
    [(_reshape_one, "wrong shapes"), (_drop_one, "missing keys"), (_cast_one, "int32"),
     (_cut_in_half, None), (_huge_header, None)],
    ids=["reshaped tensor", "missing VAE key", "integer weights", "cut in half", "header length 2^62"],
)
def test_import_and_verify_refuse_weights_that_do_not_fit(model_folder, tmp_path, cli, damage, expect):
    weights = model_folder / VAE_WEIGHTS
    named = damage(weights)
    rehash(model_folder)  # the forger keeps the checksums consistent: only a look inside finds the problem
    library = tmp_path / "library"

    code, out, errors = cli("models", "--library", library, "import", model_folder, "--name", "x")
    assert code == 3 and len(errors) == 1, errors
    assert str(weights) in errors[0]
    assert (expect or named) in errors[0] and (expect is None or named in errors[0])
    assert "imported" not in out and not (library / "x").exists()

    code, out, errors = cli("models", "verify", model_folder)
    assert code == 3 and len(errors) == 1 and "all files intact" not in out
    assert str(weights) in out


def test_an_intact_model_still_imports_and_verifies(model_folder, tmp_path, cli):
    code, out, errors = cli("models", "--library", tmp_path / "library", "import", model_folder, "--name", "x")
    assert (code, errors) == (0, []) and "checked keys, shapes and checksums" in out
    code, out, errors = cli("models", "--library", tmp_path / "library", "verify", "x")
    assert (code, errors, out.strip()) == (0, [], "x: all files intact")


@pytest.mark.parametrize(
    "changes, field",
    [({"resolution": [0, 0]}, "resolution"), ({"defaults": {"steps": "many"}}, "defaults.steps"),
     ({"defaults": {"cfg": float("inf")}}, "defaults.cfg"), ({"dtype": "fp8"}, "dtype")],
    ids=["resolution 0x0", "steps many", "cfg inf", "dtype fp8"],
)
def test_unusable_model_json_values_are_model_errors_naming_it(model_folder, tmp_path, cli, changes, field):
    edit_model_json(model_folder, **changes)

    code, out, errors = cli("models", "--library", tmp_path / "library", "import", model_folder, "--name", "x")

    assert code == 3 and len(errors) == 1
    assert f"{model_folder / 'model.json'}: {field} " in errors[0]
    assert not (tmp_path / "library" / "x").exists()


def test_header_reader_agrees_with_safetensors(model_folder):
    import torch

    from engine.weights.safe_load import read_tensor_specs

    path = model_folder / VAE_WEIGHTS
    specs = read_tensor_specs(path)
    tensors = load_file(str(path))
    assert specs == {name: (tensor.dtype, tuple(tensor.shape)) for name, tensor in tensors.items()}
    pickled = model_folder / "weights.pth"
    torch.save(tensors, pickled)
    assert read_tensor_specs(pickled) == specs


def test_weights_that_model_json_does_not_list_are_refused(model_folder, tmp_path, cli):
    # listing only the configs would let an import copy no weights and a load read unchecked ones
    rehash(model_folder)
    data = json.loads((model_folder / "model.json").read_text())
    del data["files"][VAE_WEIGHTS]
    (model_folder / "model.json").write_text(json.dumps(data))

    code, _, errors = cli("models", "--library", tmp_path / "library", "import", model_folder, "--name", "x")

    assert code == 3 and len(errors) == 1 and f"{model_folder / VAE_WEIGHTS} is not listed in model.json" in errors[0]
