"""``studio-cli train``: train or fine-tune a model with the paper's recipe; the result joins the model library.

    studio-cli train CONFIG.toml [--resume] [--replace] [--json]

Ctrl-C stops after the current step and writes a checkpoint; ``--resume`` continues from it.
Imports no Qt. Errors are engine.errors exceptions; studio.cli prints them and exits with their code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from engine.errors import InputError, ModelError, SettingsError


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand; its parser sets ``func=run``."""
    parser = subparsers.add_parser(
        "train", help="train or fine-tune a model on a dataset (or the synthetic puppets)",
        description="Train the ReferenceNet, denoising UNet and Pose Guider as the TalkingPose paper does "
                    "(frozen CLIP and VAE, v-prediction, L1 loss, 10%% condition dropout). Writes checkpoints, "
                    "sample grids and a loss plot to the config's out_dir and adds the model to the library.")
    parser.add_argument("config", type=Path, metavar="CONFIG", help="training settings (TOML; every key is documented in the README)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in the config's out_dir")
    parser.add_argument("--replace", action="store_true", help="replace a library model that has the config's model_name")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event instead of a progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``train`` and return the exit code."""
    from engine.cancel import CancelToken
    from engine.train.dataset import open_dataset
    from engine.train.model_init import initial_components, prepare_vae
    from engine.train.train_config import TrainConfig
    from engine.train.trainer import Trainer
    from engine.weights.library import Library, check_model_name

    config = TrainConfig.from_toml(args.config)
    try:
        check_model_name(config.model_name)
    except ModelError as error:
        raise SettingsError("model_name", str(error)) from None
    library = Library()
    if library.has(config.model_name) and not args.replace:
        raise InputError(f"a model named {config.model_name!r} is already in the library; change model_name in {args.config.name} or pass --replace")
    out_dir = Path(config.out_dir)
    cancel = CancelToken()
    model_dir = None
    show = _JsonOutput() if args.json else _BarOutput()
    with _cancel_on_ctrl_c(cancel, show):
        dataset = open_dataset(config.data, config.size, config.seed)
        vae_dir = prepare_vae(config, dataset, out_dir, cancel, on_step=lambda step, loss: show.vae_step(step, config.vae_steps, loss))
        trainer = Trainer(config, initial_components(config, vae_dir), dataset, out_dir)
        if args.resume:
            show.note(f"resuming at step {trainer.resume()} of {config.steps}")
        show.start(trainer.global_step, config.steps)
        for event in trainer.run(cancel):
            show.event(event)
            if event.kind == "done":
                model_dir = event.model_dir
        show.close()
    if library.has(config.model_name):
        library.remove(config.model_name)
    installed = library.import_(model_dir, name=config.model_name)
    show.finished(config.model_name, installed)
    return 0


@contextlib.contextmanager
def _cancel_on_ctrl_c(cancel, show):
    """First Ctrl-C: stop after this step (a checkpoint is written); a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        show.note("stopping after this step and writing a checkpoint (Ctrl-C again to quit at once)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _BarOutput:
    """tqdm progress bars on stderr; file notes on stdout."""

    def __init__(self):
        self.bar = None
        self.vae_bar = None

    def vae_step(self, step: int, total: int, loss: float) -> None:
        from tqdm import tqdm

        if self.vae_bar is None:
            self.vae_bar = tqdm(total=total, desc="training the VAE", unit="step", file=sys.stderr, dynamic_ncols=True)
        self.vae_bar.update(1)
        self.vae_bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        if step >= total:
            self.vae_bar.close()

    def start(self, step: int, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=step, desc="training", unit="step", file=sys.stderr, dynamic_ncols=True)

    def event(self, event) -> None:
        if event.kind == "step":
            self.bar.set_postfix(loss=f"{event.loss:.4f}", eta=_format_seconds(event.eta_seconds), refresh=False)
            self.bar.update(event.step - self.bar.n)
        elif event.kind == "sample":
            self.note(f"step {event.step}: samples {event.grid}, loss plot {event.plot}")
        elif event.kind == "checkpoint":
            self.note(f"step {event.step}: checkpoint {event.path}")

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def finished(self, name: str, folder: Path) -> None:
        print(f"model {name!r} is in the library ({folder}); render with it by its name", flush=True)


class _JsonOutput:
    """One JSON object per line on stdout (for scripts and render farms)."""

    def _print(self, **fields) -> None:
        print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in fields.items()}), flush=True)

    def vae_step(self, step: int, total: int, loss: float) -> None:
        self._print(event="vae-step", step=step, total_steps=total, loss=loss)

    def start(self, step: int, total: int) -> None:
        self._print(event="start", step=step, total_steps=total)

    def event(self, event) -> None:
        fields = {k: v for k, v in vars(event).items() if k != "kind"}
        self._print(event=event.kind, **fields)

    def note(self, text: str) -> None:
        self._print(event="message", text=text)

    def close(self) -> None:
        pass

    def finished(self, name: str, folder: Path) -> None:
        self._print(event="installed", name=name, folder=folder)
