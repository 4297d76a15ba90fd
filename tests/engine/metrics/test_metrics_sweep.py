"""β sweep with a fake renderer whose noise depends on β: tables, plot and plotted points."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from engine.errors import InputError
from engine.metrics.sweep import run_sweep


def _noisy_renderer(real: list[np.ndarray], calls: list):
    """Frames = real + noise whose strength grows with |β - 0.05|; independent z_T adds more."""

    def render(beta: float, independent: bool):
        calls.append((beta, independent))
        sigma = 4.0 + 200.0 * abs(beta - 0.05) + (60.0 if independent else 0.0)
        rng = np.random.default_rng(int(beta * 1000) + independent)
        for frame in real:
            yield np.clip(frame + rng.normal(0.0, sigma, frame.shape), 0, 255).astype(np.uint8)

    return render


def test_sweep_writes_table_csv_and_a_plot_with_one_point_per_variant(tmp_path, make_frames):
    real = make_frames(10)
    calls: list = []
    betas = (0.0, 0.05, 0.2)
    result = run_sweep(_noisy_renderer(real, calls), lambda: iter(real), betas, True, (1, 3), tmp_path / "sweep")
    assert calls == [(0.0, False), (0.05, False), (0.2, False), (0.05, True)]
    fixed = {row.beta: row for row in result.rows if not row.independent_noise}
    independent = [row for row in result.rows if row.independent_noise][0]
    # The fake noise is smallest at β = 0.05 and largest for independent z_T: metrics must follow it.
    for d in (1, 3):
        assert fixed[0.05].tje[d] < fixed[0.0].tje[d] < fixed[0.2].tje[d] < independent.tje[d]
    assert fixed[0.05].ssim > fixed[0.0].ssim > fixed[0.2].ssim > independent.ssim
    assert all(row.frames == 10 for row in result.rows)

    image = cv2.imread(str(result.paths["plot"]))
    assert image is not None and image.shape == (360, 900, 3) and image.std() > 10
    assert result.plotted["tje_1"] == ([0.0, 0.05, 0.2], [fixed[b].tje[1] for b in betas])
    assert result.plotted["tje_3"][0] == [0.0, 0.05, 0.2] and result.plotted["ssim"][0] == [0.0, 0.05, 0.2]
    assert result.plotted["tje_3_independent"] == ([0.05], [independent.tje[3]])
    assert result.plotted["ssim_independent"] == ([0.05], [independent.ssim])

    table = list(csv.DictReader(result.paths["csv"].open(encoding="utf-8")))
    assert [(r["variant"], r["beta"]) for r in table] == [
        ("fixed z_T", "0"), ("fixed z_T", "0.05"), ("fixed z_T", "0.2"), ("independent z_T", "0.05")]
    assert float(table[3]["TJE(Δ=3)"]) == independent.tje[3]
    markdown = result.paths["markdown"].read_text(encoding="utf-8")
    assert "| variant | beta | frames | SSIM | PSNR_float | TJE(Δ=1) | TJE(Δ=3) |" in markdown
    assert markdown.count("\n| ") == 5  # header + 4 rows


def test_a_perfect_renderer_scores_zero_jitter(tmp_path, make_frames):
    real = make_frames(6)
    result = run_sweep(lambda beta, independent: iter(real), lambda: iter(real), (0.0, 0.1), False, (2,), tmp_path)
    assert [(row.tje[2], row.ssim) for row in result.rows] == [(0.0, pytest.approx(1.0))] * 2
    assert "tje_2_independent" not in result.plotted and len(result.plotted["tje_2"][0]) == 2


def test_bad_sweep_settings_fail_before_rendering(tmp_path, make_frames):
    real = make_frames(4)
    calls: list = []
    render = _noisy_renderer(real, calls)
    with pytest.raises(InputError, match="between 0 and 1"):
        run_sweep(render, lambda: iter(real), (0.0, -0.1), out_dir=tmp_path)
    with pytest.raises(InputError, match="delta"):
        run_sweep(render, lambda: iter(real), (0.0,), delta=(0,), out_dir=tmp_path)
    with pytest.raises(InputError, match="at least one"):
        run_sweep(render, lambda: iter(real), (), out_dir=tmp_path)
    assert calls == []
    small = [f[:20, :20] for f in real]
    with pytest.raises(InputError, match="render at the real video's size"):
        run_sweep(lambda b, i: iter(small), lambda: iter(real), (0.0,), False, out_dir=tmp_path)
