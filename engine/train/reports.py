"""What a training run shows and leaves behind: sample grids, the loss plot, the exported model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from PIL import Image

from engine.errors import OutputError

if TYPE_CHECKING:
    from engine.train.trainer import Trainer


def render_sample_rows(trainer: "Trainer") -> list[np.ndarray]:
    """Rows ``source | pose | target | generated`` for the first ``sample_count`` dataset items.

    Generated with the real render pipeline (a few DDIM steps, CFG as the finished model will be
    used), so the grid shows what ``animate`` would make of the model at this step.
    """
    from engine.config import RenderSettings
    from engine.events import FrameReady
    from engine.pipeline import AnimationPipeline
    from engine.train.train_config import MODEL_DEFAULTS

    config = trainer.config
    settings = RenderSettings(steps=config.sample_steps, cfg=MODEL_DEFAULTS["cfg"], seed=config.seed, width=config.size, height=config.size)
    items = [trainer.dataset.item(i) for i in range(config.sample_count)]
    rows = []
    try:
        pipeline = AnimationPipeline(trainer.components, trainer.device, torch.float32)
        for item in items:
            frames = [e.image for e in pipeline.render(item.source, [item.pose], settings) if isinstance(e, FrameReady)]
            rows.append(np.concatenate([_fit(item.source, config.size), _fit(item.pose, config.size), _fit(item.target, config.size), frames[0]], axis=1))
    finally:
        trainer.restore_training_mode()
    return rows


def write_samples(trainer: "Trainer") -> Path:
    """Write ``samples/step-NNNNNN.png`` and return its path."""
    path = trainer.out_dir / "samples" / f"step-{trainer.global_step:06d}.png"
    grid = np.concatenate(render_sample_rows(trainer), axis=0)
    _save_png(grid, path)
    return path


def write_loss_plot(losses: Sequence[float], path: Path) -> Path:
    """Loss per step (faint) and its moving average (bold), as a PNG; matplotlib's Agg canvas, no GUI."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    steps = np.arange(1, len(losses) + 1)
    values = np.asarray(losses, np.float64)
    axes.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=0.8, label="loss")
    window = max(1, len(values) // 50)
    if window > 1:
        average = np.convolve(values, np.ones(window) / window, mode="valid")
        axes.plot(steps[window - 1:], average, color="tab:blue", linewidth=2, label=f"mean of {window}")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.tight_layout()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.png")
        figure.savefig(partial)
        partial.replace(path)
    except OSError as exc:
        raise OutputError(f"cannot write the loss plot {path} ({exc.strerror or exc}); check free space") from None
    return path


def export_model(trainer: "Trainer") -> Path:
    """Write the trained model as a model folder (``out_dir/model``), ready for ``animate`` or the library."""
    from engine.train.train_config import MODEL_DEFAULTS
    from engine.weights.modelfolder import save_model_folder

    config = trainer.config
    folder = trainer.out_dir / "model"
    notes = config.notes or f"trained with studio-cli train for {trainer.global_step} steps on {config.data}"
    return save_model_folder(trainer.components, folder, config.model_name, resolution=(config.size, config.size),
                             defaults=dict(MODEL_DEFAULTS), notes=notes)


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC))


def _save_png(image: np.ndarray, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.png")
        Image.fromarray(image).save(partial)
        partial.replace(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}); check free space") from None
