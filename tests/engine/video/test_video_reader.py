"""Reading driving videos: probe, streaming frames by time slot, seeking, rotation, errors."""

from __future__ import annotations

import shutil
from fractions import Fraction

import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, InputError
from engine.video import iter_frames, probe, read_frame, read_image, video_fingerprint


def _grey(frame: np.ndarray) -> float:
    return float(frame[16:, 16:].mean())  # away from the white marker


def _assert_greys(frames, expected) -> None:
    # qp 0 H.264 is lossless in YUV; RGB -> YUV -> RGB rounding moves a grey by at most 2.
    greys = [_grey(frame) for frame in frames]
    assert len(greys) == len(expected), (greys, expected)
    assert np.abs(np.array(greys) - np.array(expected)).max() <= 2, (greys, expected)


def test_probe_reports_size_rate_count_and_no_sound(clip):
    info = probe(clip)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == Fraction(25)
    assert info.frame_count == 12
    assert info.duration == pytest.approx(12 / 25, abs=0.05)
    assert info.rotation == 0 and info.codec == "h264"
    assert not info.has_audio


def test_frames_stream_in_order_with_their_pixels(clip, media):
    frames = list(iter_frames(clip))
    assert len(frames) == 12
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)
    _assert_greys(frames, [media.grey_level(i) for i in range(12)])
    assert frames[0][:8, :8].min() >= 250  # marker top-left: no flip, RGB order kept


@pytest.mark.parametrize("start,end", [(0, 3), (5, 9), (9, None), (11, 12)])
def test_ranges_seek_to_exactly_the_wanted_frames(clip, media, start, end):
    frames = list(iter_frames(clip, start, end))
    _assert_greys(frames, [media.grey_level(i) for i in range(start, 12 if end is None else end)])


def test_read_frame_matches_sequential_decoding(clip):
    sequential = list(iter_frames(clip))
    for index in (0, 7, 11):
        assert np.array_equal(read_frame(clip, index), sequential[index])
    with pytest.raises(InputError, match="has no frame 12"):
        read_frame(clip, 12)


def test_variable_rate_video_is_resampled_to_time_slots(tmp_path, media):
    # Timestamps in 1/250 s, i.e. slots 0, 1, 4, 5, 5.4, 7 of a 25 fps clock. Frame i must be
    # the picture on screen at i / 25 s: gaps repeat a frame, the crowd at slot 5 keeps the later one.
    pts = [0, 10, 40, 50, 54, 70]
    path = media.write_clip(tmp_path / "vfr.mp4", frames=6, fps=250, pts=pts)
    g = media.grey_level
    expected = [g(0), g(1), g(1), g(1), g(2), g(4), g(4), g(5)]
    _assert_greys(list(iter_frames(path, fps=25)), expected)
    _assert_greys(list(iter_frames(path, 4, 7, fps=25)), expected[4:7])


def test_a_slower_clock_skips_frames(tmp_path, media):
    path = media.write_clip(tmp_path / "eleven.mp4", frames=11, fps=25)
    _assert_greys(list(iter_frames(path, fps=12.5)), [media.grey_level(i) for i in range(0, 11, 2)])
    _assert_greys(list(iter_frames(path, 2, 4, fps=12.5)), [media.grey_level(4), media.grey_level(6)])


def test_rotated_video_is_turned_upright(tmp_path, media):
    path = media.write_clip(tmp_path / "rot.mp4", frames=2, rotation=90)
    info = probe(path)
    assert info.rotation == 90 and (info.width, info.height) == (48, 64)
    frame = next(iter_frames(path))
    assert frame.shape == (64, 48, 3)
    # Turning 90 degrees counter-clockwise carries the top-left marker to the bottom-left.
    assert frame[-8:, :8].min() >= 250 and frame[:8, :8].max() < 100


def test_max_side_shrinks_keeping_the_aspect(clip):
    frame = next(iter_frames(clip, max_side=32))
    assert frame.shape == (24, 32, 3)


def test_cancel_stops_reading(clip):
    token = CancelToken()
    frames = iter_frames(clip, cancel=token)
    next(frames)
    token.cancel()
    with pytest.raises(Cancelled):
        next(frames)


def test_unreadable_inputs_give_one_clear_sentence(tmp_path):
    with pytest.raises(InputError, match="video file not found"):
        probe(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(InputError, match="not a readable video") as caught:
        probe(text)
    assert "\n" not in str(caught.value)


def test_sound_only_file_is_refused(tmp_path):
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(InputError, match="has no video track"):
        probe(path)


def test_fingerprint_follows_content_not_name(clip, tmp_path):
    copy = tmp_path / "renamed.mp4"
    shutil.copyfile(clip, copy)
    assert video_fingerprint(copy) == video_fingerprint(clip)
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert video_fingerprint(copy) != video_fingerprint(clip)


def test_read_image_returns_rgb_and_applies_exif_orientation(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    png = tmp_path / "source.png"
    image_module.fromarray(pixels).save(png)
    assert np.array_equal(read_image(png), pixels)

    exif = image_module.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    jpeg = tmp_path / "phone.jpg"
    image_module.fromarray(pixels).save(jpeg, quality=95, exif=exif)
    upright = read_image(jpeg)
    assert upright.shape == (40, 20, 3)
    assert upright[:15, :, 0].mean() > 200 and upright[-15:, :, 0].mean() < 50  # red on top now

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG nothing")
    with pytest.raises(InputError, match="not a readable image"):
        read_image(broken)


def test_real_talk_video(talk_video):
    info = probe(talk_video)
    assert (info.width, info.height, info.fps, info.frame_count) == (512, 512, 29, 699)
    frames = list(iter_frames(talk_video, 0, 3))
    assert len(frames) == 3 and frames[0].shape == (512, 512, 3)
    assert frames[0].std() > 10  # a real picture, not a blank frame
    assert np.array_equal(read_frame(talk_video, 2), frames[2])
    tail = list(iter_frames(talk_video, 697))
    assert len(tail) == 2
