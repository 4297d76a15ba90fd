"""Download a known released model from the Hugging Face Hub into the library (resumable, checksummed).

Files land in ``<library>/.downloads/<name>/`` (huggingface_hub resumes partial files there), each
is checked against the Hub's own sha256 (LFS files) or git blob id (small files), then the set is
imported like any released layout and the download folder is removed. Offline, it fails in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from engine.errors import ModelError
from engine.weights.layouts import ReleasedLayout
from engine.weights.library import Library
from engine.weights.safe_load import sha256_file

DEFAULT_ENDPOINT = "https://huggingface.co"
SD_IMAGE_VARIATIONS = "lambdalabs/sd-image-variations-diffusers"
SD_VAE = "stabilityai/sd-vae-ft-mse"
SD15 = "stable-diffusion-v1-5/stable-diffusion-v1-5"


@dataclass(frozen=True)
class KnownModel:
    kind: str  # the released layout it forms: "talkingpose" or "animate-anyone"
    description: str
    checkpoints_repo: str
    checkpoints_folder: str  # folder inside that repo holding the three .pth files ("" = top level)


KNOWN_MODELS = {
    "talkingpose": KnownModel("talkingpose", "official TalkingPose weights (DFKI, research-only license)", "arjavanmardi/TalkingPose", "weights"),
    "animate-anyone": KnownModel("animate-anyone", "Moore-AnimateAnyone weights (Apache-2.0)", "patrolli/AnimateAnyone", ""),
}


def fetch(name: str, library: Library | None = None, timeout: float = 5.0, endpoint: str | None = None) -> Path:
    """Download the known model ``name`` and import it into the library; returns its model folder."""
    if name not in KNOWN_MODELS:
        raise ModelError(f"no known model named {name!r}; fetch one of: {', '.join(sorted(KNOWN_MODELS))}")
    library = library or Library()
    if library.has(name):
        raise ModelError(f"{name!r} is already in the library; run `studio-cli models verify {name}`, or remove it to fetch it again")
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    model = KNOWN_MODELS[name]
    ensure_online(endpoint, timeout, model.checkpoints_repo)
    downloads = library.root / ".downloads" / name
    checkpoint = [f"{model.checkpoints_folder}/{n}.pth".lstrip("/") for n in ("denoising_unet", "reference_unet", "pose_guider")]
    wanted = {
        model.checkpoints_repo: checkpoint,
        SD_IMAGE_VARIATIONS: ["image_encoder/config.json", "image_encoder/pytorch_model.bin"],
        SD_VAE: ["config.json", "diffusion_pytorch_model.safetensors"],
        SD15: ["unet/config.json"],
    }
    local = {repo: [_download(repo, path, downloads, endpoint, timeout) for path in paths] for repo, paths in wanted.items()}
    layout = ReleasedLayout(
        kind=model.kind,
        root=downloads,
        checkpoints={Path(p).stem: p for p in local[model.checkpoints_repo]},
        image_encoder=local[SD_IMAGE_VARIATIONS][0].parent,
        vae=local[SD_VAE][0].parent,
        unet_config=local[SD15][0],
    )
    folder = library.import_layout(layout, name)
    shutil.rmtree(downloads, ignore_errors=True)  # kept on failure so the next fetch resumes
    return folder


def ensure_online(endpoint: str, timeout: float, repo: str) -> None:
    """Fail fast, with a clear message, when the Hub cannot answer for ``repo``."""
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")):
        raise ModelError(
            "cannot fetch while offline (HF_HUB_OFFLINE is set); unset it, or download the files on another "
            "machine and run `studio-cli models import PATH`"
        )
    answered = threading.Event()
    url = f"{endpoint.rstrip('/')}/api/models/{repo}"

    def probe() -> None:  # name lookup ignores socket timeouts, so the probe runs on a thread we stop waiting for
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                if response.status == 200 and isinstance(json.loads(response.read(1_000_000)), dict):
                    answered.set()
        except (OSError, ValueError, RecursionError):  # refused, dropped, proxy error pages, not JSON, hostile JSON
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    if not answered.is_set():
        raise ModelError(
            f"cannot reach {urlparse(endpoint).hostname} (offline, or a firewall blocks it); connect to the internet, "
            "or download the files on another machine and run `studio-cli models import PATH`"
        )


def _download(repo: str, path_in_repo: str, downloads: Path, endpoint: str, timeout: float) -> Path:
    from huggingface_hub import HfApi, hf_hub_download

    local_dir = downloads / repo.replace("/", "--")
    try:
        local = Path(hf_hub_download(repo, path_in_repo, local_dir=local_dir, endpoint=endpoint, etag_timeout=timeout))
        (remote,) = HfApi(endpoint=endpoint).get_paths_info(repo, [path_in_repo])
    except Exception as error:  # network drop, 404, rate limit: all mean "try again later"
        raise ModelError(
            f"downloading {path_in_repo} from {repo} failed ({type(error).__name__}); run the same fetch again to resume"
        ) from None
    lfs = getattr(remote, "lfs", None)
    matches = sha256_file(local) == lfs.sha256 if lfs is not None else _git_blob_id(local) == remote.blob_id
    if not matches:
        local.unlink(missing_ok=True)
        raise ModelError(f"{path_in_repo} from {repo} arrived corrupt (checksum mismatch); run the same fetch again")
    return local


def _git_blob_id(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
