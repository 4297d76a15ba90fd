"""The engine's front door (engine.inputs): every front end refuses a bad input with the same sentence,
times read like ffmpeg's, and ``animate`` reads the source once and probes the driving video once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import InputError
from engine.inputs import MIN_SOURCE_SIDE, inspect_driving, parse_time
from engine.pose.keypoints import Pose, PoseSequence
from studio.cli.main import main
from tests.cli.cli_testkit import noise_video, video_frame_count, write_pose_npz, write_source_png

TINY = ["--model", "builtin:tiny", "--steps", "1", "--no-align"]


def _pose_npz(path: Path, fps: float = 10.0, frames: int = 4, nan: bool = False) -> Path:
    body = np.concatenate([np.full((frames, 18, 2), 0.5), np.ones((frames, 18, 1))], axis=-1)
    if nan:
        body[:] = np.nan
    PoseSequence(body, np.zeros((frames, 2, 21, 3)), np.zeros((frames, 68, 3)), fps=fps, width=64, height=64).save(path)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("front_door")
    write_source_png(folder / "source.png")
    write_source_png(folder / "tiny.png", size=16)
    write_pose_npz(folder / "poses.npz")
    noise_video(folder / "clip.mp4")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    (folder / "a_folder").mkdir()
    (folder / "still.mp4").write_bytes((folder / "source.png").read_bytes())  # a PNG renamed to .mp4
    Image.new("RGB", (96, 96), (200, 40, 40)).save(folder / "still.mkv", format="GIF")  # a one-frame GIF, renamed
    _pose_npz(folder / "fps0.npz", fps=0.0)
    _pose_npz(folder / "fpsnan.npz", fps=float("nan"))
    _pose_npz(folder / "fpsneg.npz", fps=-5.0)
    _pose_npz(folder / "allnan.npz", nan=True)
    return folder


# (case id, SOURCE, DRIVING, which input is bad, a fragment the one sentence must hold)
BAD_INPUTS = [
    ("missing-source", "nope.png", "poses.npz", "source", "source image not found"),
    ("source-folder", "a_folder", "poses.npz", "source", "is a folder"),
    ("video-as-source", "clip.mp4", "poses.npz", "source", "is not an image"),
    ("corrupt-source", "broken.png", "poses.npz", "source", "not a readable image"),
    ("tiny-source", "tiny.png", "poses.npz", "source", f"at least {MIN_SOURCE_SIDE} pixels"),
    ("missing-driving", "source.png", "nope.mp4", "driving", "driving file not found"),
    ("driving-folder", "source.png", "a_folder", "driving", "is a folder"),
    ("image-as-driving", "source.png", "source.png", "driving", "is a still image"),
    ("png-renamed-as-video", "source.png", "still.mp4", "driving", "still.mp4 is a still image"),
    ("gif-renamed-as-video", "source.png", "still.mkv", "driving", "still.mkv is a still image"),
    ("corrupt-driving", "source.png", "broken.mp4", "driving", "broken.mp4"),
    ("pose-fps-0", "source.png", "fps0.npz", "driving", "bad frame rate"),
    ("pose-fps-nan", "source.png", "fpsnan.npz", "driving", "bad frame rate"),
    ("pose-fps-negative", "source.png", "fpsneg.npz", "driving", "bad frame rate"),
    ("pose-all-nan", "source.png", "allnan.npz", "driving", "no person found in allnan.npz"),
]


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("source, driving, bad, fragment", [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_cli_batch_and_gui_refuse_a_bad_input_with_the_same_sentence(media, tmp_path, capsys, source, driving, bad, fragment):
    from studio.gui.viewmodels.backend import EngineBackend

    # 1. the GUI's view-model path: the backend's open-source / open-driving calls
    backend = EngineBackend()
    with pytest.raises(InputError) as caught:
        backend.load_source(media / source) if bad == "source" else backend.probe_driving(media / driving)
    sentence = str(caught.value)
    assert fragment in sentence and "\n" not in sentence

    # 2. studio-cli animate: exit 2, that sentence as the one error line, nothing written
    out = tmp_path / "out.mp4"
    assert main(["animate", str(media / source), str(media / driving), "-o", str(out), *TINY]) == 2
    assert _error_lines(capsys.readouterr().err) == [f"error: {sentence}"]
    assert not out.exists() and not (tmp_path / "out.mp4.work").exists()

    # 3. studio-cli batch: the same sentence for that job, the summary still prints
    jobs = media / f"{tmp_path.name}.toml"  # beside the media: a jobs file names paths inside its own folder
    batch_out = media / f"{tmp_path.name}.mp4"
    jobs.write_text(f'[[job]]\nsource = "{source}"\ndriving = "{driving}"\nout = "{batch_out.name}"\n'
                    'model = "builtin:tiny"\nno_align = true\n')
    assert main(["batch", str(jobs), "--keep-going"]) == 2
    captured = capsys.readouterr()
    assert _error_lines(captured.err) == [f"error: job 0: {sentence}"]
    assert captured.out.splitlines()[-1] == "1 failed" and not batch_out.exists()


@pytest.mark.parametrize("text, fps, frame", [
    ("1", 25.0, 25), ("3", 25.0, 75), ("1.5", 10.0, 15), ("4.5s", 10.0, 45), ("120f", 25.0, 120),
    ("1:02.5", 10.0, 625), ("1:00:02", 1.0, 3602), (".5", 10.0, 5),
])
def test_times_are_read_like_ffmpeg(text, fps, frame):
    assert parse_time(text, "start").to_frame(fps) == frame


def test_start_1_end_3_renders_exactly_two_seconds(media, tmp_path, capsys):
    driving = write_pose_npz(tmp_path / "long.npz", frames=40, fps=10.0)  # 4 s at 10 fps
    out = tmp_path / "two.mp4"
    code = main(["animate", str(media / "source.png"), str(driving), "-o", str(out), *TINY,
                 "--start", "1", "--end", "3", "--no-audio", "--json"])
    assert code == 0, capsys.readouterr().err
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["frames"] == 20  # driving frames 10..29
    assert video_frame_count(out) == 20
    import av

    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert float(stream.average_rate) == 10.0
        assert float(stream.duration * stream.time_base) == pytest.approx(2.0, abs=0.05)

    end_only = tmp_path / "one_and_a_half.mp4"
    assert main(["animate", str(media / "source.png"), str(driving), "-o", str(end_only), *TINY,
                 "--end", "1.5", "--no-audio"]) == 0
    assert video_frame_count(end_only) == 15


def _pose_video(path: Path, frames: int = 6) -> Path:
    """A DWPose-style pose video (black background, vivid limbs): used as is, never analysed."""
    from engine.pose.draw import draw_pose
    from tests.synthetic_media import write_lossless_video

    seq = PoseSequence.load(write_pose_npz(path.with_suffix(".npz"), frames=frames))
    write_lossless_video(path, [draw_pose(seq[i], 64, 64) for i in range(frames)], fps=10)
    assert inspect_driving(path).kind == "pose_video"
    return path


def test_animate_reads_the_source_once_and_probes_the_driving_video_once(media, tmp_path, capsys, monkeypatch):
    import engine.video.reader as reader

    driving = _pose_video(tmp_path / "pose_video.mkv")
    calls = {"read_image": 0, "probe": 0}
    real_read_image, real_probe = reader.read_image, reader.probe

    def counted_read_image(*args, **kwargs):
        calls["read_image"] += 1
        return real_read_image(*args, **kwargs)

    def counted_probe(*args, **kwargs):
        calls["probe"] += 1
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(reader, "read_image", counted_read_image)
    monkeypatch.setattr(reader, "probe", counted_probe)
    out = tmp_path / "out.mp4"
    assert main(["animate", str(media / "source.png"), str(driving), "-o", str(out), *TINY, "--no-audio"]) == 0, \
        capsys.readouterr().err
    assert video_frame_count(out) == 6
    assert calls == {"read_image": 1, "probe": 1}


def test_out_that_is_an_input_is_refused_with_exit_2(media, tmp_path, capsys):
    source, driving = tmp_path / "source.png", tmp_path / "poses.npz"
    source.write_bytes((media / "source.png").read_bytes())
    driving.write_bytes((media / "poses.npz").read_bytes())
    link = tmp_path / "same_inode.mp4"
    link.hardlink_to(driving)  # another name, the same file
    before = {path: path.read_bytes() for path in (source, driving)}
    for out in (driving, source, link, tmp_path / "sub" / ".." / "poses.npz"):
        assert main(["animate", str(source), str(driving), "-o", str(out), *TINY]) == 2
        assert _error_lines(capsys.readouterr().err) == [
            f"error: the output {Path(out).name} is one of the inputs ({'source.png' if out == source else 'poses.npz'}); "
            "writing it would destroy that input, so choose another output name"]
    assert {path: path.read_bytes() for path in (source, driving)} == before


def test_a_cuda_request_without_cuda_fails_before_any_analysis_or_model_load(media, tmp_path, capsys, monkeypatch):
    import torch

    import engine.jobs
    import engine.pose.extract

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so --device cuda is valid here")
    touched = []
    monkeypatch.setattr(engine.jobs, "analyse_driving", lambda *a, **k: touched.append("analysis"))
    monkeypatch.setattr(engine.pose.extract, "extract_poses", lambda *a, **k: touched.append("analysis"))
    monkeypatch.setattr(engine.jobs, "load_model_with_hash", lambda *a, **k: touched.append("model"))
    assert main(["animate", str(media / "source.png"), str(media / "clip.mp4"), "-o", str(tmp_path / "o.mp4"),
                 "--device", "cuda", "--json"]) == 2
    captured = capsys.readouterr()
    assert _error_lines(captured.err) == ["error: device: cuda was requested but no CUDA GPU is available; choose cpu or auto"]
    assert [json.loads(line)["event"] for line in captured.out.splitlines()] == ["error"]  # no start, no analysis
    assert touched == []


class _EveryoneThere:
    """A pose extractor that finds one standing person in every frame (no MediaPipe needed)."""

    info = {"pose_backend": "test", "pose_provider": "test", "extractor_version": "test"}

    def detect(self, frames):
        poses = []
        for _ in frames:
            pose = Pose.empty()
            pose.body[:, :2], pose.body[:, 2] = 0.5, 1.0
            poses.append(pose)
        return poses

    def reset(self):
        pass

    def close(self):
        pass


def test_a_driving_video_is_probed_once_too(media, tmp_path, capsys, monkeypatch):
    import engine.pose.backends as backends
    import engine.video.reader as reader

    monkeypatch.setattr(backends, "open_backend", lambda *args, **kwargs: _EveryoneThere())
    calls, real_probe = [], reader.probe
    monkeypatch.setattr(reader, "probe", lambda *args, **kwargs: calls.append(args) or real_probe(*args, **kwargs))
    out = tmp_path / "out.mp4"
    assert main(["animate", str(media / "source.png"), str(media / "clip.mp4"), "-o", str(out), *TINY,
                 "--no-audio"]) == 0, capsys.readouterr().err
    assert inspect_driving(media / "clip.mp4").kind == "video" and video_frame_count(out) == 4
    assert len(calls) == 2  # animate's one probe, and the inspect_driving just above
