"""``--sampler`` and ``--compile`` reach the render settings from the animate flags, the [animate] config
table and batch jobs; a bad sampler is one clear sentence."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from cli_testkit import TINY, assert_one_line_error, run_cli, write_pose_npz, write_source_png  # noqa: E402


def _job_settings(work_dir: Path) -> dict:
    return json.loads((work_dir / "job.json").read_text())["spec"]["settings"]


def test_sampler_flag_and_config_reach_the_job(tmp_path, monkeypatch):
    source = write_source_png(tmp_path / "source.png")
    driving = write_pose_npz(tmp_path / "poses.npz", frames=2)
    result = run_cli("animate", source, driving, "-o", tmp_path / "a.mp4", *TINY, "--sampler", "dpmpp-2m", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _job_settings(tmp_path / "a.mp4.work")["sampler"] == "dpmpp-2m"

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.toml").write_text('[animate]\nsampler = "unipc"\n')
    result = run_cli("animate", source, driving, "-o", tmp_path / "b.mp4", *TINY, "--json", TALKINGPOSE_CONFIG_DIR=str(config_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert _job_settings(tmp_path / "b.mp4.work")["sampler"] == "unipc"


def test_unknown_sampler_is_one_sentence(tmp_path):
    source = write_source_png(tmp_path / "source.png")
    driving = write_pose_npz(tmp_path / "poses.npz", frames=2)
    result = run_cli("animate", source, driving, "-o", tmp_path / "a.mp4", *TINY, "--sampler", "euler")
    assert_one_line_error(result, 2, "sampler", "dpmpp-2m")
    assert not (tmp_path / "a.mp4").exists()


def test_batch_jobs_take_a_sampler(tmp_path):
    source = write_source_png(tmp_path / "source.png")
    driving = write_pose_npz(tmp_path / "poses.npz", frames=2)
    jobs = tmp_path / "jobs.toml"
    # batch files name paths inside their own folder
    jobs.write_text(f'[[job]]\nsource = "{source.name}"\ndriving = "{driving.name}"\nout = "j.mp4"\n'
                    'model = "builtin:tiny"\nsteps = 2\nalign = false\nsampler = "unipc"\n')
    result = run_cli("batch", jobs, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _job_settings(tmp_path / "j.mp4.work")["sampler"] == "unipc"
