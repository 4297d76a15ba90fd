"""The paper's training recipe (section 4.2) as a generator of events.

A sample is (source frame, target frame, target pose image) from one clip. CLIP and the VAE are
frozen; the ReferenceNet, the denoising UNet and the Pose Guider learn. The target's latent is
noised with the training schedule (scaled-linear betas 0.00085..0.012, 1000 steps, rescaled to
zero terminal SNR) and the UNet predicts the velocity v (v-prediction); the loss is L1 (the
paper's) or MSE. For ~10% of the samples the appearance is dropped (zero CLIP token and no
reference), which is what classifier-free guidance needs at inference.

All randomness of a step (noise, timesteps, dropout) comes from the trainer's own generator and
the data from ``dataset.item(position)``, so a run resumed from a checkpoint repeats an
uninterrupted run bit for bit.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from diffusers import DDPMScheduler
from torch.nn import functional as F

from engine.cancel import CancelToken
from engine.device import resolve_device
from engine.errors import Cancelled, InputError
from engine.models import encode
from engine.models.components import Components, pose_features_added
from engine.models.reference_attention import install_reference_attention
from engine.pipeline import image_to_tensor
from engine.train import checkpoint as ckpt
from engine.train.dataset import PairDataset, TrainItem
from engine.train.train_config import MODEL_DEFAULTS, TrainConfig  # noqa: F401  (MODEL_DEFAULTS: public here too)

# docs/architecture.md, "Model" (training): what the released models were trained with (inference uses "linear").
TRAINING_SCHEDULER_CONFIG = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="v_prediction",
    rescale_betas_zero_snr=True,
    clip_sample=False,
    timestep_spacing="trailing",
)


@dataclass(frozen=True)
class TrainBatch:
    """Images as (B, 3, H, W) float tensors in [0, 1]; ``clip_source`` is the source at CLIP's input size."""

    source: torch.Tensor
    target: torch.Tensor
    pose: torch.Tensor
    clip_source: torch.Tensor

    def __len__(self) -> int:
        return int(self.source.shape[0])

    def chunks(self, count: int) -> list["TrainBatch"]:
        """Split into ``count`` micro-batches (for gradient accumulation)."""
        parts = [tensor.tensor_split(count) for tensor in (self.source, self.target, self.pose, self.clip_source)]
        return [TrainBatch(*fields) for fields in zip(*parts) if len(fields[0])]


@dataclass(frozen=True)
class StepDone:
    """One optimiser step finished."""

    step: int
    total_steps: int
    loss: float
    lr: float
    seconds_per_step: float
    eta_seconds: float
    kind: str = "step"


@dataclass(frozen=True)
class SampleWritten:
    """A sample grid (rows: source | pose | target | generated) and the loss plot were written."""

    step: int
    grid: Path
    plot: Path
    kind: str = "sample"


@dataclass(frozen=True)
class CheckpointWritten:
    step: int
    path: Path
    kind: str = "checkpoint"


@dataclass(frozen=True)
class TrainingDone:
    """Training finished; ``model_dir`` is the exported model folder."""

    steps: int
    loss: float
    model_dir: Path
    seconds: float
    kind: str = "done"


TrainEvent = StepDone | SampleWritten | CheckpointWritten | TrainingDone


class Trainer:
    """Trains ``components`` on ``dataset`` as ``config`` says; everything it writes goes to ``out_dir``."""

    def __init__(self, config: TrainConfig, components: Components, dataset: PairDataset, out_dir: str | Path):
        self.config, self.dataset, self.out_dir = config, dataset, Path(out_dir)
        self.device = resolve_device(config.device)
        self.components = components.to(self.device, torch.float32)  # trained weights stay fp32; autocast does the rest
        c = self.components
        for frozen in (c.vae, c.image_encoder):
            frozen.requires_grad_(False).eval()
        self.trainable = {"reference_unet": c.reference_unet, "denoising_unet": c.denoising_unet, "pose_guider": c.pose_guider}
        for module in self.trainable.values():
            module.requires_grad_(True).train()
        if config.gradient_checkpointing:
            c.reference_unet.enable_gradient_checkpointing()
            c.denoising_unet.enable_gradient_checkpointing()
        self.bank = install_reference_attention(c.reference_unet, c.denoising_unet)
        self.noise_scheduler = DDPMScheduler(**TRAINING_SCHEDULER_CONFIG)
        self.parameters = [p for module in self.trainable.values() for p in module.parameters()]
        self.optimizer = torch.optim.AdamW(self.parameters, lr=config.lr, weight_decay=config.weight_decay)
        self.autocast_dtype = _autocast_dtype(config.mixed_precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.generator = torch.Generator().manual_seed(config.seed)
        self.vae_scaling = encode.vae_scaling(c.vae)
        self.clip_size = int(c.image_encoder.config.image_size)
        self.global_step = 0
        self.data_position = 0  # dataset items consumed so far
        self.losses: list[float] = []
        self._saved_step = -1
        self._frozen_fingerprint: str | None = None

    # -- one step -------------------------------------------------------------------------------
    def make_batch(self, items: list[TrainItem]) -> TrainBatch:
        """Stack items into tensors, resized exactly as the render pipeline resizes its inputs."""
        size = self.config.size

        def stack(images, side):
            return torch.cat([image_to_tensor(image, side, side) for image in images])

        return TrainBatch(
            source=stack([i.source for i in items], size),
            target=stack([i.target for i in items], size),
            pose=stack([i.pose for i in items], size),
            clip_source=stack([i.source for i in items], self.clip_size),
        )

    def step(self, batch: TrainBatch) -> float:
        """One optimiser step on ``batch`` (split into ``grad_accum`` micro-batches); returns the mean loss."""
        lr = self.learning_rate(self.global_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        parts = batch.chunks(self.config.grad_accum)
        total = 0.0
        for part in parts:
            loss = self.loss(part, self.generator, dropout=True)
            scaled = loss * (len(part) / len(batch))
            (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
            self.bank.clear()  # the stored reference states hold the graph; free them now
            total += float(loss.detach()) * len(part)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.config.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.config.max_grad_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.global_step += 1
        mean_loss = total / len(batch)
        self.losses.append(mean_loss)
        return mean_loss

    def loss(self, batch: TrainBatch, generator: torch.Generator, dropout: bool = True) -> torch.Tensor:
        """The training loss on ``batch``: v-prediction error of the denoising UNet (with graph)."""
        c, device = self.components, self.device
        count = len(batch)
        with torch.no_grad():
            clip_embeds = encode.clip_embeds(c.image_encoder, batch.clip_source, device)
            source_latents = encode.vae_latents(c.vae, batch.source, self.vae_scaling, device)
            target_latents = encode.vae_latents(c.vae, batch.target, self.vae_scaling, device)
        noise, timesteps, dropped = draw_step_randomness(
            generator, tuple(target_latents.shape), self.config.cond_dropout if dropout else 0.0,
            self.noise_scheduler.config.num_train_timesteps)
        noise, timesteps = noise.to(device), timesteps.to(device)
        noisy = self.noise_scheduler.add_noise(target_latents, noise, timesteps)
        velocity = self.noise_scheduler.get_velocity(target_latents, noise, timesteps)
        tokens = torch.where(dropped.to(device).view(count, 1, 1), torch.zeros_like(clip_embeds), clip_embeds)
        with self._autocast():
            # 1. ReferenceNet at timestep 0 on the source (as at inference): its blocks fill the bank
            self.bank.clear()
            c.reference_unet(source_latents, torch.zeros(count, device=device), encoder_hidden_states=clip_embeds)
            # 2. dropped samples attend without the reference, like the unconditional CFG half
            self.bank.reference_index = torch.where(dropped, torch.tensor(-1), torch.arange(count))
            # 3. denoising UNet with the Pose Guider's features added after conv_in
            features = c.pose_guider(batch.pose.to(device))
            with pose_features_added(c.denoising_unet, features):
                prediction = c.denoising_unet(noisy, timesteps, encoder_hidden_states=tokens).sample
        if self.config.loss == "mse":
            return F.mse_loss(prediction.float(), velocity.float())
        return F.l1_loss(prediction.float(), velocity.float())

    @torch.no_grad()
    def evaluate(self, batch: TrainBatch, seed: int = 0) -> float:
        """The loss on ``batch`` with fixed noise and timesteps and no dropout: comparable across steps."""
        modes = {name: module.training for name, module in self.trainable.items()}
        for module in self.trainable.values():
            module.eval()
        try:
            value = float(self.loss(batch, torch.Generator().manual_seed(seed), dropout=False))
        finally:
            self.bank.clear()
            for name, module in self.trainable.items():
                module.train(modes[name])
        return value

    def learning_rate(self, step: int) -> float:
        """Constant (paper) after an optional linear warm-up."""
        if self.config.warmup_steps and step < self.config.warmup_steps:
            return self.config.lr * (step + 1) / self.config.warmup_steps
        return self.config.lr

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    # -- the whole run --------------------------------------------------------------------------
    def run(self, cancel: CancelToken | None = None) -> Iterator[TrainEvent]:
        """Train up to ``config.steps``, yielding events; cancelling writes a checkpoint, then raises Cancelled."""
        from engine.train import reports

        config = self.config
        started = time.perf_counter()
        recent: list[float] = []
        while self.global_step < config.steps:
            if cancel is not None and cancel.cancelled:
                self._checkpoint()
                raise Cancelled(f"training stopped at step {self.global_step}; continue it with --resume")
            step_started = time.perf_counter()
            items = [self.dataset.item(self.data_position + i) for i in range(config.effective_batch)]
            loss = self.step(self.make_batch(items))
            self.data_position += len(items)
            recent = (recent + [time.perf_counter() - step_started])[-20:]
            per_step = sum(recent) / len(recent)
            yield StepDone(self.global_step, config.steps, loss, self.learning_rate(self.global_step - 1), per_step,
                           per_step * (config.steps - self.global_step))
            last = self.global_step == config.steps
            if self.global_step % config.sample_every == 0 or last:
                grid, plot = reports.write_samples(self), reports.write_loss_plot(self.losses, self.out_dir / "loss.png")
                yield SampleWritten(self.global_step, grid, plot)
            if self.global_step % config.checkpoint_every == 0 or last:
                yield CheckpointWritten(self.global_step, self._checkpoint())
        model_dir = reports.export_model(self)
        yield TrainingDone(self.global_step, self.losses[-1] if self.losses else float("nan"), model_dir, time.perf_counter() - started)

    def restore_training_mode(self) -> None:
        """After the render pipeline borrowed the modules (samples): training mode and our reference bank again."""
        c = self.components
        c.to(self.device, torch.float32)
        for frozen in (c.vae, c.image_encoder):
            frozen.eval()
        for module in self.trainable.values():
            module.train()
        self.bank = install_reference_attention(c.reference_unet, c.denoising_unet)

    # -- checkpoints ----------------------------------------------------------------------------
    @property
    def checkpoint_root(self) -> Path:
        return self.out_dir / "checkpoints"

    def _checkpoint(self) -> Path:
        folder = self.checkpoint_root / ckpt.checkpoint_name(self.global_step)
        if self._saved_step == self.global_step and folder.is_dir():
            return folder
        state = dict(step=self.global_step, data_position=self.data_position, losses=self.losses, config=self.config.to_dict(),
                     frozen_fingerprint=self.frozen_fingerprint())
        ckpt.save_checkpoint(folder, self.trainable, self.optimizer, self.generator, state, self.scaler)
        ckpt.prune_checkpoints(self.checkpoint_root, self.config.keep_checkpoints)
        self._saved_step = self.global_step
        return folder

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current step (``run`` does this every ``checkpoint_every`` steps)."""
        return self._checkpoint()

    def resume(self, folder: str | Path | None = None) -> int:
        """Continue from ``folder`` (default: the newest checkpoint in ``out_dir``); returns its step."""
        folder = Path(folder) if folder is not None else ckpt.latest_checkpoint(self.checkpoint_root)
        if folder is None or not (folder / ckpt.STATE_FILE).is_file():
            raise InputError(f"no checkpoint to resume from in {self.checkpoint_root}; start the training without --resume")
        state = ckpt.load_checkpoint(folder, self.trainable, self.optimizer, self.generator, self.scaler)
        saved = state.get("config", {})
        for name in ("size", "init", "data", "architecture", "batch_size", "grad_accum", "seed"):
            if name in saved and saved[name] != self.config.to_dict()[name]:
                raise InputError(f"the checkpoint in {folder} was made with a different '{name}'; use the same value to resume, or start a new run in another out_dir")
        if state.get("frozen_fingerprint") != self.frozen_fingerprint():
            raise InputError(f"the frozen VAE or image encoder differ from the ones the checkpoint {folder.name} was trained with; resume with the same model parts")
        self.global_step, self.data_position = int(state["step"]), int(state["data_position"])
        self.losses = [float(v) for v in state["losses"]]
        self._saved_step = self.global_step
        return self.global_step

    def frozen_fingerprint(self) -> str:
        """A hash of the frozen VAE and image encoder weights (resuming with other ones would be wrong)."""
        import hashlib

        if self._frozen_fingerprint is not None:  # frozen: hashing once is enough
            return self._frozen_fingerprint
        digest = hashlib.sha256()
        for module in (self.components.vae, self.components.image_encoder):
            for key, value in module.state_dict().items():
                digest.update(key.encode())
                digest.update(np.ascontiguousarray(value.detach().float().cpu().numpy()).tobytes())
        self._frozen_fingerprint = digest.hexdigest()[:32]
        return self._frozen_fingerprint


def draw_step_randomness(generator: torch.Generator, latent_shape: tuple[int, ...], cond_dropout: float,
                         num_train_timesteps: int = 1000) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noise, timesteps, dropped) for one batch, all drawn on the CPU from ``generator``.

    Drawing on the CPU makes a run identical on every device and restorable from a checkpoint.
    ``dropped[i]`` says whether sample i trains without appearance (probability ``cond_dropout``).
    """
    count = latent_shape[0]
    noise = torch.randn(latent_shape, generator=generator)
    timesteps = torch.randint(0, num_train_timesteps, (count,), generator=generator)
    dropped = torch.rand(count, generator=generator) < cond_dropout
    return noise, timesteps, dropped


def _autocast_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """Mixed precision is a CUDA feature here; on the CPU and MPS training stays fp32."""
    if device.type != "cuda" or setting == "no":
        return None
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if setting == "bf16" else torch.float16
