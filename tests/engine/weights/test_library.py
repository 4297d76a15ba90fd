"""The model library and our model folder format: import -> list -> verify -> render -> remove, and its rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from engine.errors import ModelError, OutputError
from engine.models.components import Components
from engine.weights import Library, import_model, list_models, load_model, read_model_info, save_model_folder, verify_model
from engine.weights import library as library_module


def test_library_round_trip_import_list_verify_render_remove(released, tmp_path, reference_frames, rgb, render):
    library = Library(tmp_path / "library")
    folder = import_model(released, name="moore", library=library)
    assert folder == tmp_path / "library" / "moore"
    [info] = library.list()
    assert (info.name, info.resolution, info.dtype, info.problem) == ("moore", (512, 768), "fp32", "")
    assert info.architecture == "animate-anyone-custom" and info.license == "Apache-2.0"
    assert set(info.files) >= {"denoising_unet/diffusion_pytorch_model.safetensors", "image_encoder/model.safetensors", "scheduler/scheduler_config.json"}
    assert library.verify("moore") == []
    loaded = load_model("moore", library=library)
    assert loaded.info.name == "moore"
    frames = render(loaded.components, rgb)
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference_frames))
    library.remove("moore")
    assert library.list() == [] and not folder.exists()
    with pytest.raises(ModelError, match=r"no model named 'moore' in .*studio-cli models list"):
        library.remove("moore")


def test_fp16_import_halves_the_files_and_loads_in_the_requested_dtype(released, tmp_path, fresh_components):
    library = Library(tmp_path / "library")
    full = import_model(released, name="full", library=library)
    half = import_model(released, name="half", fp16=True, library=library)
    file = "denoising_unet/diffusion_pytorch_model.safetensors"
    with safe_open(str(half / file), framework="pt") as handle:
        assert handle.get_tensor("conv_in.weight").dtype == torch.float16
    ratio = (half / file).stat().st_size / (full / file).stat().st_size
    assert 0.45 < ratio < 0.6
    assert read_model_info(half).dtype == "fp16" and library.verify("half") == []
    loaded = load_model("half", library=library, dtype=torch.float32).components
    assert loaded.denoising_unet.conv_in.weight.dtype == torch.float32
    original = fresh_components().denoising_unet.conv_in.weight
    assert torch.equal(loaded.denoising_unet.conv_in.weight, original.half().float())


def test_save_model_folder_round_trips_and_opens_with_components_from_pretrained(tmp_path, fresh_components):
    components = fresh_components()
    folder = save_model_folder(components, tmp_path / "mine", "mine", resolution=(256, 384), defaults={"steps": 20}, notes="trained on puppets")
    data = json.loads((folder / "model.json").read_text())
    assert data["format_version"] == 1 and data["resolution"] == [256, 384] and data["defaults"] == {"steps": 20}
    assert data["notes"] == "trained on puppets" and data["scheduler"] == components.scheduler_config
    assert verify_model(folder) == []
    assert not list(tmp_path.glob(".mine.*"))  # the staging folder is gone
    for loaded in (load_model(folder).components, Components.from_pretrained(folder)):
        for name, module in components.modules().items():
            mine, theirs = getattr(loaded, name).state_dict(), module.state_dict()
            assert all(torch.equal(mine[k], theirs[k]) for k in theirs), name
    again = save_model_folder(components, folder, "mine", dtype=torch.float16)  # replacing a model folder is allowed
    assert read_model_info(again).dtype == "fp16" and components.denoising_unet.dtype == torch.float32
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(OutputError, match="already exists and is not a model folder"):
        save_model_folder(components, tmp_path / "notes", "x")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"


def test_importing_a_model_folder_copies_and_renames_it(tmp_path, fresh_components):
    save_model_folder(fresh_components(), tmp_path / "shared-model", "original")
    library = Library(tmp_path / "library")
    folder = library.import_(tmp_path / "shared-model", name="copy")
    assert read_model_info(folder).name == "copy" and library.verify("copy") == []
    with pytest.raises(ModelError, match=r"a model named 'copy' is already in the library; remove it first or pick another name"):
        library.import_(tmp_path / "shared-model", name="copy")


def test_library_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TALKINGPOSE_MODELS_DIR", raising=False)
    monkeypatch.setenv("TALKINGPOSE_DATA_DIR", str(tmp_path / "data"))
    assert Library().root == tmp_path / "data" / "models"
    monkeypatch.setenv("TALKINGPOSE_MODELS_DIR", str(tmp_path / "models"))
    assert Library().root == tmp_path / "models"
    assert Library(tmp_path / "setting").root == tmp_path / "setting"


def test_names_and_lookups_fail_with_one_clear_sentence(tmp_path, monkeypatch, released):
    library = Library(tmp_path / "library")
    with pytest.raises(ModelError, match=r"'\.\./x' is not a usable model name"):
        library.import_(released, name="../x")
    with pytest.raises(ModelError, match=r"'demo' is reserved for the bundled demo model"):
        library.import_(released, name="demo")
    with pytest.raises(ModelError, match=r"no model named 'nothing' in .* and no such folder"):
        load_model("nothing", library=library)
    monkeypatch.setattr(library_module, "demo_model_dir", lambda: tmp_path / "no-demo")
    with pytest.raises(ModelError, match=r"the bundled demo model is missing from .*no-demo; reinstall TalkingPose Studio"):
        load_model("demo", library=library)
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelError, match=r"is neither a model folder \(no model.json\) nor a released"):
        load_model(tmp_path / "plain", library=library)


def test_demo_resolves_to_the_bundled_folder_and_is_listed_first(tmp_path, monkeypatch, fresh_components):
    demo = save_model_folder(fresh_components(), tmp_path / "resources" / "demo", "demo", resolution=(256, 256))
    monkeypatch.setattr(library_module, "demo_model_dir", lambda: demo)
    library = Library(tmp_path / "library")
    (library.root / "broken").mkdir(parents=True)
    names = [(info.name, bool(info.problem)) for info in list_models(library)]
    assert names == [("demo", False), ("broken", True)]
    assert load_model("demo", library=library).info.folder == demo
