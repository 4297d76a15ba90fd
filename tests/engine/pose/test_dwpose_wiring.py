"""The pose-backend choice through the CLI and the job: poses, animate (job spec, resume), config, bad choices.

In-process through ``studio.cli.main.main`` (subprocesses cost ~20 s of imports each here).
"""

from __future__ import annotations

import json

import numpy as np

from engine.jobs import JobSpec, RenderJob
from engine.pose.keypoints import PoseSequence
from studio.cli.main import main
from tests.cli.cli_testkit import write_source_png, write_video
from tests.engine.pose.dwpose_fakes import detector_model, pose_model, raw_detections, simcc_peaks, write_models


def _models(folder):
    peaks = simcc_peaks(np.full(133, 288), np.full(133, 384), np.full(133, 0.9))
    return write_models(folder, detector_model(raw_detections([(200, 100, 440, 600)], [0.9])), pose_model(*peaks))


def _video(path, frames=4):
    return write_video(path, [np.full((64, 64, 3), 30 + 10 * i, np.uint8) for i in range(frames)])


def _events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_poses_with_dwpose_records_and_reports_the_backend(tmp_path, capsys):
    models, video, out = _models(tmp_path / "m"), _video(tmp_path / "v.mp4"), tmp_path / "p.npz"
    code = main(["poses", str(video), "-o", str(out), "--pose-backend", "dwpose", "--pose-model", str(models), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "pose backend: dwpose (CPUExecutionProvider)" in captured.err
    events = _events(captured.out)
    analysis = [e for e in events if e["event"] == "analysis"]
    assert analysis and all(e["pose_backend"] == "dwpose" and e["pose_provider"] == "CPUExecutionProvider" for e in analysis)
    assert events[-1]["event"] == "done" and events[-1]["pose_backend"] == "dwpose"
    seq = PoseSequence.load(out)
    assert seq.meta["pose_backend"] == "dwpose" and len(seq) == 4 and np.allclose(seq.face[:, :, 2], 0.9)


def test_bad_choices_fail_in_one_line_before_any_analysis(tmp_path, capsys):
    video = _video(tmp_path / "v.mp4")
    assert main(["poses", str(video), "-o", str(tmp_path / "a.npz"), "--pose-backend", "dwpose", "--pose-model", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and "yolox_l.onnx" in err and "Traceback" not in err
    assert main(["poses", str(video), "-o", str(tmp_path / "b.npz"), "--pose-backend", "openpose"]) == 2
    assert "pose_backend: 'openpose' is not a pose backend" in capsys.readouterr().err
    assert not (tmp_path / "a.npz").exists() and not (tmp_path / "b.npz").exists()


def test_animate_records_the_resolved_backend_in_the_job_and_resume_keeps_it(tmp_path, capsys):
    models = _models(tmp_path / "m")
    source, video, out = write_source_png(tmp_path / "s.png"), _video(tmp_path / "v.mp4", frames=3), tmp_path / "o.mp4"
    args = ["animate", str(source), str(video), "-o", str(out), "--model", "builtin:tiny", "--steps", "1", "--no-align",
            "--pose-model", str(models), "--json"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    assert "pose backend: dwpose" in captured.err  # auto + --pose-model DIR = dwpose
    spec = json.loads((tmp_path / "o.mp4.work" / "job.json").read_text())["spec"]
    assert spec["pose_backend"] == "dwpose" and spec["pose_model"] == str(models.absolute())
    job = RenderJob.open(tmp_path / "o.mp4.work")
    assert (job.spec.pose_backend, job.spec.pose_model) == ("dwpose", str(models.absolute()))
    job.release()
    old = {**spec}
    del old["pose_backend"], old["pose_model"]
    assert JobSpec.from_dict(old).pose_backend == "mediapipe"  # jobs from before the choice existed


def test_config_key_pose_backend(tmp_path, capsys, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[animate]\npose_backend = "dwpose"\npose_model = "%s"\n' % (tmp_path / "none"))
    monkeypatch.setenv("TALKINGPOSE_CONFIG_DIR", str(config))
    source, video = write_source_png(tmp_path / "s.png"), _video(tmp_path / "v.mp4", frames=2)
    assert main(["animate", str(source), str(video), "-o", str(tmp_path / "o.mp4"), "--model", "builtin:tiny"]) == 3
    assert "dw-ll_ucoco_384.onnx" in capsys.readouterr().err
