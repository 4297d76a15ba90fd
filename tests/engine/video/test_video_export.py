"""Exporting a frame store: pixels and rate survive each preset, sound lines up, failures leave nothing."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, InputError, OutputError
from engine.video import AUDIO_SIDECAR, FrameStore, export_frames, iter_frames, load_preset
from tests.synthetic_media import colour_blocks

FPS = 25
SIZE = (64, 48)
BURST_AT, BURST_LENGTH = 1.0, 0.1  # seconds into the driving clip


def _picture(index: int) -> np.ndarray:
    return colour_blocks(index, *SIZE)


@pytest.fixture
def store(tmp_path) -> FrameStore:
    frames = FrameStore(tmp_path / "job", durable=False)
    for index in range(10):
        frames.write(index, _picture(index))
    return frames


@pytest.fixture
def driving(tmp_path, media):
    """A 2 s clip, silent except a 1 kHz burst at 1.0-1.1 s."""
    rate = 16000
    t = np.arange(2 * rate) / rate
    sound = np.where((t >= BURST_AT) & (t < BURST_AT + BURST_LENGTH), 0.6 * np.sin(2 * np.pi * 1000 * t), 0.0)
    return media.write_clip(tmp_path / "driving.mp4", frames=2 * FPS, fps=FPS, sound=sound, sample_rate=rate)


def _burst_onset(sound: np.ndarray, rate: int) -> float:
    loud = np.abs(sound) > 0.2
    assert loud.any(), "the burst is missing"
    return int(np.argmax(loud)) / rate


@pytest.mark.parametrize("preset_id,tolerance", [("web", 3), ("draft", 4), ("prores", 3), ("webm", 5)])
def test_each_video_preset_keeps_pixels_order_and_rate(store, tmp_path, media, preset_id, tolerance):
    preset = load_preset(preset_id)
    output = tmp_path / f"out{preset.extension}"
    result = export_frames(store, output, preset, FPS)
    assert (result.path, result.frames, result.has_audio) == (output, 10, False)
    decoded = media.decode_frames(output)
    assert len(decoded) == 10
    for index, frame in enumerate(decoded):
        errors = [np.abs(frame.astype(int) - _picture(j)).mean() for j in range(10)]
        assert errors[index] < tolerance and int(np.argmin(errors)) == index
    with av.open(str(output)) as container:
        assert container.streams.video[0].average_rate == FPS
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("preset_id,slack", [("prores", 0.002), ("web", 0.005), ("webm", 0.005)])
def test_sound_is_cut_to_the_frames_and_stays_in_sync(store, driving, tmp_path, media, preset_id, slack):
    preset = load_preset(preset_id)
    output = tmp_path / f"synced{preset.extension}"
    # Stored frame 0 shows driving time 0.7 s; exporting from frame 2 starts at 0.78 s.
    result = export_frames(store, output, preset, FPS, audio_from=driving, audio_offset=0.7, start=2)
    assert result.has_audio and result.frames == 8
    sound, rate = media.decode_sound(output)
    assert _burst_onset(sound, rate) == pytest.approx(BURST_AT - 0.78, abs=slack)
    with av.open(str(output)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == {"prores": "pcm_s16le", "web": "aac", "webm": "opus"}[preset_id]
    # The sound lasts as long as the 8 frames (0.32 s), not as long as the driving clip.
    assert len(sound) / rate == pytest.approx(8 / FPS, abs=slack + 0.025)


def test_png_sequence_copies_frames_and_writes_the_sound_beside_them(store, driving, tmp_path, media):
    output = tmp_path / "frames"
    result = export_frames(store, output, load_preset("png"), FPS, audio_from=driving, audio_offset=0.9, start=2, end=6)
    names = sorted(p.name for p in output.iterdir())
    assert names == ["000000.png", "000001.png", "000002.png", "000003.png", AUDIO_SIDECAR]
    for number in range(4):
        written = cv2.imread(str(output / f"{number:06d}.png"))[:, :, ::-1]
        assert np.array_equal(written, store.read(number + 2))  # WebP store frames become pixel-equal PNGs
    sound, rate = media.decode_sound(output / AUDIO_SIDECAR)
    assert _burst_onset(sound, rate) == pytest.approx(BURST_AT - (0.9 + 2 / FPS), abs=0.002)
    assert len(sound) / rate == pytest.approx(4 / FPS, abs=0.002)
    assert result.has_audio


def test_export_during_a_render_takes_the_complete_frames(store, tmp_path, media):
    store.write(12, _picture(0))  # frame 11 is still rendering: 12 must not be exported yet
    result = export_frames(store, tmp_path / "early.mp4", load_preset("draft"), FPS)
    assert result.frames == 10 and len(media.decode_frames(tmp_path / "early.mp4")) == 10
    with pytest.raises(InputError, match="frame 10 has not been rendered yet"):
        export_frames(store, tmp_path / "late.mp4", load_preset("draft"), FPS, end=13)


def test_ntsc_rate_is_kept_exactly(store, tmp_path):
    export_frames(store, tmp_path / "ntsc.mp4", load_preset("draft"), 29.97002997)
    with av.open(str(tmp_path / "ntsc.mp4")) as container:
        assert container.streams.video[0].average_rate == Fraction(30000, 1001)


def test_cancel_leaves_the_previous_file_untouched(store, tmp_path):
    output = tmp_path / "out.mp4"
    output.write_bytes(b"an older export")
    token = CancelToken()
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        export_frames(store, output, load_preset("web"), FPS, cancel=token, on_progress=progress)
    assert seen == [(1, 10), (2, 10), (3, 10)]
    assert output.read_bytes() == b"an older export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job", "out.mp4"]


def test_user_errors_are_one_sentence(store, tmp_path):
    empty = FrameStore(tmp_path / "empty", durable=False)
    with pytest.raises(InputError, match="no rendered frames to export yet"):
        export_frames(empty, tmp_path / "x.mp4", load_preset("web"), FPS)
    (tmp_path / "folder.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        export_frames(store, tmp_path / "folder.mp4", load_preset("web"), FPS)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("user data")
    with pytest.raises(OutputError, match="new or empty folder"):
        export_frames(store, busy, load_preset("png"), FPS)
    assert (busy / "keep.txt").read_text() == "user data"
    with pytest.raises(InputError, match="frame rate"):
        export_frames(store, tmp_path / "x.mp4", load_preset("web"), 0)
    with pytest.raises(InputError, match="driving video .* is gone"):
        export_frames(store, tmp_path / "x.mp4", load_preset("web"), FPS, audio_from=tmp_path / "moved.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_silent_driving_video_exports_without_sound(store, clip, tmp_path):
    result = export_frames(store, tmp_path / "quiet.mp4", load_preset("web"), FPS, audio_from=clip)
    assert not result.has_audio
    with av.open(str(tmp_path / "quiet.mp4")) as container:
        assert not container.streams.audio


def test_real_frames_survive_the_default_preset(talk_video, tmp_path, media):
    store = FrameStore(tmp_path / "talk", durable=False)
    originals = list(iter_frames(talk_video, 0, 12))
    for index, frame in enumerate(originals):
        store.write(index, frame)
    export_frames(store, tmp_path / "talk.mp4", load_preset("web"), 29)
    decoded = media.decode_frames(tmp_path / "talk.mp4")
    assert len(decoded) == 12
    for original, frame in zip(originals, decoded):
        mse = np.mean((original.astype(float) - frame.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / mse) > 35  # dB; CRF 20 is near-lossless


def test_sound_at_a_rate_the_codec_lacks_is_resampled(store, tmp_path, media):
    # Opus cannot take 22.05 kHz; a preset without sample_rate must still export (at 24 kHz).
    rate = 22050
    t = np.arange(rate) / rate
    sound = np.where(t >= 0.2, 0.6 * np.sin(2 * np.pi * 1000 * t), 0.0)
    driving = media.write_clip(tmp_path / "odd.mp4", frames=FPS, fps=FPS, sound=sound, sample_rate=rate)
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "opus.toml").write_text(
        'container = "webm"\n[video]\ncodec = "libvpx-vp9"\npix_fmt = "yuv420p"\n[audio]\ncodec = "libopus"\n'
    )
    preset = load_preset("opus", [tmp_path / "presets"])
    result = export_frames(store, tmp_path / "odd.webm", preset, FPS, audio_from=driving)
    assert result.has_audio
    decoded, decoded_rate = media.decode_sound(tmp_path / "odd.webm")
    assert _burst_onset(decoded, decoded_rate) == pytest.approx(0.2, abs=0.005)


def test_odd_or_mixed_frame_sizes_are_refused_before_encoding(tmp_path):
    odd = FrameStore(tmp_path / "odd", durable=False)
    odd.write(0, np.zeros((47, 63, 3), np.uint8))
    with pytest.raises(InputError, match="needs an even frame width and height .*63x47"):
        export_frames(odd, tmp_path / "odd.mp4", load_preset("web"), FPS)
    mixed = FrameStore(tmp_path / "mixed", durable=False)
    mixed.write(0, np.zeros((48, 64, 3), np.uint8))
    mixed.write(1, np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="frame 1 is 32x32, not 64x48"):
        export_frames(mixed, tmp_path / "mixed.mp4", load_preset("web"), FPS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed", "odd"]
