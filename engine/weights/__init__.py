"""Finding, checking and loading model weights: released layouts, our model folders, the model library.

    load_model("demo" | library name | folder) -> LoadedModel(components, info)
    save_model_folder(components, folder, name, ...)    import_model(path, name=None, fp16=False)
    verify_model(folder) -> problems                    Library().list() / verify / remove
    engine.weights.fetch.fetch(name)  (fails fast offline)  apply_memory_options(components, ...)
"""

from engine.weights.layouts import ReleasedLayout, detect_layout, load_released
from engine.weights.library import Library, default_models_dir, demo_model_dir, import_model, list_models, load_model
from engine.weights.memory import apply_memory_options
from engine.weights.modelfolder import LoadedModel, ModelInfo, load_model_folder, read_model_info, save_model_folder, verify_model
from engine.weights.safe_load import load_state_dict, sha256_file

__all__ = [
    "Library", "LoadedModel", "ModelInfo", "ReleasedLayout", "apply_memory_options", "default_models_dir",
    "demo_model_dir", "detect_layout", "import_model", "list_models", "load_model", "load_model_folder",
    "load_released", "load_state_dict", "read_model_info", "save_model_folder", "sha256_file", "verify_model",
]
