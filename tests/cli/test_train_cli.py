"""`studio-cli train` and `studio-cli dataset` end to end on tiny inputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from engine.pose.keypoints import Pose, PoseSequence
from studio.cli import main

SIZE = 32


def _pose(t: float) -> Pose:
    pose = Pose.empty()
    pose.body[[1, 2, 5, 3, 6]] = [(0.5, 0.45, 1), (0.35, 0.5, 1), (0.65, 0.5, 1), (0.3, 0.7 - t * 0.3, 1), (0.7, 0.7, 1)]
    pose.face[:, :2] = np.stack([np.linspace(0.42, 0.58, 68), np.linspace(0.2, 0.35, 68)], axis=1)
    pose.face[:, 2] = 1
    return pose


def make_dataset(root: Path, clips: int = 2, frames: int = 4) -> Path:
    """A dataset folder in the builder's layout, without running pose extraction."""
    entries = []
    for c in range(clips):
        folder = root / "clips" / f"clip{c}"
        folder.mkdir(parents=True)
        poses = [_pose(f / frames) for f in range(frames)]
        for f in range(frames):
            image = np.full((SIZE, SIZE, 3), 40 * c + 30, np.uint8)
            cv2.circle(image, (int(poses[f].body[3, 0] * SIZE), int(poses[f].body[3, 1] * SIZE)), 4, (255, 200, 0), -1)
            cv2.imwrite(str(folder / f"{f:06d}.jpg"), image[:, :, ::-1])
        PoseSequence.from_poses(poses, 20.0, width=SIZE, height=SIZE).save(folder / "poses.npz")
        entries.append({"video": f"clip{c}.mp4", "fingerprint": str(c), "status": "kept", "folder": f"clips/clip{c}", "poses": "poses.npz", "frames": frames})
    (root / "index.json").write_text(json.dumps({"format_version": 1, "size": SIZE, "fps": 20.0, "clips": entries}))
    return root


def write_config(folder: Path, **extra) -> Path:
    values = dict(data="data", size=SIZE, init="tiny", steps=3, batch_size=2, lr=1e-3, sample_every=2, checkpoint_every=2,
                  sample_steps=1, sample_count=1, device="cpu", model_name="tiny-test", out_dir="run")
    values.update(extra)
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path = folder / "train.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_produces_a_library_model_that_renders(tmp_path, capsys):
    from engine.config import RenderSettings
    from engine.events import FrameReady
    from engine.pipeline import AnimationPipeline
    from engine.pose.draw import draw_pose
    from engine.train.dataset import FolderDataset
    from engine.weights.library import Library, load_model

    make_dataset(tmp_path / "data")
    config = write_config(tmp_path, vae="train", vae_steps=2)
    assert main(["train", str(config), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds.count("vae-step") == 2 and kinds.count("step") == 3
    assert kinds[-2:] == ["done", "installed"] and "checkpoint" in kinds and "sample" in kinds
    assert all(np.isfinite(line["loss"]) for line in lines if line["event"] == "step")
    assert (tmp_path / "run" / "vae" / "config.json").is_file() and (tmp_path / "run" / "loss.png").is_file()

    assert Library().has("tiny-test")
    model = load_model("tiny-test").components
    assert float(model.vae.config.scaling_factor) != 0.18215  # the VAE trained for this run, with its own scale
    source = FolderDataset(tmp_path / "data").item(0).source
    poses = [draw_pose(_pose(t), SIZE, SIZE) for t in (0.0, 1.0)]
    settings = RenderSettings(steps=2, width=SIZE, height=SIZE, device="cpu", dtype="fp32")

    def render(components):
        return [e.image for e in AnimationPipeline(components).render(source, poses, settings) if isinstance(e, FrameReady)]

    frames = render(model)
    assert len(frames) == 2 and frames[0].shape == (SIZE, SIZE, 3)
    assert all(np.array_equal(a, b) for a, b in zip(frames, render(load_model(tmp_path / "run" / "model").components)))

    # `animate` renders with it by its library name
    big = cv2.resize(source, (2 * source.shape[1], 2 * source.shape[0]), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / "source.png"), big[:, :, ::-1])  # sources need 64 px on the short side
    PoseSequence.from_poses([_pose(t) for t in (0.0, 0.5, 1.0)], 20.0, width=SIZE, height=SIZE).save(tmp_path / "drive.npz")
    capsys.readouterr()
    out = tmp_path / "out.mp4"
    assert main(["animate", str(tmp_path / "source.png"), str(tmp_path / "drive.npz"), "-o", str(out), "--model", "tiny-test",
                 "--steps", "2", "--size", f"{SIZE}x{SIZE}", "--no-align", "--no-audio", "--quiet"]) == 0
    import av

    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3

    # the same name again is refused before any training, unless --replace
    assert main(["train", str(config)]) == 2
    assert "already in the library" in capsys.readouterr().err


def test_bad_config_and_missing_checkpoint_are_one_line_errors(tmp_path, capsys):
    make_dataset(tmp_path / "data")
    (tmp_path / "bad.toml").write_text("stepz = 3\n")
    assert main(["train", str(tmp_path / "bad.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: stepz: is not a known training setting")
    assert main(["train", str(write_config(tmp_path)), "--resume"]) == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_dataset_command_reports_bad_files_and_fails_without_usable_clips(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "broken.mp4").write_bytes(b"garbage")
    assert main(["dataset", str(videos), "-o", str(tmp_path / "out"), "--size", "64", "--json"]) == 2
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["video"] == "broken.mp4" and records[0]["status"] == "failed"
    assert records[1]["event"] == "done" and records[1]["failed"] == 1 and records[1]["usable_clips"] == 0
    assert "no usable clip" in err and (tmp_path / "out" / "index.json").is_file()
    assert main(["dataset", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out2")]) == 2
    assert "videos folder not found" in capsys.readouterr().err
