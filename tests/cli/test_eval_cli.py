"""`studio-cli eval`: parser wiring, JSON and table output, written files, and error exits."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError, StudioError
from studio.cli import eval_cmd
from studio.cli.main import exit_code_for
from tests.synthetic_media import write_lossless_video

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def videos(tmp_path, monkeypatch):
    monkeypatch.delenv("TPS_METRIC_WEIGHTS", raising=False)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 200, (32, 40, 3)).astype(np.uint8) for _ in range(8)]
    real = write_lossless_video(tmp_path / "real.mkv", frames)
    brighter = write_lossless_video(tmp_path / "gen.mkv", [(f + 20).astype(np.uint8) for f in frames])
    return real, brighter


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="studio-cli")
    eval_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_json_output_is_one_object_with_every_metric(videos, capsys):
    real, generated = videos
    assert _run(["eval", "--real", str(real), "--generated", str(generated), "--delta", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    metrics = result["metrics"]
    assert metrics["tje_3"]["value"] == 0.0 and metrics["tje_3"]["variant"] == "paper"
    assert metrics["psnr_float"]["value"] == pytest.approx(20 * np.log10(255 / 20))
    assert metrics["psnr_int"]["value"] > metrics["psnr_float"]["value"]  # d = 20 overflows in uint8
    assert result["frames_compared"] == 8 and "lpips" in result["skipped"]


def test_table_output_and_written_files(videos, tmp_path, capsys):
    real, generated = videos
    out = tmp_path / "report"
    argv = ["eval", "--real", str(real), "--generated", str(generated), "--variant", "official", "--out-dir", str(out)]
    assert _run(argv) == 0
    text = capsys.readouterr().out
    assert "TJE variant official" in text and "TJE(Δ=5)" in text and "skipped:" in text
    assert sorted(p.name for p in out.iterdir()) == ["eval.csv", "eval.json", "eval.md"]
    assert json.loads((out / "eval.json").read_text(encoding="utf-8"))["tje_variant"] == "official"


@pytest.mark.parametrize("argv, message", [
    (["eval", "--real", "REAL"], "needs --real VIDEO and --generated VIDEO"),
    (["eval", "--real", "REAL", "--generated", "REAL", "--delta", "0"], "delta"),
    (["eval", "--real", "REAL", "--generated", "nowhere.mp4"], "generated video not found"),
])
def test_user_errors_are_input_errors_with_exit_code_2(videos, argv, message):
    argv = [str(videos[0]) if a == "REAL" else a for a in argv]
    with pytest.raises(InputError, match=message) as caught:
        _run(argv)
    assert isinstance(caught.value, StudioError) and exit_code_for(caught.value) == 2


def test_betas_must_be_numbers():
    assert eval_cmd.parse_betas("0, 0.05,0.1") == [0.0, 0.05, 0.1]
    with pytest.raises(InputError, match="comma-separated"):
        eval_cmd.parse_betas("0,fast")


def test_eval_and_metrics_import_no_qt():
    """House rule: engine/ never imports Qt or studio; studio-cli commands never import Qt."""
    forbidden = {"PySide6", "qasync"}
    files = sorted((REPO / "engine" / "metrics").glob("*.py")) + [REPO / "studio" / "cli" / "eval_cmd.py"]
    assert len(files) >= 10
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            banned = forbidden | ({"studio"} if path.relative_to(REPO).parts[0] == "engine" else set())
            assert not roots & banned, f"{path.name} imports {roots & banned}"


def test_list_weights_names_every_file_and_its_source(capsys):
    assert _run(["eval", "--list-weights"]) == 0
    text = capsys.readouterr().out
    for name in ("vgg16-397923af.pth", "vgg.pth", "i3d_torchscript.pt", "resnet-50-kinetics.pth", "backbone.pth",
                 "syncnet_v2.model", "TPS_METRIC_WEIGHTS", "sha256 397923af"):
        assert name in text


def test_sweep_on_the_demo_model_writes_table_and_plot(tmp_path, capsys):
    samples, demo = REPO / "resources" / "samples", REPO / "resources" / "models" / "demo"
    if not (demo / "model.json").is_file():
        pytest.skip("the demo model is not bundled yet")
    from PIL import Image

    out = tmp_path / "sweep"
    code = _run([
        "eval", "--sweep", str(samples / "source.png"), str(samples / "driving.mp4"),
        "--poses", str(samples / "driving_poses.npz"), "--frames", "6", "--steps", "2",
        "--betas", "0,0.05", "--delta", "2", "--out-dir", str(out),
    ])
    assert code == 0
    rows = (out / "table.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + β 0, β 0.05, independent z_T
    with Image.open(out / "plot.png") as plot:
        assert plot.size[0] > 100 and plot.size[1] > 100
    assert "0.05" in (out / "table.md").read_text()


def test_eval_says_its_tje_default_differs_from_the_official_script(videos, capsys):
    real, generated = videos
    assert _run(["eval", "--real", str(real), "--generated", str(generated), "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays one JSON object
    assert "TJE here uses Δ=5 with the paper variant" in captured.err
    assert "the official script uses Δ=2 with absolute differences (--delta 2 --variant official)" in captured.err
    assert _run(["eval", "--real", str(real), "--generated", str(generated), "--delta", "2", "--variant", "official"]) == 0
    assert "note: TJE" not in capsys.readouterr().err  # nothing to warn about when they agree
