"""`studio-cli` with DWPose model files: import-pose, fetch dwpose offline, bad files (exit 3, one line).

Run in-process through ``studio.cli.main.main`` (the entry point's own error handling): a
subprocess per case costs ~20 s of imports on the shared CI machines.
"""

from __future__ import annotations

import numpy as np

from studio.cli.main import main
from tests.engine.pose.dwpose_fakes import detector_model, pose_model, raw_detections, simcc_peaks, write_models


def _models(folder):
    peaks = simcc_peaks(np.full(133, 288), np.full(133, 384), np.full(133, 0.9))
    return write_models(folder, detector_model(raw_detections([(200, 100, 440, 600)], [0.9])), pose_model(*peaks))


def _one_error_line(capsys, *fragments) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in captured.err + captured.out, captured.err
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    return lines[0]


def test_import_pose_then_a_bad_folder_then_fetch_offline(tmp_path, capsys, monkeypatch):
    library = tmp_path / "library"
    assert main(["models", "--library", str(library), "import-pose", str(_models(tmp_path / "good"))]) == 0
    assert (library / ".pose" / "dwpose" / "yolox_l.onnx").is_file() and "DWPose models in" in capsys.readouterr().out

    bad = _models(tmp_path / "bad")
    (bad / "dw-ll_ucoco_384.onnx").write_bytes((bad / "dw-ll_ucoco_384.onnx").read_bytes()[:300])
    assert main(["models", "--library", str(library), "import-pose", str(bad)]) == 3
    _one_error_line(capsys, "dw-ll_ucoco_384.onnx is not a readable ONNX model")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["models", "--library", str(library), "fetch", "dwpose"]) == 3
    _one_error_line(capsys, "yolox_l.onnx", "dw-ll_ucoco_384.onnx", "import-pose")
    assert (library / ".pose" / "dwpose" / "pose_models.json").is_file()  # the good import is untouched
