"""The arithmetic behind the network-based metrics, independent of any particular network.

- Fréchet distance of two Gaussians fitted to feature sets (FID-VID, FVD).
- LPIPS-style distance: per-layer channel-normalised features, squared difference, a
  non-negative weight per channel, spatial mean, sum over layers (Zhang et al. 2018).
- Mean cosine similarity of identity embeddings (CSIM with ArcFace).
- SyncNet's audio-video offset and confidence from per-frame embeddings (Chung & Zisserman 2016).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from engine.errors import InputError


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and sample covariance (D, D) of an (N, D) feature set, N >= 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise InputError(f"a Fréchet distance needs at least 2 feature vectors, got array of shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for two Gaussians.

    Tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric matrix S1^(1/2) S2 S1^(1/2) (same spectrum as S1 S2), which stays real and
    stable when the covariances are singular (fewer samples than dimensions).
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise InputError("the two feature sets have different dimensions; extract them with the same network")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
    return max(value, 0.0)  # rounding can leave -1e-12 for identical sets


def frechet_distance_of_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def normalize_channels(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Scale each spatial position's channel vector of (N, C, H, W) features to unit length."""
    return features / (features.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


def lpips_distance(
    features_a: Sequence[torch.Tensor],
    features_b: Sequence[torch.Tensor],
    channel_weights: Sequence[torch.Tensor],
) -> torch.Tensor:
    """LPIPS-style distance per image, shape (N,), from per-layer (N, C_l, H_l, W_l) features."""
    if not (len(features_a) == len(features_b) == len(channel_weights)):
        raise InputError("LPIPS needs one channel-weight vector per feature layer")
    total = None
    for fa, fb, weights in zip(features_a, features_b, channel_weights):
        squared = (normalize_channels(fa) - normalize_channels(fb)).pow(2)
        layer = (squared * weights.reshape(1, -1, 1, 1)).sum(dim=1).mean(dim=(1, 2))
        total = layer if total is None else total + layer
    return total


def mean_cosine_similarity(embeddings_a: np.ndarray, embeddings_b: np.ndarray) -> float:
    """Mean over rows of cos(a_i, b_i) for two (N, D) embedding sets (CSIM)."""
    a, b = np.asarray(embeddings_a, np.float64), np.asarray(embeddings_b, np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] == 0:
        raise InputError(f"CSIM needs two equal, non-empty (N, D) embedding sets, got {a.shape} and {b.shape}")
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)))


def sync_offset_confidence(
    video_embeddings: np.ndarray, audio_embeddings: np.ndarray, max_offset: int = 15
) -> tuple[int, float, float]:
    """SyncNet scoring: (offset, confidence, min mean distance) from (T, D) per-frame embeddings.

    For each offset o in -max_offset..max_offset, the mean over video frames i of
    ||v_i - a_{i-o}|| (audio outside the clip counts as zeros, as in syncnet_python). The
    offset is the o with the smallest mean distance (audio frame i - o matches video frame i);
    confidence = median over offsets - that minimum (higher = clearer sync).
    """
    v, a = np.asarray(video_embeddings, np.float64), np.asarray(audio_embeddings, np.float64)
    if v.ndim != 2 or v.shape != a.shape:
        raise InputError(f"SyncNet scoring needs equal (T, D) video and audio embeddings, got {v.shape} and {a.shape}")
    padded = np.concatenate([np.zeros((max_offset, a.shape[1])), a, np.zeros((max_offset, a.shape[1]))])
    offsets = np.arange(-max_offset, max_offset + 1)
    mean_distances = np.empty(offsets.size)
    frames = np.arange(v.shape[0])
    for k, offset in enumerate(offsets):
        shifted = padded[frames - offset + max_offset]
        mean_distances[k] = np.linalg.norm(v - shifted, axis=1).mean()
    best = int(np.argmin(mean_distances))
    minimum = float(mean_distances[best])
    return int(offsets[best]), float(np.median(mean_distances)) - minimum, minimum
