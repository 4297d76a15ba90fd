"""Network-metric plumbing with tiny random networks: Fréchet, LPIPS, clips, weights, sync."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from engine.metrics.distances import (
    frechet_distance,
    frechet_distance_of_features,
    lpips_distance,
    mean_cosine_similarity,
    sync_offset_confidence,
)
from engine.metrics.networks import (
    ClipFrechetMetric,
    LpipsNetwork,
    Vgg16Taps,
    load_lpips_vgg,
    open_network_metrics,
    prepare_clip,
)
from engine.metrics.weights import locate_weights, sha256_of


def _scipy_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """The usual FID formula with scipy's general matrix square root (the independent computation)."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


def test_frechet_distance_of_identical_sets_is_zero():
    features = np.random.default_rng(0).normal(size=(50, 6))
    assert frechet_distance_of_features(features, features.copy()) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 7))
    y = rng.normal(size=(60, 7)) @ rng.normal(size=(7, 7)) * 0.5 + 1.5
    expected = _scipy_frechet(x, y)
    assert expected > 1.0
    assert frechet_distance_of_features(x, y) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_closed_form_and_singular_covariances():
    # 1-D Gaussians: (mu1 - mu2)^2 + (sd1 - sd2)^2 = 9 + 1.
    assert frechet_distance(np.array([0.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]])) == pytest.approx(10.0)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 12)), rng.normal(size=(5, 12)) + 0.3  # fewer samples than dimensions
    value = frechet_distance_of_features(x, y)
    assert np.isfinite(value) and value == pytest.approx(_scipy_frechet(x, y), rel=1e-5)


def test_lpips_distance_matches_a_numpy_computation_and_ignores_feature_scale():
    torch.manual_seed(0)
    fa = [torch.randn(1, 4, 5, 6), torch.randn(1, 3, 2, 2)]
    fb = [torch.randn(1, 4, 5, 6), torch.randn(1, 3, 2, 2)]
    weights = [torch.rand(4), torch.rand(3)]
    expected = 0.0
    for a, b, w in zip(fa, fb, weights):
        a, b = a[0].numpy().astype(np.float64), b[0].numpy().astype(np.float64)
        na, nb = a / np.linalg.norm(a, axis=0), b / np.linalg.norm(b, axis=0)
        expected += (w.numpy()[:, None, None] * (na - nb) ** 2).sum(0).mean()
    assert float(lpips_distance(fa, fb, weights)[0]) == pytest.approx(expected, rel=1e-5)
    scaled = [f * torch.rand(1, 1, *f.shape[2:]) * 5 + 0 for f in fa]  # positive per-position scale
    assert float(lpips_distance(scaled, fb, weights)[0]) == pytest.approx(expected, rel=1e-4)
    assert float(lpips_distance(fa, fa, weights)[0]) == 0.0


class _TinyBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 6, 3, stride=2, padding=1)

    def forward(self, x):
        h1 = torch.relu(self.a(x))
        return [h1, torch.relu(self.b(h1))]


def test_lpips_network_with_a_tiny_random_backbone():
    torch.manual_seed(0)
    network = LpipsNetwork(_TinyBackbone(), [torch.rand(4), torch.rand(6)])
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    assert network.distance(a, a) == 0.0
    assert network.distance(a, b) > 0.0
    assert network.distance(a, b) == pytest.approx(network.distance(b, a), rel=1e-6)


def test_vgg16_taps_use_torchvision_parameter_names():
    conv_indices = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
    expected = {f"{i}.{p}" for i in conv_indices for p in ("weight", "bias")}
    assert set(Vgg16Taps().features.state_dict()) == expected


def test_lpips_vgg_loads_weights_in_the_published_layouts(tmp_path):
    torch.manual_seed(0)
    shapes = {k: v.shape for k, v in Vgg16Taps(device="meta").features.state_dict().items()}
    vgg = {f"features.{k}": torch.randn(shape) * 0.05 for k, shape in shapes.items()}
    vgg["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision files also hold the classifier
    torch.save(vgg, tmp_path / "vgg16-397923af.pth")
    channels = (64, 128, 256, 512, 512)
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(channels)}, tmp_path / "vgg.pth")
    network = load_lpips_vgg(tmp_path / "vgg16-397923af.pth", tmp_path / "vgg.pth")
    assert torch.equal(network.backbone.features[28].weight, vgg["features.28.weight"])
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    assert network.distance(a, a) == 0.0 and network.distance(a, b) > 0.0


def test_missing_or_corrupt_weights_are_skipped_with_a_reason(tmp_path, monkeypatch):
    _, _, reason = locate_weights("lpips")
    assert "TPS_METRIC_WEIGHTS" in reason
    assert "vgg16-397923af.pth not found" in locate_weights("lpips", tmp_path)[2]
    (tmp_path / "vgg16-397923af.pth").write_bytes(b"not the real file")
    (tmp_path / "vgg.pth").write_bytes(b"x")
    assert "fails its checksum" in locate_weights("lpips", tmp_path)[2]
    (tmp_path / "i3d_torchscript.pt").write_bytes(b"garbage")
    monkeypatch.setenv("TPS_METRIC_WEIGHTS", str(tmp_path))  # the environment variable is honoured
    metrics, skipped = open_network_metrics(["lpips", "fvd", "csim", "bogus"])
    assert metrics == []
    assert "checksum" in skipped["lpips"]
    assert "not a TorchScript I3D model" in skipped["fvd"]
    assert "not supported by this version" in skipped["csim"]
    assert "unknown metric" in skipped["bogus"]


class _TinyI3d(nn.Module):
    """Same call contract as StyleGAN-V's i3d_torchscript.pt."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 5, kernel_size=(2, 8, 8), stride=(2, 8, 8))

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = True):
        return self.conv(x).mean(dim=(2, 3, 4))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, used to build the fake detector
def test_fvd_loads_a_torchscript_detector_and_scores_clips(tmp_path, make_frames):
    torch.manual_seed(0)
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.script(_TinyI3d()).save(str(path))
    metrics, skipped = open_network_metrics(["fvd"], tmp_path)
    assert "fvd" not in skipped and len(metrics) == 1
    frames = make_frames(48)
    for frame in frames:
        metrics[0].add(frame, frame)
    result = metrics[0].result()
    assert result["clips"] == 3 and result["value"] == pytest.approx(0.0, abs=1e-6)
    assert result["weights_sha256"] == {"i3d_torchscript.pt": sha256_of(path)}


def test_clip_frechet_needs_two_clips_and_grows_with_damage(make_frames):
    torch.manual_seed(0)
    extractor = _TinyI3d().eval()
    real = make_frames(16)
    short = ClipFrechetMetric("fvd", extractor, clip_frames=8, size=32)
    for frame in real[:8]:
        short.add(frame, frame)
    assert short.result()["value"] is None
    rng = np.random.default_rng(1)
    noisy = [np.clip(f + rng.normal(0, 60, f.shape), 0, 255).astype(np.uint8) for f in real]
    same, damaged = ClipFrechetMetric("x", extractor, clip_frames=4, size=32), ClipFrechetMetric("x", extractor, clip_frames=4, size=32)
    for r, n in zip(real, noisy):
        same.add(r, r)
        damaged.add(r, n)
    assert same.result()["value"] == pytest.approx(0.0, abs=1e-9)
    assert damaged.result()["value"] > 1e-3


def test_prepare_clip_resizes_the_short_side_crops_the_centre_and_scales_to_unit_range():
    white = [np.full((40, 60, 3), 255, np.uint8)] * 3
    clip = prepare_clip(white, size=32)
    assert clip.shape == (1, 3, 3, 32, 32) and torch.allclose(clip, torch.ones_like(clip))
    half = np.zeros((40, 60, 3), np.uint8)
    half[:, 30:] = 255  # right half white: the centre crop keeps both halves equally
    assert float(prepare_clip([half], size=32).mean()) == pytest.approx(0.0, abs=0.05)


def test_cosine_similarity_and_sync_offset():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(10, 8))
    assert mean_cosine_similarity(e, e) == pytest.approx(1.0)
    assert mean_cosine_similarity(e, -e) == pytest.approx(-1.0)
    video = rng.normal(size=(40, 16))
    for true_offset in (3, -2, 0):
        audio = np.roll(video, -true_offset, axis=0)  # audio frame i - offset matches video frame i
        offset, confidence, minimum = sync_offset_confidence(video, audio, max_offset=6)
        assert offset == true_offset and confidence > 1.0


def test_a_network_that_fails_on_clips_is_a_model_error(make_frames):
    from engine.errors import ModelError

    wrong = nn.Conv3d(1, 2, 1)  # expects 1 channel: not the documented contract
    metric = ClipFrechetMetric("fvd", wrong, clip_frames=2, size=16)
    frame = make_frames(1)[0]
    metric.add(frame, frame)
    with pytest.raises(ModelError, match="fvd network failed"):
        metric.add(frame, frame)
