"""β sweep (paper table 5 and figure 7): render one source/driver at several feedback gains β,
plus the "independent z_T per frame" ablation, and tabulate and plot TJE(Δ) and SSIM against β.

The renderer is any callable ``render(beta, independent_noise) -> frames`` (HxWx3 uint8 RGB);
``real_frames()`` gives the real video's frames afresh for each comparison. Nothing is held
in memory but the current frames. Outputs in ``out_dir``: ``table.md``, ``table.csv`` and
``plot.png`` (TJE and SSIM vs β; the ablation as separate markers at its β).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.cancel import CancelToken, check
from engine.errors import InputError, OutputError
from engine.metrics.compare import FrameComparison
from engine.metrics.report import format_value

DEFAULT_BETAS = (0.0, 0.01, 0.05, 0.1, 0.2)
PAPER_BETA = 0.05  # the paper's independent-z_T ablation is reported at its default β


@dataclass(frozen=True)
class SweepRow:
    """One rendered variant and its metrics (``tje`` maps Δ -> value or None)."""

    beta: float
    independent_noise: bool
    frames: int
    ssim: float | None
    psnr_float: float | None
    tje: dict[int, float | None]

    @property
    def label(self) -> str:
        return "independent z_T" if self.independent_noise else "fixed z_T"


@dataclass(frozen=True)
class SweepResult:
    """Rows, written files and the exact (x, y) data drawn in each plot series."""

    rows: list[SweepRow]
    paths: dict[str, Path]
    plotted: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_sweep(
    render: Callable[[float, bool], Iterable[np.ndarray]],
    real_frames: Callable[[], Iterable[np.ndarray]],
    betas: Sequence[float] = DEFAULT_BETAS,
    include_independent: bool = True,
    delta: Sequence[int] = (1, 5),
    out_dir: str | Path = "sweep",
    *,
    independent_beta: float = PAPER_BETA,
    tje_variant: str = "paper",
    ssim_window: str = "gaussian",
    cancel: CancelToken | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Render and score every variant, then write table.md, table.csv and plot.png."""
    # 1. check inputs
    betas = [float(b) for b in betas]
    if not betas:
        raise InputError("the sweep needs at least one β value")
    for beta in betas + ([independent_beta] if include_independent else []):
        if not 0.0 <= beta <= 1.0:
            raise InputError(f"β must lie between 0 and 1, got {beta:g}")
    deltas = tuple(int(d) for d in delta)
    FrameComparison(deltas, tje_variant)  # validates Δ and the variant before any rendering
    variants = [(b, False) for b in betas] + ([(independent_beta, True)] if include_independent else [])

    # 2. render and compare each variant in one streaming pass
    rows, notes = [], []
    for index, (beta, independent) in enumerate(variants):
        check(cancel)
        comparison = FrameComparison(deltas, tje_variant, ssim_window=ssim_window)
        real_iter = iter(real_frames())
        for generated in render(beta, independent):
            check(cancel)
            real = next(real_iter, None)
            if real is None:
                notes.append(f"β={beta:g} rendered more frames than the real video has; compared the first {comparison.frames}")
                break
            if real.shape != generated.shape:
                raise InputError(f"rendered frames are {generated.shape[1]}x{generated.shape[0]} but the real video is "
                                 f"{real.shape[1]}x{real.shape[0]}; render at the real video's size")
            comparison.add(real, generated)
        metrics = comparison.metrics()
        rows.append(SweepRow(beta, independent, comparison.frames, metrics["ssim"]["value"],
                             metrics["psnr_float"]["value"], {d: metrics[f"tje_{d}"]["value"] for d in deltas}))
        if on_progress is not None:
            on_progress(index + 1, len(variants))

    # 3. write the table and the plot
    out_dir = Path(out_dir).expanduser()
    paths = {"markdown": out_dir / "table.md", "csv": out_dir / "table.csv", "plot": out_dir / "plot.png"}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths["markdown"].write_text(format_sweep_markdown(rows, deltas, tje_variant), encoding="utf-8")
        paths["csv"].write_text(format_sweep_csv(rows, deltas), encoding="utf-8")
        plotted = plot_sweep(rows, deltas, paths["plot"])
    except OSError as exc:
        raise OutputError(f"cannot write the sweep results to {out_dir} ({exc.strerror or type(exc).__name__}); "
                          "choose a writable folder") from None
    return SweepResult(rows, paths, plotted, notes)


def _columns(deltas: Sequence[int]) -> list[str]:
    return ["variant", "beta", "frames", "SSIM", "PSNR_float"] + [f"TJE(Δ={d})" for d in deltas]


def _cells(row: SweepRow, deltas: Sequence[int], fmt: Callable[[float | None], str]) -> list[str]:
    return [row.label, f"{row.beta:g}", str(row.frames), fmt(row.ssim), fmt(row.psnr_float)] + [fmt(row.tje[d]) for d in deltas]


def format_sweep_markdown(rows: Sequence[SweepRow], deltas: Sequence[int], tje_variant: str) -> str:
    columns = _columns(deltas)
    lines = [f"# β sweep (TJE variant: {tje_variant})", "", "| " + " | ".join(columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cells(row, deltas, format_value)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def format_sweep_csv(rows: Sequence[SweepRow], deltas: Sequence[int]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_columns(deltas))
    for row in rows:
        writer.writerow(_cells(row, deltas, lambda v: "" if v is None else repr(float(v))))
    return buffer.getvalue()


def plot_sweep(rows: Sequence[SweepRow], deltas: Sequence[int], path: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Draw TJE(Δ) and SSIM against β into ``path`` (PNG); returns each series' plotted (x, y)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot: no global state, any thread
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    tje_axes, ssim_axes = figure.subplots(1, 2)
    plotted: dict[str, tuple[list[float], list[float]]] = {}

    def series(axes, key: str, value_of: Callable[[SweepRow], float | None], independent: bool, **style) -> None:
        points = [(r.beta, value_of(r)) for r in rows if r.independent_noise == independent and value_of(r) is not None]
        if points:
            xs, ys = [p[0] for p in points], [float(p[1]) for p in points]
            axes.plot(xs, ys, **style)
            plotted[key] = (xs, ys)

    for i, d in enumerate(deltas):  # the ablation marker takes its Δ's colour
        series(tje_axes, f"tje_{d}", lambda r, d=d: r.tje[d], False, marker="o", color=f"C{i}", label=f"TJE(Δ={d})")
        series(tje_axes, f"tje_{d}_independent", lambda r, d=d: r.tje[d], True, marker="x", linestyle="none",
               markersize=9, color=f"C{i}", label=f"TJE(Δ={d}), independent z_T")
    series(ssim_axes, "ssim", lambda r: r.ssim, False, marker="o", color="C0", label="SSIM")
    series(ssim_axes, "ssim_independent", lambda r: r.ssim, True, marker="x", linestyle="none", markersize=9,
           color="C0", label="SSIM, independent z_T")
    for axes, title in ((tje_axes, "TJE vs β (lower is better)"), (ssim_axes, "SSIM vs β (higher is better)")):
        axes.set_xlabel("β (feedback gain)")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if axes.has_data():
            axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(str(path), format="png")
    return plotted
