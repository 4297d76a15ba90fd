"""studio-cli with bad input: the right exit code, one ``error:`` line, no traceback, nothing rendered.

These fail before any weights load, so each costs about a second (except the unknown model).
"""

from __future__ import annotations

import json

import pytest
from cli_testkit import REPO, TINY, assert_one_line_error, noise_video, run_cli, write_pose_npz, write_source_png


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    write_source_png(folder / "source.png")
    write_pose_npz(folder / "poses.npz")
    noise_video(folder / "clip.mp4")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    (folder / "a_file").write_text("a file where a folder should be")
    (folder / "a_folder").mkdir()
    return folder


# (case id, SOURCE, DRIVING, extra args, exit code, text the error line must contain)
BAD_ANIMATE = [
    ("missing-source", "nope.png", "poses.npz", [], 2, "not found"),
    ("missing-driving", "source.png", "nope.mp4", [], 2, "not found"),
    ("source-is-a-folder", "a_folder", "poses.npz", [], 2, "is a folder"),
    ("driving-is-a-folder", "source.png", "a_folder", [], 2, "is a folder"),
    ("image-as-driving", "source.png", "source.png", [], 2, "still image"),
    ("video-as-source", "clip.mp4", "poses.npz", [], 2, "not an image"),
    ("corrupt-source", "broken.png", "poses.npz", [], 2, "not a readable image"),
    ("corrupt-driving", "source.png", "broken.mp4", [], 2, "broken.mp4"),
    ("unknown-preset", "source.png", "poses.npz", ["--preset", "no-such-preset"], 2, "no preset named 'no-such-preset'"),
    ("negative-beta", "source.png", "poses.npz", ["--beta", "-1"], 2, "beta"),
    ("bad-size", "source.png", "poses.npz", ["--size", "100x7"], 2, "size"),
    ("bad-time", "source.png", "poses.npz", ["--start", "soon"], 2, "not a time"),
    ("start-past-end", "source.png", "poses.npz", ["--start", "2:00"], 2, "past the end"),
    ("unwritable-out", "source.png", "poses.npz", ["--output", "{inputs}/a_file/out.mp4"], 4, "is a file, not a folder"),
]


@pytest.mark.parametrize("source, driving, extra, code, fragment", [case[1:] for case in BAD_ANIMATE],
                         ids=[case[0] for case in BAD_ANIMATE])
def test_animate_bad_input_is_one_clear_line(inputs, tmp_path, source, driving, extra, code, fragment):
    out = tmp_path / "out.mp4"
    extra = [arg.format(inputs=inputs) for arg in extra]
    result = run_cli("animate", inputs / source, inputs / driving, "-o", out, *TINY, *extra, "--json")
    assert_one_line_error(result, code, fragment)
    # --json: stdout holds exactly the error event, with the same code
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events][-1] == "error" and events[-1]["exit_code"] == code
    assert not out.exists() and not (tmp_path / "out.mp4.work").exists()  # nothing rendered, no work dir


def test_unknown_model_is_a_model_error(inputs, tmp_path):
    result = run_cli("animate", inputs / "source.png", inputs / "poses.npz", "-o", tmp_path / "out.mp4",
                     "--model", "no-such-model", "--no-align")
    assert_one_line_error(result, 3, "no-such-model")
    assert not (tmp_path / "out.mp4").exists()


def test_usage_errors_exit_2(inputs, tmp_path):
    missing_output = run_cli("animate", inputs / "source.png", inputs / "poses.npz")
    assert_one_line_error(missing_output, 2, "-o/--output")
    bad_shard = run_cli("batch", inputs / "poses.npz", "--shard", "2/2")
    assert_one_line_error(bad_shard, 2, "--shard 2/2")
    not_a_work_dir = run_cli("resume", inputs / "a_folder")
    assert_one_line_error(not_a_work_dir, 2, "not a render work")
    export_nothing = run_cli("export", inputs / "a_folder", "-o", tmp_path / "x.mp4")
    assert_one_line_error(export_nothing, 2, "not a render work")
    assert not (tmp_path / "x.mp4").exists()


def test_poses_of_a_video_without_a_person_says_so(inputs, tmp_path):
    result = run_cli("poses", inputs / "clip.mp4", "-o", tmp_path / "poses.npz")
    assert_one_line_error(result, 2, "no person found in clip.mp4")
    assert not (tmp_path / "poses.npz").exists()
    # MediaPipe's native log lines are kept off the console
    assert "XNNPACK" not in result.stderr and "W0000" not in result.stderr


def test_animate_with_a_video_without_a_person_stops_before_loading_weights(inputs, tmp_path):
    result = run_cli("animate", inputs / "source.png", inputs / "clip.mp4", "-o", tmp_path / "out.mp4",
                     "--model", "no-such-model")  # an unknown model would be exit 3: the video is checked first
    assert_one_line_error(result, 2, "no person found in clip.mp4")


def test_presets_list_shows_every_bundled_preset(inputs):
    from engine.video.presets import DEFAULT_PRESET

    bundled = sorted(path.stem for path in (REPO / "resources" / "presets").glob("*.toml"))
    table = run_cli("presets", "list")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].startswith(f"{DEFAULT_PRESET} (default)")
    listed = run_cli("presets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    presets = json.loads(listed.stdout)
    assert sorted(p["id"] for p in presets) == bundled
    assert [p["id"] for p in presets if p["default"]] == [DEFAULT_PRESET]
    for preset_id in bundled:
        assert preset_id in table.stdout
