"""Metrics that need pretrained networks: loaders and streaming collectors (see weights.py for files).

This build loads LPIPS (torchvision VGG16 + lpips v0.1 linear layers) and FVD (StyleGAN-V's
I3D TorchScript: clips (B, 3, 16, 224, 224) in [-1, 1], shorter side resized then centre
crop). FID-VID, CSIM and SyncNet are reported as skipped; their arithmetic is in
``engine.metrics.distances``. ``.pth`` files load with ``torch.load(weights_only=True)``; the
I3D file is TorchScript (code + weights), so take it from the documented source only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ModelError
from engine.metrics.distances import frechet_distance_of_features, lpips_distance
from engine.metrics.weights import NETWORK_METRICS, locate_all

FVD_CLIP_FRAMES, FVD_SIZE = 16, 224


# ----------------------------------------------------------------------------- LPIPS


class Vgg16Taps(nn.Module):
    """torchvision's VGG16 ``features`` (same indices) up to relu5_3, returning the 5 LPIPS taps."""

    TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    _PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)

    def __init__(self, device: str | torch.device | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in self._PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1, device=device), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        # LPIPS's input scaling from [-1, 1] to ImageNet-like statistics.
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = (x - self.shift) / self.scale
        taps = []
        for index, layer in enumerate(self.features):
            h = layer(h)
            if index in self.TAPS:
                taps.append(h)
        return taps


class LpipsNetwork:
    """A feature backbone (image in [-1, 1] -> list of feature maps) plus per-layer channel weights."""

    def __init__(self, backbone: Callable[[torch.Tensor], list[torch.Tensor]], channel_weights: Sequence[torch.Tensor],
                 device: str = "cpu") -> None:
        self.backbone = backbone.to(device).eval() if isinstance(backbone, nn.Module) else backbone
        self.channel_weights = [w.detach().reshape(-1).to(device) for w in channel_weights]
        self.device = device

    @torch.no_grad()
    def distance(self, real: np.ndarray, generated: np.ndarray) -> float:
        """LPIPS of two HxWx3 uint8 RGB frames (0 for identical frames)."""
        a, b = (_frames_to_tensor([img], self.device) for img in (real, generated))
        return float(lpips_distance(self.backbone(a), self.backbone(b), self.channel_weights)[0])


def load_lpips_vgg(vgg_path: Path, lin_path: Path, device: str = "cpu") -> LpipsNetwork:
    """LPIPS-VGG from torchvision's VGG16 state dict and the lpips v0.1 ``vgg.pth`` linear weights."""
    backbone = Vgg16Taps(device="meta")  # no random init of 14.7M parameters that are replaced at once
    vgg = _load_state_dict(vgg_path)
    conv = {k[len("features."):]: v for k, v in vgg.items() if k.startswith("features.")}
    try:
        backbone.features.load_state_dict(conv, strict=True, assign=True)
        lin = _load_state_dict(lin_path)
        weights = [lin[f"lin{i}.model.1.weight"] for i in range(len(Vgg16Taps.TAPS))]
    except (RuntimeError, KeyError) as exc:
        raise ModelError(f"{vgg_path.name} / {lin_path.name} do not match LPIPS-VGG ({type(exc).__name__}); "
                         "download them again from the sources in engine/metrics/networks.py") from None
    return LpipsNetwork(backbone, weights, device)


# ----------------------------------------------------------------------------- FVD


def load_i3d_torchscript(path: Path, device: str = "cpu") -> Callable[[torch.Tensor], torch.Tensor]:
    """StyleGAN-V's I3D: clips (B, 3, T, 224, 224) in [-1, 1] -> (B, 400) features before softmax."""
    try:
        with warnings.catch_warnings():  # the published detector is TorchScript; its deprecation is not the user's concern
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:  # TorchScript raises several unrelated types on a bad archive
        raise ModelError(f"{path.name} is not a TorchScript I3D model ({type(exc).__name__}); download it again") from None
    return lambda clips: model(clips, rescale=False, resize=False, return_features=True)


def prepare_clip(frames: Sequence[np.ndarray], size: int = FVD_SIZE, device: str = "cpu") -> torch.Tensor:
    """Frames -> (1, 3, T, size, size) in [-1, 1]: shorter side resized to ``size`` (bilinear), centre crop."""
    video = _frames_to_tensor(frames, device)  # (T, 3, H, W)
    height, width = video.shape[-2:]
    scale = size / min(height, width)
    target = (size, int(np.ceil(width * scale))) if height <= width else (int(np.ceil(height * scale)), size)
    video = F.interpolate(video, size=target, mode="bilinear", align_corners=False)
    top, left = (video.shape[-2] - size) // 2, (video.shape[-1] - size) // 2
    video = video[..., top:top + size, left:left + size]
    return video.permute(1, 0, 2, 3).unsqueeze(0).contiguous()


# ----------------------------------------------------------------------------- streaming metrics


class NetworkMetric(Protocol):
    name: str

    def add(self, real: np.ndarray, generated: np.ndarray) -> None: ...

    def result(self) -> dict: ...


class LpipsMetric:
    """Mean LPIPS over frame pairs."""

    def __init__(self, network: LpipsNetwork, weights_sha256: dict[str, str] | None = None) -> None:
        self.name, self.network, self.hashes = "lpips", network, weights_sha256 or {}
        self._total, self._frames = 0.0, 0

    def add(self, real: np.ndarray, generated: np.ndarray) -> None:
        self._total += self.network.distance(real, generated)
        self._frames += 1

    def result(self) -> dict:
        return {"value": self._total / self._frames if self._frames else None, "frames": self._frames,
                "method": "LPIPS (VGG, v0.1), inputs in [-1, 1], mean over frames", "weights_sha256": self.hashes}


class ClipFrechetMetric:
    """Fréchet distance between the features of consecutive non-overlapping clips of each video.

    One real/generated pair gives one sample per ``clip_frames`` frames, so a value needs at
    least 2 clips. (Dataset-level FVD as in the paper pools clips of many videos.)
    """

    def __init__(self, name: str, extractor: Callable[[torch.Tensor], torch.Tensor], *, clip_frames: int = FVD_CLIP_FRAMES,
                 size: int = FVD_SIZE, device: str = "cpu", weights_sha256: dict[str, str] | None = None) -> None:
        self.name, self.extractor, self.clip_frames, self.size, self.device = name, extractor, clip_frames, size, device
        self.hashes = weights_sha256 or {}
        self._clips: tuple[list, list] = ([], [])
        self._features: tuple[list, list] = ([], [])

    def add(self, real: np.ndarray, generated: np.ndarray) -> None:
        for side, frame in enumerate((real, generated)):
            self._clips[side].append(frame)
            if len(self._clips[side]) == self.clip_frames:
                try:
                    with torch.no_grad():
                        feature = self.extractor(prepare_clip(self._clips[side], self.size, self.device))
                except RuntimeError as exc:  # a different network than documented, or out of memory
                    raise ModelError(f"the {self.name} network failed on a {self.clip_frames}-frame clip "
                                     f"({str(exc).splitlines()[0][:120]}); check its weights file") from None
                self._features[side].append(feature.reshape(-1).double().cpu().numpy())
                self._clips[side].clear()

    def result(self) -> dict:
        clips = min(len(self._features[0]), len(self._features[1]))
        value = None
        if clips >= 2:
            value = frechet_distance_of_features(np.stack(self._features[0][:clips]), np.stack(self._features[1][:clips]))
        note = "" if value is not None else f" (needs at least {2 * self.clip_frames} frames)"
        return {"value": value, "clips": clips, "weights_sha256": self.hashes,
                "method": f"Fréchet distance of {self.clip_frames}-frame clip features, {self.size}px{note}"}


def open_network_metrics(
    names: Sequence[str] = NETWORK_METRICS, weights_dir: str | Path | None = None, device: str = "cpu"
) -> tuple[list[NetworkMetric], dict[str, str]]:
    """Ready-to-feed metrics for the names whose weights are usable, and {name: why skipped} for the rest."""
    usable, skipped = locate_all(names, weights_dir)
    metrics, failed = build_network_metrics(usable, device)
    return metrics, {**skipped, **failed}


def build_network_metrics(usable: dict[str, tuple[dict, dict]], device: str = "cpu") -> tuple[list[NetworkMetric], dict[str, str]]:
    """Load the networks of ``locate_all``'s usable metrics; a file that fails to load is skipped with why."""
    metrics: list[NetworkMetric] = []
    skipped: dict[str, str] = {}
    for name, (paths, hashes) in usable.items():
        try:
            if name == "lpips":
                metrics.append(LpipsMetric(load_lpips_vgg(paths["vgg16-397923af.pth"], paths["vgg.pth"], device), hashes))
            elif name == "fvd":
                extractor = load_i3d_torchscript(paths["i3d_torchscript.pt"], device)
                metrics.append(ClipFrechetMetric("fvd", extractor, device=device, weights_sha256=hashes))
        except ModelError as exc:
            skipped[name] = str(exc)
    return metrics, skipped


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors come in many types
        raise ModelError(f"{path.name} is not a readable weights file ({type(exc).__name__}); download it again") from None
    if not isinstance(state, dict):
        raise ModelError(f"{path.name} does not hold a state dict; download it again")
    return state


def _frames_to_tensor(frames: Sequence[np.ndarray], device: str) -> torch.Tensor:
    """HxWx3 uint8 frames -> (T, 3, H, W) float32 in [-1, 1]."""
    array = np.stack([np.asarray(f) for f in frames]).astype(np.float32)
    return torch.from_numpy(array).permute(0, 3, 1, 2).to(device) / 127.5 - 1.0
