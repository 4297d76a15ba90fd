"""Where the weights of the network metrics come from, and checking the user's files (no torch here).

Networks are needed for LPIPS, FID-VID, FVD, CSIM and SyncNet.

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_ENV = "TPS_METRIC_WEIGHTS"
NETWORK_METRICS = ("lpips", "fid_vid", "fvd", "csim", "syncnet")


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
        return {}, {}, f"{spec.network} is not supported by this version, so {metric} is not computed"
    folder = weights_folder(weights_dir)
    if folder is None:
        return {}, {}, f"no weights folder: pass --weights-dir or set {WEIGHTS_ENV} (files: 'studio-cli eval --list-weights')"
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


def locate_all(names: Sequence[str], weights_dir: str | Path | None = None) -> tuple[dict[str, tuple[dict, dict]], dict[str, str]]:
    """{name: (paths, sha256s)} for metrics whose weights are usable, and {name: why not} for the rest."""
    usable, skipped = {}, {}
    for name in names:
        if name not in NETWORKS:
            skipped[name] = f"unknown metric; known: {', '.join(NETWORK_METRICS)}"
            continue
        paths, hashes, reason = locate_weights(name, weights_dir)
        if reason is None:
            usable[name] = (paths, hashes)
        else:
            skipped[name] = reason
    return usable, skipped


def describe_weights() -> str:
    """Plain-text list of each network metric's files, sources and checksums (for --list-weights)."""
    lines = [f"Put these files in one folder and pass it as --weights-dir or ${WEIGHTS_ENV}:"]
    for spec in NETWORKS.values():
        state = "" if spec.supported else " (not supported by this version)"
        lines.append(f"{spec.metric}: {spec.network}{state}")
        for weight in spec.files:
            checksum = f"sha256 {weight.sha256_prefix}..." if weight.sha256_prefix else "no published checksum"
            lines.append(f"  {weight.name}  from {weight.source}  ({checksum})")
    return "\n".join(lines)

