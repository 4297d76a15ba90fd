"""Every bundled preset writes a file that decodes back with the right frames, size, rate and codec."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from engine.video import FrameStore, export_frames, list_presets, load_preset
from tests.synthetic_media import colour_blocks

FPS = 25  # 4 centiseconds a frame: a rate GIF can hold exactly
WIDTH, HEIGHT = 64, 48
FRAMES = 9
# What each bundled preset must decode as (FFmpeg decoder name); png is a folder of PNG files.
DECODED_CODEC = {
    "web": "h264", "hq": "h264", "draft": "h264", "hevc": "hevc", "prores": "prores",
    "webm": "vp9", "lossless": "ffv1", "gif": "gif", "png": "png",
}
LOSSY_TOLERANCE = {"web": 3, "hq": 3, "draft": 4, "hevc": 4, "prores": 3, "webm": 5, "gif": 3}


def _blocks(index: int) -> np.ndarray:
    return colour_blocks(index, WIDTH, HEIGHT, brightness_step=0.06)


def _noise(index: int) -> np.ndarray:
    """Random pixels: any rounding, colour conversion or chroma subsampling would change them."""
    return np.random.default_rng(index).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def _store(tmp_path, name, picture) -> FrameStore:
    store = FrameStore(tmp_path / name, durable=False)
    for index in range(FRAMES):
        store.write(index, picture(index))
    return store


def _decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, stream.codec_context.name, (stream.width, stream.height), stream.average_rate


def test_the_bundled_presets_are_the_ones_users_type():
    assert {preset.id for preset in list_presets()} == set(DECODED_CODEC)


@pytest.mark.parametrize("preset_id", sorted(set(DECODED_CODEC) - {"png"}))
def test_each_video_preset_decodes_with_the_right_frames_size_rate_and_codec(tmp_path, preset_id):
    preset = load_preset(preset_id)
    store = _store(tmp_path, "blocks", _blocks)
    output = tmp_path / f"out{preset.extension}"
    result = export_frames(store, output, preset, FPS)
    assert result.frames == FRAMES and output.is_file()
    frames, codec, size, rate = _decode(output)
    assert (len(frames), codec, size, rate) == (FRAMES, DECODED_CODEC[preset_id], (WIDTH, HEIGHT), FPS)
    if preset_id == "lossless":
        assert all(np.array_equal(frame, _blocks(i)) for i, frame in enumerate(frames))
        return
    for index, frame in enumerate(frames):
        errors = [np.abs(frame.astype(int) - _blocks(j)).mean() for j in range(FRAMES)]
        assert errors[index] < LOSSY_TOLERANCE[preset_id] and int(np.argmin(errors)) == index


def test_lossless_keeps_every_pixel_of_random_frames(tmp_path):
    store = _store(tmp_path, "noise", _noise)
    export_frames(store, tmp_path / "exact.mkv", load_preset("lossless"), Fraction(30000, 1001))
    frames, codec, _, rate = _decode(tmp_path / "exact.mkv")
    assert codec == "ffv1" and rate == Fraction(30000, 1001) and len(frames) == FRAMES
    for index, frame in enumerate(frames):
        assert np.array_equal(frame, store.read(index)) and np.array_equal(frame, _noise(index))


def test_png_sequence_keeps_every_pixel_of_random_frames(tmp_path):
    store = _store(tmp_path, "noise", _noise)
    folder = tmp_path / "frames"
    export_frames(store, folder, load_preset("png"), FPS, start=2)
    names = sorted(path.name for path in folder.iterdir())
    assert names == [f"{i:06d}.png" for i in range(FRAMES - 2)]
    for number, name in enumerate(names):
        frames, codec, size, _ = _decode(folder / name)
        assert (len(frames), codec, size) == (1, "png", (WIDTH, HEIGHT))
        assert np.array_equal(frames[0], _noise(number + 2))


def test_gif_has_one_frame_per_render_frame_and_no_sound(tmp_path, media):
    rate = 16000
    driving = media.write_clip(tmp_path / "driving.mp4", frames=FPS, fps=FPS, sound=0.5 * np.ones(rate), sample_rate=rate)
    store = _store(tmp_path, "noise", _noise)
    result = export_frames(store, tmp_path / "preview.gif", load_preset("gif"), FPS, audio_from=driving)
    assert not result.has_audio
    with av.open(str(tmp_path / "preview.gif")) as container:
        assert not container.streams.audio
        decoded = list(container.decode(video=0))
    assert len(decoded) == FRAMES
    assert [frame.time for frame in decoded] == pytest.approx([i / FPS for i in range(FRAMES)])
    # Random pixels cannot fit 256 colours, but the palette and error diffusion keep local averages close.
    first = decoded[0].to_ndarray(format="rgb24").astype(float)
    blur = lambda image: image.reshape(HEIGHT // 8, 8, WIDTH // 8, 8, 3).mean(axis=(1, 3))  # noqa: E731
    assert np.abs(blur(first) - blur(_noise(0).astype(float))).mean() < 12


def test_hevc_is_tagged_for_apple_players_and_web_starts_fast(tmp_path):
    store = _store(tmp_path, "blocks", _blocks)
    export_frames(store, tmp_path / "h265.mp4", load_preset("hevc"), FPS)
    with av.open(str(tmp_path / "h265.mp4")) as container:
        assert container.streams.video[0].codec_context.codec_tag == "hvc1"
    export_frames(store, tmp_path / "web.mp4", load_preset("web"), FPS)
    data = (tmp_path / "web.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # the index comes first: playback starts while downloading
