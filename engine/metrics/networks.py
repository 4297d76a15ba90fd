"""Metrics that need pretrained networks: LPIPS, FID-VID, FVD, CSIM, SyncNet.

We cannot ship or download these weights, so the user points at a folder holding them:
``weights_dir`` argument (``studio-cli eval --weights-dir``) or the ``TPS_METRIC_WEIGHTS``
environment variable. Files keep their published names. A metric whose files are missing,
fail their checksum or cannot be loaded is listed as skipped with the reason; the others run.

=========  ==========================  ======================================================  ==================
metric     file(s) in the folder        where to get it                                         checksum
=========  ==========================  ======================================================  ==================
lpips      vgg16-397923af.pth           https://download.pytorch.org/models/vgg16-397923af.pth  sha256 397923af...
           vgg.pth                      lpips package, lpips/weights/v0.1/vgg.pth               none published
                                        (github.com/richzhang/PerceptualSimilarity)
fvd        i3d_torchscript.pt           StyleGAN-V's FVD detector: https://www.dropbox.com/s/    none published
                                        ge9e5ujwgetktms/i3d_torchscript.pt (TF-Hub I3D port)
fid_vid    resnet-50-kinetics.pth       3D ResNet-50 Kinetics (kenshohara/3D-ResNets-PyTorch),  none published
                                        as in the Disco toolkit's eval_fvd/ folder
csim       backbone.pth                 ArcFace iResNet (insightface arcface_torch model zoo)   none published
syncnet    syncnet_v2.model             joonson/syncnet_python, download_model.sh               none published
=========  ==========================  ======================================================  ==================

This build loads the LPIPS (VGG) and FVD (I3D TorchScript) networks; FID-VID, CSIM and
SyncNet are reported as skipped (their network loaders and face/audio preprocessing are
not built yet) although their arithmetic is in ``engine.metrics.distances``. Every computed
result records the sha256 of the files it used. ``.pth`` files load with
``torch.load(weights_only=True)``; the I3D file is TorchScript (code + weights), so take it
from the source above only.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ModelError
from engine.metrics.distances import frechet_distance_of_features, lpips_distance

WEIGHTS_ENV = "TPS_METRIC_WEIGHTS"
NETWORK_METRICS = ("lpips", "fid_vid", "fvd", "csim", "syncnet")
FVD_CLIP_FRAMES, FVD_SIZE = 16, 224


@dataclass(frozen=True)
class WeightFile:
    name: str
    source: str
    sha256_prefix: str | None = None  # None: its publisher gives no checksum


@dataclass(frozen=True)
class NetworkSpec:
    metric: str
    network: str
    files: tuple[WeightFile, ...]
    supported: bool  # False: this build has no loader yet


NETWORKS = {
    "lpips": NetworkSpec("lpips", "VGG16 + LPIPS v0.1 linear layers", (
        WeightFile("vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth", "397923af"),
        WeightFile("vgg.pth", "lpips package (github.com/richzhang/PerceptualSimilarity), lpips/weights/v0.1/vgg.pth"),
    ), True),
    "fvd": NetworkSpec("fvd", "I3D (Kinetics-400), StyleGAN-V TorchScript", (
        WeightFile("i3d_torchscript.pt", "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt"),), True),
    "fid_vid": NetworkSpec("fid_vid", "3D ResNet-50 (Kinetics)", (
        WeightFile("resnet-50-kinetics.pth", "kenshohara/3D-ResNets-PyTorch (Disco toolkit eval_fvd/)"),), False),
    "csim": NetworkSpec("csim", "ArcFace iResNet", (
        WeightFile("backbone.pth", "insightface arcface_torch model zoo"),), False),
    "syncnet": NetworkSpec("syncnet", "SyncNet v2", (
        WeightFile("syncnet_v2.model", "joonson/syncnet_python download_model.sh"),), False),
}


def weights_folder(weights_dir: str | Path | None = None) -> Path | None:
    """The folder given as argument, else $TPS_METRIC_WEIGHTS, else None."""
    chosen = weights_dir if weights_dir is not None else os.environ.get(WEIGHTS_ENV) or None
    return Path(chosen).expanduser() if chosen is not None else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate_weights(metric: str, weights_dir: str | Path | None = None) -> tuple[dict[str, Path], dict[str, str], str | None]:
    """(name -> path, name -> sha256, None) when all files are present and verified, else ({}, {}, reason)."""
    spec = NETWORKS[metric]
    if not spec.supported:
        return {}, {}, f"computing {metric} with {spec.network} is not available in this version"
    folder = weights_folder(weights_dir)
    if folder is None:
        return {}, {}, f"no weights folder: pass --weights-dir or set {WEIGHTS_ENV} (see engine/metrics/networks.py)"
    paths, hashes = {}, {}
    for weight in spec.files:
        path = folder / weight.name
        if not path.is_file():
            return {}, {}, f"{weight.name} not found in {folder}; get it from {weight.source}"
        digest = sha256_of(path)
        if weight.sha256_prefix and not digest.startswith(weight.sha256_prefix):
            return {}, {}, (f"{weight.name} fails its checksum (sha256 {digest[:12]}..., expected "
                            f"{weight.sha256_prefix}...); download it again from {weight.source}")
        paths[weight.name], hashes[weight.name] = path, digest
    return paths, hashes, None


# ----------------------------------------------------------------------------- LPIPS


class Vgg16Taps(nn.Module):
    """torchvision's VGG16 ``features`` (same indices) up to relu5_3, returning the 5 LPIPS taps."""

    TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    _PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in self._PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
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
    backbone = Vgg16Taps()
    vgg = _load_state_dict(vgg_path)
    conv = {k[len("features."):]: v for k, v in vgg.items() if k.startswith("features.")}
    try:
        backbone.features.load_state_dict(conv, strict=True)
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
                with torch.no_grad():
                    feature = self.extractor(prepare_clip(self._clips[side], self.size, self.device))
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
    metrics: list[NetworkMetric] = []
    skipped: dict[str, str] = {}
    for name in names:
        if name not in NETWORKS:
            skipped[name] = f"unknown metric; known: {', '.join(NETWORK_METRICS)}"
            continue
        paths, hashes, reason = locate_weights(name, weights_dir)
        if reason is not None:
            skipped[name] = reason
            continue
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
