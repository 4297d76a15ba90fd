"""evaluate_videos on real (lossless) video files: values, policies, errors and written tables."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import InputError
from engine.metrics.report import evaluate_videos, format_markdown, write_report

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO / ".." / "shared"


def _values(result: dict) -> dict:
    return {name: entry["value"] for name, entry in result["metrics"].items()}


def test_identical_videos_give_perfect_scores(video_writer, make_frames):
    frames = make_frames(12)
    real, generated = video_writer("real.mkv", frames), video_writer("gen.mkv", frames)
    result = evaluate_videos(real, generated, delta=2)
    assert _values(result) == {"ssim": pytest.approx(1.0, abs=1e-12), "psnr_float": 100.0, "psnr_int": 100.0, "tje_2": 0.0}
    assert result["frames_compared"] == 12 and result["metrics"]["tje_2"]["pairs"] == 10
    assert result["tje_variant"] == "paper" and "variant paper" in result["metrics"]["tje_2"]["method"]
    assert result["notes"] == []
    assert set(result["skipped"]) == {"lpips", "fid_vid", "fvd", "csim", "syncnet", "akd"}


def test_brightness_offset_gives_zero_tje_and_the_closed_form_psnr(video_writer, make_frames):
    frames = make_frames(10)
    real = video_writer("real.mkv", frames)
    brighter = video_writer("gen.mkv", [(f + 10).astype(np.uint8) for f in frames])
    result = evaluate_videos(real, brighter, delta=3, tje_variant="official", networks=())
    values = _values(result)
    assert values["tje_3"] == 0.0 and result["metrics"]["tje_3"]["variant"] == "official"
    assert values["psnr_float"] == pytest.approx(20 * math.log10(25.5), abs=1e-9)
    assert values["psnr_int"] == values["psnr_float"]  # |d| = 10 <= 15: no uint8 overflow


def test_different_lengths_are_trimmed_to_the_shorter_with_a_note(video_writer, make_frames):
    frames = make_frames(12)
    result = evaluate_videos(video_writer("real.mkv", frames), video_writer("gen.mkv", frames[:9]), delta=4, networks=())
    assert result["frames_compared"] == 9 and result["metrics"]["tje_4"]["pairs"] == 5
    assert result["frames"] == {"real": 12, "generated": 9}
    assert any("lengths differ" in note and "first 9" in note for note in result["notes"])


def test_different_sizes_fail_unless_resizing_is_allowed(video_writer, make_frames):
    frames = make_frames(6)
    doubled = [np.repeat(np.repeat(f, 2, axis=0), 2, axis=1) for f in frames]  # 2x2 blocks: area-downscale is exact
    real, generated = video_writer("real.mkv", frames), video_writer("big.mkv", doubled)
    with pytest.raises(InputError, match=r"64x48 but the generated one is 128x96.*--resize"):
        evaluate_videos(real, generated, delta=1, networks=())
    result = evaluate_videos(real, generated, delta=1, size_policy="resize", networks=())
    assert _values(result)["tje_1"] == 0.0 and _values(result)["ssim"] == pytest.approx(1.0)
    assert any("resized from 128x96 to 64x48" in note for note in result["notes"])


def test_bad_arguments_and_files_are_input_errors(video_writer, make_frames, tmp_path):
    real = video_writer("real.mkv", make_frames(4))
    with pytest.raises(InputError, match="delta"):
        evaluate_videos(real, real, delta=0)
    with pytest.raises(InputError, match="variant"):
        evaluate_videos(real, real, tje_variant="signed")
    with pytest.raises(InputError, match="size policy"):
        evaluate_videos(real, real, size_policy="crop")
    with pytest.raises(InputError, match="generated video not found"):
        evaluate_videos(real, tmp_path / "missing.mp4")
    with pytest.raises(InputError, match="real video not found"):
        evaluate_videos(tmp_path / "missing.mp4", real)
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(InputError):
        evaluate_videos(real, tmp_path / "notes.mp4")


def test_short_videos_and_frame_limits_are_noted(video_writer, make_frames):
    real = video_writer("real.mkv", make_frames(10))
    short = evaluate_videos(real, real, delta=20, networks=())
    assert short["metrics"]["tje_20"]["value"] is None and any("at least 21 frames" in n for n in short["notes"])
    limited = evaluate_videos(real, real, delta=2, max_frames=5, networks=())
    assert limited["frames_compared"] == 5 and limited["metrics"]["tje_2"]["pairs"] == 3
    assert limited["notes"] == ["limited to the first 5 frames"]


def test_written_markdown_csv_and_json_hold_the_same_numbers(video_writer, make_frames, tmp_path):
    frames = make_frames(8)
    noisy = [np.clip(f.astype(int) + 7 * (i % 3), 0, 255).astype(np.uint8) for i, f in enumerate(frames)]
    result = evaluate_videos(video_writer("real.mkv", frames), video_writer("gen.mkv", noisy), delta=2)
    paths = write_report(result, tmp_path / "out")
    rows = {row["metric"]: row for row in csv.DictReader(paths["csv"].open(encoding="utf-8"))}
    assert float(rows["TJE(Δ=2)"]["value"]) == result["metrics"]["tje_2"]["value"] > 0
    assert float(rows["SSIM"]["value"]) == result["metrics"]["ssim"]["value"]
    assert rows["LPIPS"]["status"] == "skipped" and "TPS_METRIC_WEIGHTS" in rows["LPIPS"]["details"]
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown == format_markdown(result)
    assert "| metric | value | how |" in markdown and f"| TJE(Δ=2) | {result['metrics']['tje_2']['value']:.4f} |" in markdown
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["metrics"]["psnr_int"]["value"] == result["metrics"]["psnr_int"]["value"]


def test_real_talk_video_against_itself_and_its_pose_rendering():
    talk = SHARED / "data" / "ted" / "talk2.mp4"
    if not talk.is_file():
        pytest.skip(f"real test media not found at {talk}")
    itself = evaluate_videos(talk, talk, delta=5, max_frames=8, networks=())
    assert _values(itself) == {"ssim": pytest.approx(1.0), "psnr_float": 100.0, "psnr_int": 100.0, "tje_5": 0.0}
    # A pose rendering (black background, coloured limbs) is nothing like the photo.
    other = evaluate_videos(talk, talk.with_name("talk2_dwpose.mp4"), delta=5, max_frames=8, networks=())
    values = _values(other)
    assert values["ssim"] < 0.5 and values["psnr_float"] < 15.0 and values["tje_5"] > 0.0
    assert values["psnr_int"] > values["psnr_float"]  # large differences wrap in uint8


class _TinyDetector(torch.nn.Module):
    """The call contract of StyleGAN-V's i3d_torchscript.pt, with a few random weights."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, kernel_size=(4, 32, 32), stride=(4, 32, 32))

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = True):
        return self.conv(x).mean(dim=(2, 3, 4))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script builds the fake detector
def test_network_metrics_run_when_their_weights_are_present(video_writer, make_frames, tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.jit.script(_TinyDetector()).save(str(weights / "i3d_torchscript.pt"))
    frames = make_frames(32)
    real = video_writer("real.mkv", frames)
    result = evaluate_videos(real, real, delta=2, weights_dir=weights)
    assert result["metrics"]["fvd"]["clips"] == 2 and result["metrics"]["fvd"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert "fvd" not in result["skipped"] and "vgg16-397923af.pth not found" in result["skipped"]["lpips"]


def test_without_weights_no_torch_is_imported(video_writer, make_frames):
    real = video_writer("real.mkv", make_frames(4))
    code = ("import sys; from engine.metrics.report import evaluate_videos; "
            f"r = evaluate_videos({str(real)!r}, {str(real)!r}, 1); "
            "assert r['metrics']['tje_1']['value'] == 0.0; assert 'torch' not in sys.modules, 'torch imported'")
    env = {k: v for k, v in os.environ.items() if k != "TPS_METRIC_WEIGHTS"}
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.slow
def test_akd_on_real_talk_frames_recovers_a_known_shift(video_writer, tmp_path):
    talk = SHARED / "data" / "ted" / "talk2.mp4"
    if not talk.is_file():
        pytest.skip(f"real test media not found at {talk}")
    from engine.video.reader import iter_frames

    frames = list(iter_frames(talk, 0, 5))
    real = video_writer("talk.mkv", frames)
    shifted = video_writer("shifted.mkv", [np.roll(f, 6, axis=1) for f in frames])  # the person moves 6 px right
    cache = tmp_path / "poses"
    itself = evaluate_videos(real, real, delta=2, networks=(), pose_metrics=True, pose_cache_dir=cache)
    assert all(itself["metrics"][k]["value"] == 0.0 and itself["metrics"][k]["points"] > 0
               for k in ("akd_face", "akd_hands", "akd_torso", "akd_lips"))
    result = evaluate_videos(real, shifted, delta=2, networks=(), pose_metrics=True, pose_cache_dir=cache)
    values = {k: result["metrics"][k]["value"] for k in ("akd_face", "akd_lips", "akd_torso", "akd_hands")}
    assert values["akd_face"] == pytest.approx(6.0, abs=0.6) and values["akd_lips"] == pytest.approx(6.0, abs=0.6)
    assert values["akd_torso"] == pytest.approx(6.0, abs=1.5) and values["akd_hands"] == pytest.approx(6.0, abs=3.0)
    assert "akd" not in result["skipped"]


def test_bad_ssim_setting_fails_before_any_decoding(tmp_path):
    with pytest.raises(InputError, match="SSIM"):
        evaluate_videos(tmp_path / "missing.mp4", tmp_path / "missing.mp4", ssim_window="box")
