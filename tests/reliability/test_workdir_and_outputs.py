"""Hardening classes 4, 5, 10, 11, 12 and 13: outputs never replace inputs, bad pose files fail alike
everywhere, batch checks every job first, one render per work dir, no resume that mixes settings,
and messages that say what happened (frames kept, no space left, the true frame count)."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import RenderSettings
from engine.errors import InputError
from engine.events import FrameReady
from engine.jobs import JOB_FILE, TINY_MODEL, RenderJob
from engine.pose.keypoints import PoseSequence
from tests.cli.cli_testkit import cli_env, noise_video, video_frame_count, write_pose_npz, write_source_png

REPO = Path(__file__).resolve().parents[2]
TINY = ["--model", "builtin:tiny", "--steps", "1", "--no-align", "--no-audio"]


@pytest.fixture
def inputs(tmp_path) -> tuple[Path, Path]:
    return write_source_png(tmp_path / "source.png"), write_pose_npz(tmp_path / "poses.npz", frames=6)


def _bad_fps_npz(path: Path, fps: float) -> Path:
    body = np.concatenate([np.full((3, 18, 2), 0.5), np.ones((3, 18, 1))], axis=-1)
    PoseSequence(body, np.zeros((3, 2, 21, 3)), np.zeros((3, 68, 3)), fps=fps).save(path)
    return path


# -- 4. OUT may be an input ----------------------------------------------------------------------
def test_out_naming_an_input_is_refused_and_the_input_kept(cli, inputs, tmp_path):
    source, poses = inputs
    video = noise_video(tmp_path / "drive.mp4")
    originals = {path: path.read_bytes() for path in (source, poses, video)}
    for driving, out in ((video, video), (poses, poses), (poses, source)):
        code, _, errors = cli("animate", source, driving, "-o", out, *TINY)
        assert code == 2 and len(errors) == 1 and "is one of the inputs" in errors[0], errors
    assert {path: path.read_bytes() for path in originals} == originals

    code, _, _ = cli("animate", source, poses, "-o", tmp_path / "clip.mp4", *TINY)
    assert code == 0
    code, _, errors = cli("export", tmp_path / "clip.mp4.work", "-o", source)  # an export target too
    assert code == 2 and "is one of the inputs" in errors[0]
    assert source.read_bytes() == originals[source]


def test_an_out_extension_that_does_not_fit_the_preset_needs_force(cli, inputs, tmp_path):
    source, poses = inputs
    out = tmp_path / "clip.mov"
    code, _, errors = cli("animate", source, poses, "-o", out, "--preset", "web", *TINY)
    assert code == 2 and errors == [f"error: clip.mov does not end in .mp4, the extension of the preset 'web'; "
                                    "name the output *.mp4 or force the preset"]
    assert not out.exists()
    code, _, _ = cli("animate", source, poses, "-o", out, "--preset", "web", "--force", *TINY)
    assert code == 0 and video_frame_count(out) == 6


# -- 5. pose files with a bad frame rate or no keypoints -----------------------------------------
@pytest.mark.parametrize("fps", [0.0, float("nan"), -25.0])
def test_pose_files_with_a_bad_frame_rate_fail_per_job_and_the_batch_summary_prints(cli, inputs, tmp_path, fps):
    source, poses = inputs
    bad = _bad_fps_npz(tmp_path / "bad.npz", fps)
    code, _, errors = cli("animate", source, bad, "-o", tmp_path / "a.mp4", *TINY)
    assert code == 2 and len(errors) == 1 and "bad.npz has a bad frame rate" in errors[0]
    assert not (tmp_path / "a.mp4.work").exists()

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(job) + "\n" for job in (
        {"source": "source.png", "driving": "bad.npz", "out": "bad.mp4", "model": TINY_MODEL, "steps": 1},
        {"source": "source.png", "driving": "poses.npz", "out": "good.mp4", "model": TINY_MODEL, "steps": 1,
         "no_align": True, "audio": False},
    )))
    code, out, errors = cli("batch", jobs, "--keep-going")
    assert code == 2 and len(errors) == 1 and errors[0].startswith("error: job 0: bad.npz has a bad frame rate")
    table = out.splitlines()
    assert table[-1] == "1 done, 1 failed" and video_frame_count(tmp_path / "good.mp4") == 6


# -- 10. batch checks every job first ------------------------------------------------------------
def test_batch_finds_a_bad_later_job_before_rendering_the_first(cli, inputs, tmp_path):
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[[job]]\nsource = "source.png"\ndriving = "poses.npz"\nout = "first.mp4"\nmodel = "builtin:tiny"\n\n'
                    '[[job]]\nsource = "missing.png"\ndriving = "poses.npz"\nout = "second.mp4"\nmodel = "builtin:tiny"\n')
    code, out, errors = cli("batch", jobs)
    assert code == 2 and errors == [f"error: job 1: source image not found: {tmp_path / 'missing.png'}; check the path"]
    assert not (tmp_path / "first.mp4").exists() and not (tmp_path / "first.mp4.work").exists()
    assert out.splitlines()[-1] == "1 failed, 1 not run"


def test_batch_refuses_two_jobs_with_one_output(cli, inputs, tmp_path):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("source,driving,out,model\nsource.png,poses.npz,same.mp4,builtin:tiny\n"
                    "source.png,poses.npz,./same.mp4,builtin:tiny\n")
    code, _, errors = cli("batch", jobs)
    assert code == 2 and errors == [f"error: job 1: its out {tmp_path / 'same.mp4'} is also the out of job 0; "
                                    "give each job its own output"]
    assert not (tmp_path / "same.mp4").exists()


def test_a_csv_with_an_unclosed_quote_says_so(cli, tmp_path):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text('source,driving,out\n"a.png,d.npz,o.mp4\nb.png,d.npz,p.mp4\n')
    code, _, errors = cli("batch", jobs)
    assert code == 2 and len(errors) == 1 and "a quoted cell is never closed" in errors[0], errors


# -- 11. one render per work dir -----------------------------------------------------------------
HOLD = """
import sys, time
from engine.config import RenderSettings
from engine.errors import InputError
from engine.jobs import RenderJob
job = RenderJob.create(sys.argv[1], sys.argv[2], sys.argv[3], RenderSettings(steps=1, width=32, height=32),
                       model="builtin:tiny", align=False)
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_process_is_refused_while_one_holds_the_work_dir_and_a_killed_holder_blocks_nobody(cli, inputs, tmp_path):
    source, poses = inputs
    work_dir = tmp_path / "out.mp4.work"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(work_dir), str(source), str(poses)], cwd=REPO,
                              env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding", holder.stderr.read()
        code, _, errors = cli("animate", source, poses, "-o", tmp_path / "out.mp4", "--resume", *TINY)
        assert code == 4
        assert errors == [f"error: the work folder {work_dir} is in use by another render (held by process "
                          f"{holder.pid} on {socket.gethostname()}); wait for it to finish or choose another work folder"]
        assert not list(work_dir.glob("frames/*"))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close(), holder.stderr.close()
    code, _, errors = cli("animate", source, poses, "-o", tmp_path / "out.mp4", "--resume", *TINY)
    assert (code, errors) == (0, [])
    assert video_frame_count(tmp_path / "out.mp4") == 6


# -- 12. no resume on top of frames made otherwise -----------------------------------------------
def test_a_hand_edited_job_file_is_not_resumed(cli, inputs, tmp_path):
    source, poses = inputs
    assert cli("animate", source, poses, "-o", tmp_path / "out.mp4", *TINY)[0] == 0
    work_dir = tmp_path / "out.mp4.work"
    record = json.loads((work_dir / JOB_FILE).read_text())
    record["spec"]["settings"]["steps"] = 2
    (work_dir / JOB_FILE).write_text(json.dumps(record))
    code, _, errors = cli("resume", work_dir)
    assert code == 2 and errors == [f"error: cannot resume in {work_dir}: its 6 frames were made with a different "
                                    "steps (1 then, 2 now); choose another work folder to start over"]


def test_a_resume_with_other_settings_after_the_job_file_was_deleted_is_refused(cli, inputs, tmp_path):
    source, poses = inputs
    assert cli("animate", source, poses, "-o", tmp_path / "out.mp4", *TINY)[0] == 0
    work_dir = tmp_path / "out.mp4.work"
    (work_dir / JOB_FILE).unlink()
    before = sorted(p.stat().st_mtime_ns for p in (work_dir / "frames").iterdir())
    code, _, errors = cli("animate", source, poses, "-o", tmp_path / "again.mp4", "--work-dir", work_dir,
                          "--resume", *TINY[:-4], "--steps", "2", "--seed", "5", "--no-align", "--no-audio")
    assert code == 2 and len(errors) == 1
    assert "its 6 frames were made with a different seed (42 then, 5 now), steps (1 then, 2 now)" in errors[0]
    assert sorted(p.stat().st_mtime_ns for p in (work_dir / "frames").iterdir()) == before
    # the same settings again are fine: nothing is rendered twice
    code, out, _ = cli("animate", source, poses, "-o", tmp_path / "again.mp4", "--work-dir", work_dir, "--resume", *TINY)
    assert code == 0 and "0 rendered" in out


# -- 13. messages that say what happened ---------------------------------------------------------
def test_a_read_only_out_at_export_says_the_frames_are_kept_and_how_to_export_elsewhere(cli, inputs, tmp_path, monkeypatch):
    source, poses = inputs
    folder = tmp_path / "renders"
    folder.mkdir()
    out = folder / "out.mp4"
    work_dir = tmp_path / "work"
    if os.geteuid() == 0:  # root writes into read-only folders, so make the video's final rename fail as it would
        real_replace = os.replace

        def refuse(src, dst):
            if Path(dst) == out:
                raise PermissionError(errno.EACCES, "Permission denied", str(src))
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", refuse)
    else:
        folder.chmod(0o500)
    try:
        code, _, errors = cli("animate", source, poses, "-o", out, "--work-dir", work_dir, *TINY)
    finally:
        folder.chmod(0o700)
        monkeypatch.undo()
    assert code == 4 and len(errors) == 1
    assert "the rendered frames are kept, so exporting to another place works" in errors[0]
    assert f"studio-cli resume {work_dir} -o OTHER" in errors[0] and ".partial" not in errors[0]
    assert RenderJob.open(work_dir).frames_on_disk == 6
    assert cli("resume", work_dir, "-o", tmp_path / "elsewhere.mp4")[0] == 0
    assert video_frame_count(tmp_path / "elsewhere.mp4") == 6


def test_a_full_disk_at_start_says_no_space_and_leaves_no_temporary_job_file(cli, inputs, tmp_path, monkeypatch):
    source, poses = inputs
    real_replace = os.replace

    def disk_full(src, dst):
        if str(dst).endswith(JOB_FILE):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    code, _, errors = cli("animate", source, poses, "-o", tmp_path / "out.mp4", *TINY)
    monkeypatch.undo()
    work_dir = tmp_path / "out.mp4.work"
    assert code == 4 and len(errors) == 1
    assert errors[0].startswith(f"error: no space left on the device: the disk holding {work_dir} is full")
    assert "--work-dir" not in errors[0]
    assert not (work_dir / (JOB_FILE + ".tmp")).exists() and not (work_dir / JOB_FILE).exists()


@pytest.mark.parametrize("lost", ["state", "frame"])
def test_resume_after_a_deleted_file_reports_the_true_count(cli, capsys, inputs, tmp_path, lost):
    source, poses = inputs
    poses = write_pose_npz(tmp_path / "twelve.npz", frames=12)
    work_dir = tmp_path / "work"
    job = RenderJob.create(work_dir, source, poses, RenderSettings(steps=1, width=32, height=32), model=TINY_MODEL,
                           align=False)
    job.remember_export(tmp_path / "out.mp4", "web", False)
    frames = 0
    for event in job.run():
        frames += isinstance(event, FrameReady)
        if frames == 5:
            break
    job.release()
    kept = job.frames_done
    assert 5 <= kept < 12
    (job.store.state_path(kept - 1) if lost == "state" else job.frame_path(2)).unlink()

    code, out, errors = cli("resume", work_dir, "--json")
    assert (code, errors) == (0, [])
    events = [json.loads(line) for line in out.splitlines()]
    render = next(e for e in events if e["event"] == "render")
    assert (render["frames_done"], render["frames_total"]) == (0, 12)
    assert [e["index"] for e in events if e["event"] == "frame"] == list(range(12))
    assert max(e["frames_done"] for e in events if e["event"] == "frame") == 12
    assert events[-1]["frames"] == 12 and video_frame_count(tmp_path / "out.mp4") == 12


# -- 15.1 a batch file names paths inside its own folder only ------------------------------------
def test_batch_paths_must_stay_inside_the_jobs_files_folder(cli, inputs, tmp_path):
    source, poses = inputs  # in tmp_path, outside the batch folder
    victim = tmp_path / "victim.mp4"
    victim.write_bytes(b"someone else's video")
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path, target_is_directory=True)  # a link that leads out
    (folder / "source.png").write_bytes(source.read_bytes())
    (folder / "poses.npz").write_bytes(poses.read_bytes())
    good = {"source": "source.png", "driving": "poses.npz", "model": TINY_MODEL, "steps": 1, "no_align": True}
    bad = [("out", "../victim.mp4"), ("source", str(source)), ("driving", "link/poses.npz"),
           ("work_dir", "../work"), ("preset", "../evil.toml"), ("model", str(tmp_path / "model")),
           ("out", "link/victim.mp4")]
    jobs = folder / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({**good, "out": f"{i}.mp4", field: value}) + "\n" for i, (field, value) in enumerate(bad)))

    code, out, errors = cli("batch", jobs, "--keep-going")

    assert code == 2 and len(errors) == len(bad), errors
    for i, (field, value) in enumerate(bad):
        assert errors[i].startswith(f"error: job {i}: jobs.jsonl, job {i}, field '{field}' names '{value}', which ")
        assert errors[i].endswith("; refusing to touch files outside it")
    assert out.splitlines()[-1] == f"{len(bad)} failed"
    assert victim.read_bytes() == b"someone else's video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch", "poses.npz", "source.png", "victim.mp4"]
    assert sorted(p.name for p in folder.iterdir()) == ["jobs.jsonl", "link", "poses.npz", "source.png"]

    jobs.write_text(json.dumps({**good, "out": "sub/../ok.mp4"}) + "\n")  # ".." is refused even when it stays inside
    code, _, errors = cli("batch", jobs)
    assert code == 2 and "field 'out' names 'sub/../ok.mp4'" in errors[0]
    jobs.write_text(json.dumps({**good, "out": "ok.mp4"}) + "\n")
    code, _, errors = cli("batch", jobs)
    assert code == 0 and errors == [] and video_frame_count(folder / "ok.mp4") == 6


# -- 15. hostile JSON on disk: job.json, work-dir records, prefs, pose-file meta ------------------
DEEP_JSON = "[" * 50_000 + "]" * 50_000  # Python's json recurses per level and would die far sooner


@pytest.mark.parametrize("hostile", ["deep", "huge", "not JSON"])
def test_a_hostile_job_file_is_damaged_in_one_sentence_and_the_frames_kept(cli, inputs, tmp_path, hostile):
    source, poses = inputs
    out = tmp_path / "clip.mp4"
    assert cli("animate", source, poses, "-o", out, *TINY)[0] == 0
    work_dir = tmp_path / "clip.mp4.work"
    record = json.loads((work_dir / JOB_FILE).read_text())
    RenderJob.open(work_dir).release()  # the real record opens
    text = {"deep": DEEP_JSON, "not JSON": "{oops",  # "huge": a valid record padded past the 4 MB cap
            "huge": json.dumps({**record, "pad": "x" * (5 << 20)})}[hostile]
    (work_dir / JOB_FILE).write_text(text)
    frames = sorted(p.name for p in (work_dir / "frames").iterdir()) if (work_dir / "frames").is_dir() else None

    with pytest.raises(InputError) as caught:
        RenderJob.open(work_dir)
    message = str(caught.value)
    assert message.startswith(f"the job file {work_dir / JOB_FILE} is damaged (") and "\n" not in message
    assert message.endswith("the rendered frames are kept; export them, or start a new render to continue")
    code, _, errors = cli("resume", work_dir)
    assert code == 2 and errors == [f"error: {message}"]
    if frames is not None:
        assert sorted(p.name for p in (work_dir / "frames").iterdir()) == frames


def test_hostile_records_prefs_and_pose_meta_are_treated_as_damaged(tmp_path, monkeypatch):
    from engine.workdir import read_json
    from studio.gui.project import Prefs

    record = tmp_path / "made_with.json"
    record.write_text(DEEP_JSON)
    assert read_json(record) == {}  # a damaged record: no usable facts, never a RecursionError
    assert read_json(tmp_path / "missing.json") is None

    monkeypatch.setenv("TALKINGPOSE_DATA_DIR", str(tmp_path / "data"))
    Prefs.path().write_text('{"last_export_dir": "/kept"}')
    assert Prefs.load().last_export_dir == "/kept"
    Prefs.path().write_text(DEEP_JSON)
    assert Prefs.load() == Prefs()  # defaults: prefs are never worth an error

    body = np.concatenate([np.full((2, 18, 2), 0.5), np.ones((2, 18, 1))], axis=-1)
    path = tmp_path / "poses.npz"
    np.savez(path, body=body, hands=np.zeros((2, 2, 21, 3)), face=np.zeros((2, 68, 3)), fps=np.array(25.0),
             meta=np.array("[" * 20_000 + "]" * 20_000))
    with pytest.raises(InputError, match="nests more than 64 levels deep"):
        PoseSequence.load(path)
