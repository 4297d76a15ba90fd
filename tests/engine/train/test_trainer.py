"""The training recipe on tiny components: learning, exact resume, condition dropout, frozen parts, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.cancel import CancelToken
from engine.errors import Cancelled, InputError, SettingsError
from engine.train.dataset import PairDataset, TrainItem
from engine.train.model_init import initial_components
from engine.train.train_config import TrainConfig
from engine.train.trainer import TRAINING_SCHEDULER_CONFIG, Trainer, draw_step_randomness

SIZE = 32


class PatternDataset(PairDataset):
    """Pairs of structured random images, deterministic by (seed, index)."""

    def __init__(self, size: int = SIZE, seed: int = 0):
        self.size, self.seed = size, seed

    def __len__(self) -> int:
        return 1000

    def item(self, index: int) -> TrainItem:
        rng = self._rng(index)
        base = rng.integers(0, 256, (self.size // 4, self.size // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
        return TrainItem(base, np.roll(base, 4, axis=1), (base > 128).astype(np.uint8) * 255)


def tiny_config(**changes) -> TrainConfig:
    values = dict(data="puppets", size=SIZE, init="tiny", steps=4, batch_size=2, lr=3e-3, device="cpu",
                  sample_every=1000, checkpoint_every=1000, sample_count=1, sample_steps=1)
    values.update(changes)
    return TrainConfig(**values)


def make_trainer(tmp_path, **changes) -> Trainer:
    config = tiny_config(**changes)
    return Trainer(config, initial_components(config), PatternDataset(), tmp_path)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {f"{name}.{key}": value.detach().clone() for name, module in trainer.trainable.items() for key, value in module.state_dict().items()}


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(tmp_path):
    trainer = make_trainer(tmp_path, cond_dropout=0.0)
    batch = trainer.make_batch([trainer.dataset.item(i) for i in range(4)])
    before = trainer.evaluate(batch)
    assert trainer.evaluate(batch) == before  # fixed noise and timesteps: the measure itself does not move
    for _ in range(10):
        trainer.step(batch)
    after = trainer.evaluate(batch)
    assert after < 0.8 * before, (before, after)
    assert trainer.global_step == 10 and len(trainer.losses) == 10


def test_frozen_parts_stay_bit_identical_and_trained_parts_change(tmp_path):
    trainer = make_trainer(tmp_path)
    c = trainer.components
    frozen_before = {name: {k: v.clone() for k, v in getattr(c, name).state_dict().items()} for name in ("vae", "image_encoder")}
    trained_before = weights(trainer)
    assert not trained_before["pose_guider.conv_out.weight"].any()  # paper: zero-initialised last layer
    batch = trainer.make_batch([trainer.dataset.item(i) for i in range(2)])
    for _ in range(3):
        trainer.step(batch)
    for name, before in frozen_before.items():
        module = getattr(c, name)
        assert not any(p.requires_grad for p in module.parameters())
        assert all(torch.equal(before[k], v) for k, v in module.state_dict().items()), f"{name} changed"
    after = weights(trainer)
    for prefix in ("reference_unet.", "denoising_unet.", "pose_guider."):
        assert any(not torch.equal(after[k], v) for k, v in trained_before.items() if k.startswith(prefix)), f"{prefix} did not learn"
    assert after["pose_guider.conv_out.weight"].any()


def test_training_schedule_is_zero_snr_v_prediction(tmp_path):
    trainer = make_trainer(tmp_path)
    scheduler = trainer.noise_scheduler
    assert scheduler.config.prediction_type == "v_prediction" and TRAINING_SCHEDULER_CONFIG["beta_schedule"] == "scaled_linear"
    assert float(scheduler.alphas_cumprod[-1]) == 0.0  # zero terminal SNR: the last step is pure noise
    x0, noise = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2)
    t = torch.tensor([999])
    assert torch.allclose(scheduler.add_noise(x0, noise, t), noise) and torch.allclose(scheduler.get_velocity(x0, noise, t), -x0)


def test_resume_after_interruption_repeats_an_uninterrupted_run_exactly(tmp_path):
    changes = dict(steps=4, grad_accum=2, cond_dropout=0.5, checkpoint_every=3)
    straight = make_trainer(tmp_path / "straight", **changes)
    kinds = [event.kind for event in straight.run()]
    assert kinds == ["step", "step", "step", "checkpoint", "step", "sample", "checkpoint", "done"]

    cancel = CancelToken()
    first = make_trainer(tmp_path / "split", **changes)
    with pytest.raises(Cancelled):
        for event in first.run(cancel):
            if event.kind == "step" and event.step == 2:
                cancel.cancel()  # stop after step 2: a checkpoint is written before Cancelled
    assert (tmp_path / "split" / "checkpoints" / "step-000002" / "weights.safetensors").is_file()

    second = make_trainer(tmp_path / "split", **changes)  # fresh process state: new weights, new optimiser
    assert second.resume() == 2
    list(second.run())
    assert second.losses == straight.losses  # floats, compared exactly
    assert second.data_position == straight.data_position == 4 * 4
    straight_weights, second_weights = weights(straight), weights(second)
    assert all(torch.equal(straight_weights[k], second_weights[k]) for k in straight_weights)
    state = json.loads((tmp_path / "split" / "checkpoints" / "step-000004" / "trainer.json").read_text())
    assert state["step"] == 4 and state["losses"] == straight.losses


def test_resume_refuses_another_configuration_and_a_missing_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, steps=1)
    with pytest.raises(InputError, match="no checkpoint"):
        trainer.resume()
    list(trainer.run())
    other = make_trainer(tmp_path, steps=1, batch_size=3)
    with pytest.raises(InputError, match="batch_size"):
        other.resume()


def test_condition_dropout_happens_at_the_configured_rate():
    generator = torch.Generator().manual_seed(0)
    dropped = torch.cat([draw_step_randomness(generator, (100, 4, 2, 2), 0.1)[2] for _ in range(200)])
    assert abs(dropped.float().mean().item() - 0.1) < 0.01  # 20000 samples: 5 standard deviations
    assert not draw_step_randomness(generator, (1000, 4, 2, 2), 0.0)[2].any()


def test_dropped_samples_get_a_zero_clip_token_and_no_reference(tmp_path):
    trainer = make_trainer(tmp_path, cond_dropout=0.3, batch_size=8)
    seen = []

    def spy(module, args, kwargs):
        tokens = kwargs["encoder_hidden_states"]
        seen.append(((tokens == 0).all(dim=(1, 2)), trainer.bank.reference_index.clone()))

    handle = trainer.components.denoising_unet.register_forward_pre_hook(spy, with_kwargs=True)
    batch = trainer.make_batch([trainer.dataset.item(i) for i in range(8)])
    with torch.no_grad():
        for _ in range(12):
            trainer.loss(batch, trainer.generator)
    handle.remove()
    zero_tokens = torch.cat([z for z, _ in seen])
    no_reference = torch.cat([index < 0 for _, index in seen])
    assert torch.equal(zero_tokens, no_reference)  # the two halves of "drop the appearance" always go together
    assert 8 <= int(no_reference.sum()) <= 52  # 96 samples at 0.3: expected 29, far outside 3 sigma otherwise
    assert torch.equal(seen[0][1][~no_reference[:8]], torch.arange(8)[~no_reference[:8]])  # kept rows read their own source


def test_gradient_checkpointing_gives_the_same_step(tmp_path):
    plain = make_trainer(tmp_path / "a")
    checkpointed = make_trainer(tmp_path / "b", gradient_checkpointing=True)
    batch = plain.make_batch([plain.dataset.item(i) for i in range(2)])
    assert plain.step(batch) == pytest.approx(checkpointed.step(batch), abs=1e-6)
    a, b = weights(plain), weights(checkpointed)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert any(not torch.equal(a[k], v) for k, v in weights(make_trainer(tmp_path / "c")).items() if k.startswith("reference_unet."))


def test_run_writes_samples_loss_plot_checkpoints_and_a_loadable_model(tmp_path):
    from PIL import Image

    from engine.weights.modelfolder import load_model_folder

    trainer = make_trainer(tmp_path, steps=2, sample_every=1, checkpoint_every=1, keep_checkpoints=1)
    events = list(trainer.run())
    samples = [e for e in events if e.kind == "sample"]
    assert [e.step for e in samples] == [1, 2]
    grid = np.asarray(Image.open(samples[-1].grid))
    assert grid.shape == (SIZE, 4 * SIZE, 3)  # source | pose | target | generated
    item = trainer.dataset.item(0)
    assert np.array_equal(grid[:, :SIZE], item.source) and np.array_equal(grid[:, SIZE:2 * SIZE], item.pose)
    assert Image.open(tmp_path / "loss.png").size[0] > 100
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-000002"]  # keep_checkpoints=1
    done = events[-1]
    assert done.kind == "done" and done.steps == 2
    loaded = load_model_folder(done.model_dir)
    assert loaded.info.resolution == (SIZE, SIZE)
    assert torch.equal(loaded.components.pose_guider.conv_out.weight, trainer.components.pose_guider.conv_out.weight)


def test_train_config_reads_toml_resolves_paths_and_names_bad_fields(tmp_path):
    (tmp_path / "train.toml").write_text('data = "data"\nsize = 64\ninit = "none"\nsteps = 5\n[architecture]\nunet_channels = [16, 32]\n')
    config = TrainConfig.from_toml(tmp_path / "train.toml")
    assert config.data == str((tmp_path / "data").resolve()) and config.out_dir == str((tmp_path / "training").resolve())
    assert config.architecture.unet_channels == (16, 32) and config.steps == 5 and config.loss == "l1" and config.cond_dropout == 0.1
    for text, field in [("stepz = 3", "stepz"), ("loss = 'huber'", "loss"), ("size = 60", "size"), ("cond_dropout = 1.0", "cond_dropout"),
                        ("[architecture]\nvae_channels = [8, 8]", "architecture.vae_channels")]:
        (tmp_path / "bad.toml").write_text(text + "\n")
        with pytest.raises(SettingsError) as error:
            TrainConfig.from_toml(tmp_path / "bad.toml")
        assert error.value.field == field
    (tmp_path / "broken.toml").write_text("size = = 3")
    with pytest.raises(InputError, match="not valid TOML"):
        TrainConfig.from_toml(tmp_path / "broken.toml")


def test_size_the_unet_cannot_halve_is_a_clear_error():
    with pytest.raises(SettingsError) as error:
        initial_components(tiny_config(size=24))  # latents 3x3; the tiny UNet halves once
    assert error.value.field == "size" and "multiple of 16" in str(error.value)


def test_demo_architecture_builds_and_fits(tmp_path):
    components = initial_components(TrainConfig(init="demo-arch", size=64))
    assert tuple(components.denoising_unet.config.block_out_channels) == (32, 64, 128)
    assert components.vae_scale_factor == 8 and not components.pose_guider.conv_out.weight.any()
    assert torch.equal(components.reference_unet.conv_in.weight, components.denoising_unet.conv_in.weight)


def test_vae_learning_rate_decays_from_lr_to_a_tenth():
    from engine.train.vae_trainer import VaeTrainConfig, vae_learning_rate

    config = VaeTrainConfig(steps=101, lr=1e-3)
    rates = [vae_learning_rate(config, step) for step in range(101)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-4) and rates[50] == pytest.approx(5.5e-4)
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_small_vae_learns_and_its_scaling_factor_gives_unit_variance_latents(tmp_path):
    from diffusers import AutoencoderKL

    from engine.train.vae_trainer import VaeTrainConfig, latent_scaling_factor, reconstruction_error, train_vae

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (4, 4, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1) for _ in range(8)]
    settings = dict(channels=(8, 8, 8, 8), norm_num_groups=4, size=32, batch_size=4, lr=1e-2, device="cpu", scale_images=8)
    untrained = train_vae(images, VaeTrainConfig(steps=0, **settings))
    losses = []
    vae = train_vae(images, VaeTrainConfig(steps=100, **settings), tmp_path / "vae", on_step=lambda step, loss: losses.append(loss))
    assert len(losses) == 100
    assert reconstruction_error(vae, images, 32) < 0.85 * reconstruction_error(untrained, images, 32)
    assert vae.config.block_out_channels == (8, 8, 8, 8) and vae.config.latent_channels == 4
    # the factor was measured on random draws from these 8 images: scaled latents have about unit std on them
    with torch.no_grad():
        latents = torch.cat([vae.encode(torch.from_numpy(i).permute(2, 0, 1)[None].float() / 127.5 - 1).latent_dist.mean for i in images])
    assert float(latents.std() * vae.config.scaling_factor) == pytest.approx(1.0, rel=0.25)
    assert latent_scaling_factor(vae, images, 32) == pytest.approx(float(1 / latents.std()), rel=1e-4)
    loaded = AutoencoderKL.from_pretrained(tmp_path / "vae")
    assert loaded.config.scaling_factor == pytest.approx(vae.config.scaling_factor)
    assert all(torch.equal(a, b) for a, b in zip(vae.state_dict().values(), loaded.state_dict().values()))


def test_fine_tuning_keeps_the_trained_pose_guider_unless_told_otherwise(tmp_path):
    from engine.models.components import tiny_components
    from engine.train.model_init import pose_guider_mode
    from engine.weights import save_model_folder

    trained = tiny_components(seed=3)
    torch.manual_seed(5)
    with torch.no_grad():
        for parameter in trained.pose_guider.parameters():
            parameter.normal_(0, 0.3)  # as after training: the last layer is no longer zero
    folder = save_model_folder(trained, tmp_path / "trained", "trained", resolution=(SIZE, SIZE))
    expected = {k: v.clone() for k, v in trained.pose_guider.state_dict().items()}

    assert TrainConfig().pose_guider_init == "auto"
    kept = initial_components(tiny_config(init=str(folder)))
    for key, value in kept.pose_guider.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert pose_guider_mode(tiny_config(init=str(folder))) == "keep"

    reset = initial_components(tiny_config(init=str(folder), pose_guider_init="gaussian"))
    assert not reset.pose_guider.conv_out.weight.any()  # asked for: the paper's init, zero last layer
    # a fresh start has nothing to keep: "auto" means the paper's init there
    assert pose_guider_mode(tiny_config(init="tiny")) == "gaussian"
    assert not initial_components(tiny_config(init="tiny")).pose_guider.conv_out.weight.any()
