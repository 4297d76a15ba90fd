"""Build each learned module from its config on the meta device, check a checkpoint against it, load it.

Building on the meta device costs no memory and no random initialisation, so the full SD1.5-sized
architecture can be checked key by key before a single weight is read into place. Loading then
*assigns* the checkpoint's tensors to the module (no second copy).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Iterator

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from engine.errors import ModelError
from engine.models.pose_guider import PoseGuider
from engine.textfiles import load_json
from engine.weights.safe_load import load_state_dict, read_shapes, read_tensor_specs

# Released reference_unet.pth files lack the output head, which the ReferenceNet never uses.
REFERENCE_UNET_ALLOWED_MISSING = ("conv_norm_out.weight", "conv_norm_out.bias", "conv_out.weight", "conv_out.bias")
# Older transformers saved this index buffer; today it is rebuilt on load, so it may be present or not.
CLIP_IGNORED_UNEXPECTED = ("vision_model.embeddings.position_ids",)
DIFFUSERS_WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
TRANSFORMERS_WEIGHT_NAMES = ("model.safetensors", "pytorch_model.bin")
_SHOWN = 3  # how many offending names one message lists


def expected_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Every state-dict name the module needs, with its shape (works on the meta device)."""
    return {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}


def check_shapes(
    found: dict[str, tuple[int, ...]],
    expected: dict[str, tuple[int, ...]],
    file: Path | str,
    against: str,
    allowed_missing: Iterable[str] = (),
    ignored_unexpected: Iterable[str] = (),
) -> None:
    """Raise one ModelError naming missing, unexpected and wrongly shaped keys (first few + counts)."""
    allowed, ignored = set(allowed_missing), set(ignored_unexpected)
    missing = [name for name in expected if name not in found and name not in allowed]
    unexpected = [name for name in found if name not in expected and name not in ignored]
    wrong = [name for name in expected if name in found and tuple(found[name]) != tuple(expected[name])]
    if not (missing or unexpected or wrong):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({_first(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({_first(unexpected)})")
    if wrong:
        shown = ", ".join(f"{name} is {_shape(found[name])} but should be {_shape(expected[name])}" for name in wrong[:_SHOWN])
        parts.append(f"{len(wrong)} wrong shapes ({shown}{', ...' if len(wrong) > _SHOWN else ''})")
    raise ModelError(
        f"{file} does not match {against}: {'; '.join(parts)}; use the checkpoint made for this architecture "
        "(an SD1.5-based AnimateAnyone/TalkingPose model) together with its own config"
    )


def assign_weights(module: torch.nn.Module, state_dict: dict[str, torch.Tensor], allowed_missing: Iterable[str] = ()) -> torch.nn.Module:
    """Put checked tensors into a meta-built module; allowed-missing ones become zeros (ones for norm scales)."""
    expected = expected_shapes(module)
    filled = {name: tensor for name, tensor in state_dict.items() if name in expected}
    reference_dtype = next(iter(filled.values())).dtype if filled else torch.float32
    for name in allowed_missing:
        if name in expected and name not in filled:
            fill = torch.ones if name.endswith("norm_out.weight") else torch.zeros
            filled[name] = fill(expected[name], dtype=reference_dtype)
    module.load_state_dict(filled, strict=True, assign=True)
    return module.eval()


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence library progress bars and info logs while loading (the CLI prints its own lines)."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    old_transformers, old_diffusers = transformers_logging.get_verbosity(), diffusers_logging.get_verbosity()
    bars_were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    diffusers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(old_transformers)
        diffusers_logging.set_verbosity(old_diffusers)
        if bars_were_on:
            transformers_logging.enable_progress_bar()


# -- building on the meta device -------------------------------------------------------------------
def read_config(path: Path, what: str) -> dict:
    """A config.json as a dict; a missing or broken one is a ModelError naming it."""
    if not path.is_file():
        raise ModelError(f"{path} is missing; it holds the {what} configuration, so copy it from the model's release")
    config = load_json(path, what=f"the {what} configuration", error=ModelError, fix="download it again")
    if not isinstance(config, dict):
        raise ModelError(f"{path} is not a config object; download it again")
    return config


def unet_on_meta(config: dict, source: Path | str) -> UNet2DConditionModel:
    return _on_meta(lambda: UNet2DConditionModel.from_config(config), source, "a UNet2DConditionModel")


def vae_on_meta(config: dict, source: Path | str) -> AutoencoderKL:
    return _on_meta(lambda: AutoencoderKL.from_config(config), source, "an AutoencoderKL")


def clip_on_meta(config: dict, source: Path | str) -> CLIPVisionModelWithProjection:
    fields = {k: v for k, v in config.items() if not k.startswith("_") and k not in ("architectures", "transformers_version")}
    return _on_meta(lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**fields)), source, "a CLIP vision model")


def pose_guider_config_from_shapes(shapes: dict[str, tuple[int, ...]], file: Path | str) -> dict:
    """The Pose Guider's architecture is fixed up to its widths, which the checkpoint's shapes give."""
    try:
        widths = [shapes["conv_in.weight"][0]]
        block = 1
        while f"blocks.{block}.weight" in shapes:
            widths.append(shapes[f"blocks.{block}.weight"][0])
            block += 2
        return dict(
            conditioning_channels=shapes["conv_in.weight"][1],
            block_out_channels=tuple(widths),
            conditioning_embedding_channels=shapes["conv_out.weight"][0],
        )
    except (KeyError, IndexError):
        raise ModelError(
            f"{file} is not a Pose Guider checkpoint (it needs conv_in, blocks.0-5 and conv_out weights); "
            "use the pose_guider.pth released with the model"
        ) from None


def pose_guider_on_meta(config: dict, source: Path | str) -> PoseGuider:
    return _on_meta(lambda: PoseGuider(**config), source, "a Pose Guider")


def _on_meta(build, source: Path | str, what: str):
    try:
        with torch.device("meta"), quiet_loading():
            return build()
    except Exception as error:
        raise ModelError(f"{source} does not describe {what} ({type(error).__name__}: {error}); use the config released with the model") from None


# -- folders in the diffusers / transformers layout -------------------------------------------------
def weights_file(folder: Path, names: tuple[str, ...], what: str) -> Path:
    """The folder's weights file, safetensors first."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise ModelError(f"{folder} has no {what} weights ({' or '.join(names)}); download that folder again")


def diffusers_folder_on_meta(kind: str, folder: Path) -> tuple[torch.nn.Module, Path]:
    """A UNet / VAE / Pose Guider folder's module built on the meta device from its config.json, and its weights file."""
    builders = {"unet": unet_on_meta, "vae": vae_on_meta, "pose_guider": pose_guider_on_meta}
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder} is missing; re-import or re-fetch the model")
    config = read_config(folder / "config.json", kind)
    if kind == "pose_guider":
        config = {k: v for k, v in config.items() if not k.startswith("_")}
    return builders[kind](config, folder / "config.json"), weights_file(folder, DIFFUSERS_WEIGHT_NAMES, kind)


def load_diffusers_folder(kind: str, folder: Path, allowed_missing: Iterable[str] = ()) -> torch.nn.Module:
    """Load a UNet / VAE / Pose Guider saved with ``save_pretrained``: config.json + weights."""
    module, file = diffusers_folder_on_meta(kind, folder)
    state_dict = load_state_dict(file)
    check_shapes(_shapes_of(state_dict), expected_shapes(module), file, f"the config in {Path(folder) / 'config.json'}", allowed_missing)
    return assign_weights(module, state_dict, allowed_missing)


def check_diffusers_folder(kind: str, folder: Path, dtype: torch.dtype | None = None) -> None:
    """Check a UNet / VAE / Pose Guider folder's weights (keys, shapes, dtypes) from the file's header alone.

    Args:
        kind: "unet", "vae" or "pose_guider".
        folder: the component's folder (config.json + weights).
        dtype: the floating dtype the weights must be stored in (None: any floating dtype).
    """
    module, file = diffusers_folder_on_meta(kind, folder)
    check_weights_file(file, module, f"the config in {Path(folder) / 'config.json'}", dtype)


def check_clip_folder(folder: Path, dtype: torch.dtype | None = None) -> None:
    """Like :func:`check_diffusers_folder` for the CLIP image encoder folder."""
    module, file, config_path = _clip_on_meta_and_file(Path(folder))
    check_weights_file(file, module, f"the config in {config_path}", dtype, ignored_unexpected=CLIP_IGNORED_UNEXPECTED)


def check_weights_file(
    file: Path, module: torch.nn.Module, against: str, dtype: torch.dtype | None = None, ignored_unexpected: Iterable[str] = ()
) -> None:
    """Raise a ModelError naming the file and key when the file's tensors do not fit ``module`` (built on meta).

    Only the file's header is read (see :func:`read_tensor_specs`), so truncated files are refused too.
    """
    specs = read_tensor_specs(file)
    check_shapes({name: shape for name, (_, shape) in specs.items()}, expected_shapes(module), file, against,
                 ignored_unexpected=ignored_unexpected)
    for name, tensor in module.state_dict().items():
        found = specs[name][0]
        if tensor.is_floating_point():
            fits = found.is_floating_point and (dtype is None or found == dtype)
            wanted = str(dtype or "a floating-point dtype").replace("torch.", "")
        else:
            fits, wanted = found == tensor.dtype, str(tensor.dtype).replace("torch.", "")
        if not fits:
            raise ModelError(
                f"{file} stores {name} as {str(found).replace('torch.', '')} but the model needs {wanted}; "
                "re-import or re-fetch the model"
            )


def load_clip_folder(folder: Path) -> CLIPVisionModelWithProjection:
    """Load a transformers CLIPVisionModelWithProjection folder after checking its weights' names and shapes."""
    folder = Path(folder)
    module, file, config_path = _clip_on_meta_and_file(folder)
    check_shapes(read_shapes(file), expected_shapes(module), file, f"the config in {config_path}", ignored_unexpected=CLIP_IGNORED_UNEXPECTED)
    try:
        with quiet_loading():
            model = CLIPVisionModelWithProjection.from_pretrained(folder, use_safetensors=file.suffix == ".safetensors")
    except Exception as error:
        raise ModelError(f"{folder} could not be loaded as a CLIP image encoder ({type(error).__name__}); download that folder again") from None
    return model.eval()


def _clip_on_meta_and_file(folder: Path) -> tuple[torch.nn.Module, Path, Path]:
    if not folder.is_dir():
        raise ModelError(f"{folder} is missing; it should hold the CLIP image encoder (config.json + weights)")
    config_path = folder / "config.json"
    module = clip_on_meta(read_config(config_path, "image encoder"), config_path)
    return module, weights_file(folder, TRANSFORMERS_WEIGHT_NAMES, "image encoder"), config_path


def _shapes_of(state_dict: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in state_dict.items()}


def _first(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape) or "scalar"
