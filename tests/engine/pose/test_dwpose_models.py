"""DWPose model files: bad files, the pose-model library, backend choice and the pose cache key."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from engine.errors import ModelError
from engine.pose import backends
from engine.pose.dwpose import DWPoseBackend
from engine.pose.dwpose.sessions import CUDA
from engine.pose.extract import cached_pose_files, extract_poses
from engine.pose.dwpose.library import find_dwpose, import_pose_models, pose_library_dir, verify_pose_models
from tests.engine.pose.conftest import write_video
from tests.engine.pose.dwpose_fakes import detector_model, pose_model, raw_detections, simcc_peaks, write_models


def _good_models(folder, x_bin=288):
    peaks = simcc_peaks(np.full(133, x_bin), np.full(133, 384), np.full(133, 0.9))
    return write_models(folder, detector_model(raw_detections([(200, 100, 440, 600)], [0.9])), pose_model(*peaks))


def _message(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and "Traceback" not in message  # one sentence
    return message


def test_missing_file_names_both_files_and_where_they_go(tmp_path):
    folder = _good_models(tmp_path / "m")
    (folder / "yolox_l.onnx").unlink()
    with pytest.raises(ModelError) as excinfo:
        backends.open_backend("dwpose", folder)
    message = _message(excinfo)
    assert "yolox_l.onnx" in message and "dw-ll_ucoco_384.onnx" in message and "import-pose" in message


@pytest.mark.parametrize("damage", ["truncated", "not onnx"])
def test_truncated_or_foreign_file(tmp_path, damage):
    folder = _good_models(tmp_path / "m")
    pose_file = folder / "dw-ll_ucoco_384.onnx"
    pose_file.write_bytes(pose_file.read_bytes()[:200] if damage == "truncated" else b"<html>rate limited</html>")
    with pytest.raises(ModelError, match=r"dw-ll_ucoco_384\.onnx is not a readable ONNX model"):
        DWPoseBackend(folder, device="cpu")


def test_wrong_signature(tmp_path):
    folder = _good_models(tmp_path / "m")
    # a detector where the pose model belongs: 3x640x640 input, not 3x384x288
    (folder / "dw-ll_ucoco_384.onnx").write_bytes((folder / "yolox_l.onnx").read_bytes())
    with pytest.raises(ModelError, match=r"dw-ll_ucoco_384\.onnx is not the DWPose whole-body model: it maps 1x3x640x640 -> 1x8400x85"):
        DWPoseBackend(folder, device="cpu")


@pytest.mark.skipif(CUDA in __import__("onnxruntime").get_available_providers(), reason="this machine has the CUDA provider")
def test_gpu_requested_but_unavailable(tmp_path):
    with pytest.raises(ModelError, match="no CUDA provider"):
        DWPoseBackend(_good_models(tmp_path / "m"), device="cuda")


def test_cpu_provider_is_reported(tmp_path):
    folder = _good_models(tmp_path / "m")
    assert backends.backend_summary("auto", folder, "cpu") == {"pose_backend": "dwpose", "pose_provider": "CPUExecutionProvider"}
    assert backends.backend_summary("mediapipe", folder)["pose_backend"] == "mediapipe"
    with pytest.raises(ModelError, match="import-pose"):
        backends.backend_summary("dwpose", tmp_path / "empty")
    backend = backends.open_backend("dwpose", folder, device="cpu")
    assert backend.info == {"pose_backend": "dwpose", "pose_provider": "CPUExecutionProvider", "extractor_version": 1, "pose_model_source": "folder"}


def test_import_into_the_library_records_sha256_and_auto_then_picks_dwpose(tmp_path):
    assert backends.resolve_backend("auto") == "mediapipe" and find_dwpose() is None
    folder = import_pose_models(_good_models(tmp_path / "m"))
    assert folder == pose_library_dir() and sorted(p.name for p in folder.iterdir()) == ["dw-ll_ucoco_384.onnx", "pose_models.json", "yolox_l.onnx"]
    found = find_dwpose()
    assert found.sha256["yolox_l.onnx"] == hashlib.sha256((folder / "yolox_l.onnx").read_bytes()).hexdigest()
    assert backends.resolve_backend("auto") == "dwpose" and verify_pose_models() == []
    (folder / "yolox_l.onnx").write_bytes(b"changed")
    assert len(verify_pose_models()) == 1


def test_import_refuses_a_bad_file_and_keeps_the_library_empty(tmp_path):
    folder = _good_models(tmp_path / "m")
    (folder / "yolox_l.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="yolox_l.onnx is not a readable ONNX model"):
        import_pose_models(folder)
    assert find_dwpose() is None and backends.resolve_backend("auto") == "mediapipe"


def test_unknown_backend_name():
    with pytest.raises(Exception, match="pose_backend: 'openpose' is not a pose backend"):
        backends.resolve_backend("openpose")


def test_cache_key_follows_backend_and_model_files(tmp_path):
    video = write_video(tmp_path / "v.mp4", [np.full((96, 128, 3), 40 + 20 * i, np.uint8) for i in range(3)])
    models, cache = _good_models(tmp_path / "m"), tmp_path / "cache"
    first = extract_poses(video, cache_dir=cache, backend="dwpose", pose_model=models, device="cpu")
    assert first.meta["pose_backend"] == "dwpose" and first.meta["pose_provider"] == "CPUExecutionProvider"
    assert first.meta["from_cache"] is False and len(first) == 3
    again = extract_poses(video, cache_dir=cache, backend="auto", pose_model=models)
    assert again.meta["from_cache"] is True and again.meta["pose_backend"] == "dwpose"
    assert np.array_equal(again.body, first.body)
    _good_models(models, x_bin=100)  # new model files, same names: the cached poses are stale
    changed = extract_poses(video, cache_dir=cache, backend="dwpose", pose_model=models)
    assert changed.meta["from_cache"] is False and not np.allclose(changed.body[:, 0, 0], first.body[:, 0, 0])
    names = sorted(p.name for p in cache.glob("*.npz"))
    assert len(names) == 2 and all(".dwpose-" in n for n in names)
    assert [p.name for p in cached_pose_files(cache, first.fingerprint)] == names


def test_source_image_with_dwpose_and_detection_misses_counted(tmp_path):
    from engine.pose.extract import detect_image

    models = _good_models(tmp_path / "m")
    pose = detect_image(np.zeros((480, 640), np.uint8), backend="dwpose", pose_model=models)  # grey source image
    assert pose.has_person and np.allclose(pose.face[:, 2], 0.9)
    folder = write_models(tmp_path / "nobody", detector_model(raw_detections([], [])), pose_model(*simcc_peaks(np.full(133, 288), np.full(133, 384), np.full(133, 0.9))))
    video = write_video(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 2)
    seq = extract_poses(video, backend="dwpose", pose_model=folder)
    assert seq.meta["frames_without_detection"] == 2 and np.allclose(seq.body[:, 0, :2], 0.5, atol=0.01)


def test_pose_library_sits_in_the_model_library(monkeypatch, tmp_path):
    from engine.weights.library import default_models_dir

    for env in ({}, {"TALKINGPOSE_MODELS_DIR": str(tmp_path / "m")}):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert pose_library_dir() == default_models_dir() / ".pose" / "dwpose"
