"""The CLI's small parsers, in-process: times, shards, batch files, the user config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InputError, SettingsError
from engine.inputs import parse_time
from studio.cli._common import config_path, load_animate_defaults
from studio.cli.batch_cmd import job_arguments, parse_shard, read_jobs


@pytest.mark.parametrize("text, fps, frame", [
    ("120f", 25.0, 120), ("0", 25.0, 0), ("3", 25.0, 75), ("1.5", 10.0, 15), ("4.5s", 30.0, 135),
    ("0.5s", 29.0, 14), ("1:02.5", 10.0, 625), ("00:01", 29.97, 30), ("1:00:00", 1.0, 3600), ("1:00:02", 2.0, 7204),
])
def test_times_read_like_ffmpeg_bare_numbers_are_seconds(text, fps, frame):
    assert parse_time(text).to_frame(fps) == frame


@pytest.mark.parametrize("text", ["", "-3", "1:75", "abc", "1:2:3:4", "s", "nans", "f", "1.5f", "inf", "-1f"])
def test_bad_times_name_the_option(text):
    with pytest.raises(SettingsError, match="^start: .*not a time"):
        parse_time(text, "start")


def test_shards_take_every_nth_job_and_are_checked():
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard("3/4") == (3, 4)
    assert list(range(10))[slice(*((i := parse_shard("1/3"))[0], None, i[1]))] == [1, 4, 7]
    for bad in ("4/4", "-1/4", "1/0", "1", "a/b", "1/2/3"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


def _same_jobs_in_three_formats(folder: Path) -> list[Path]:
    toml = folder / "jobs.toml"
    toml.write_text(
        '[[job]]\nsource = "a.png"\ndriving = "d.npz"\nout = "out/a.mp4"\nsteps = 2\nsize = "32x32"\naudio = false\n\n'
        '[[job]]\nsource = "in/b.png"\ndriving = "d.npz"\nout = "b.mov"\nbeta = 0.1\nno_align = true\nstart = "1.5s"\n'
    )
    csv = folder / "jobs.csv"
    csv.write_text("source,driving,out,steps,size,audio,beta,no_align,start\n"
                   "a.png,d.npz,out/a.mp4,2,32x32,false,,,\n"
                   "in/b.png,d.npz,b.mov,,,,0.1,yes,1.5s\n")
    jsonl = folder / "jobs.jsonl"
    jsonl.write_text('{"source": "a.png", "driving": "d.npz", "out": "out/a.mp4", "steps": 2, "size": "32x32", "audio": false}\n'
                     "\n# comments and blank lines are allowed\n"
                     '{"source": "in/b.png", "driving": "d.npz", "output": "b.mov", "beta": 0.1, "no-align": true, "start": "1.5s"}\n')
    return [toml, csv, jsonl]


def test_batch_formats_give_the_same_animate_arguments(tmp_path):
    parsed = []
    for path in _same_jobs_in_three_formats(tmp_path):
        jobs = read_jobs(path)
        assert len(jobs) == 2
        parsed.append([vars(job_arguments(job, i, tmp_path, path.name)) for i, job in enumerate(jobs)])
    assert parsed[0] == parsed[1] == parsed[2]
    first, second = parsed[0]
    assert first["source"] == tmp_path / "a.png"  # relative to the jobs file
    assert first["output"] == tmp_path / "out" / "a.mp4"
    assert (first["steps"], first["size"], first["no_audio"], first["no_align"]) == (2, "32x32", True, False)
    assert second["source"] == tmp_path / "in" / "b.png"
    assert (second["beta"], second["no_align"], second["no_audio"], second["start"]) == (0.1, True, False, "1.5s")
    assert first["resume"] is True  # re-running a batch continues interrupted jobs


@pytest.mark.parametrize("job, message", [
    ({"source": "a.png", "driving": "d.npz"}, "'out' is missing"),
    ({"source": "a.png", "driving": "d.npz", "out": "o.mp4", "speed": 3}, "unknown field 'speed'"),
    ({"source": "a.png", "driving": "d.npz", "out": "o.mp4", "steps": "many"}, "invalid int value"),
    ({"source": "a.png", "driving": "d.npz", "out": "o.mp4", "audio": "maybe"}, "audio must be true or false"),
    ({"source": "a.png", "driving": "d.npz", "out": "o.mp4", "beta": [1, 2]}, "single value"),
])
def test_bad_jobs_name_the_job(tmp_path, job, message):
    with pytest.raises(InputError, match=f"jobs.toml, job 4: .*{message}"):
        job_arguments(job, 4, tmp_path, "jobs.toml")


def test_bad_batch_files(tmp_path):
    cases = {
        "jobs.txt": ("x", "must end in .toml, .csv or .jsonl"),
        "empty.toml": ("", "lists no jobs"),
        "top.toml": ('source = "a.png"\n', "put each job in a \\[\\[job\\]\\] table"),
        "bad.toml": ("[[job]\n", "not valid TOML"),
        "bad.jsonl": ('{"source": 1}\n{oops\n', "line 2 \\(a job\\) is not valid JSON"),
        "list.jsonl": ("[1, 2]\n", "line 1: each line must be one JSON object"),
        "cells.csv": ("source,driving,out\na,b,c,d\n", "line 2: more cells"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=message):
            read_jobs(tmp_path / name)
    with pytest.raises(InputError, match="not found"):
        read_jobs(tmp_path / "missing.toml")


def test_user_config_defaults_and_their_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKINGPOSE_CONFIG_DIR", str(tmp_path))
    assert config_path() == tmp_path / "config.toml"
    assert load_animate_defaults() == {}  # no file: no defaults
    (tmp_path / "config.toml").write_text('[animate]\nsteps = 12\nsize = "256x256"\naudio = false\n[other]\nx = 1\n')
    assert load_animate_defaults() == {"steps": 12, "size": "256x256", "audio": False}
    for text, message in (('[animate]\nspeed = 2\n', "unknown key 'speed'"), ('[animate]\naudio = "no"\n', "true or false"),
                          ('[animate]\nsize = 256\n', "text in quotes"), ("[animate\n", "cannot be read")):
        (tmp_path / "config.toml").write_text(text)
        with pytest.raises(SettingsError, match=f"^config: .*{message}"):
            load_animate_defaults()
