"""Export presets: the bundled files are valid, lookups work, and bad files say what is wrong."""

from __future__ import annotations

import pytest

from engine.errors import SettingsError
from engine.video import DEFAULT_PRESET, bundled_presets_dir, list_presets, load_preset, preset_for_output

BUNDLED = {"mp4-h264", "mp4-h264-draft", "mov-prores", "webm-vp9", "png-sequence"}


def test_bundled_presets_load_and_the_default_comes_first():
    presets = list_presets()
    assert {p.id for p in presets} == BUNDLED
    assert presets[0].id == DEFAULT_PRESET
    for preset in presets:
        assert preset.name and preset.description and preset.path.parent == bundled_presets_dir()
        assert preset.extension == ("" if preset.is_image_sequence else f".{preset.container}")


def test_bundled_presets_say_what_they_encode():
    mp4 = load_preset("mp4-h264")
    assert (mp4.container, mp4.video_codec, mp4.pix_fmt, mp4.audio_codec) == ("mp4", "libx264", "yuv420p", "aac")
    assert mp4.video_options["crf"] == "18" and mp4.container_options == {"movflags": "+faststart"}
    webm = load_preset("webm-vp9")
    assert (webm.video_codec, webm.audio_codec, webm.audio_sample_rate) == ("libvpx-vp9", "libopus", 48000)
    assert load_preset("mov-prores").pix_fmt == "yuv422p10le"


@pytest.mark.parametrize(
    "name,expected",
    [("out.mp4", "mp4-h264"), ("OUT.MOV", "mov-prores"), ("clip.webm", "webm-vp9"), ("frames", "png-sequence")],
)
def test_output_name_picks_a_preset(name, expected):
    assert preset_for_output(name).id == expected


def test_unknown_extension_and_unknown_name_are_settings_errors():
    with pytest.raises(SettingsError, match="cannot tell the format of 'out.avi'"):
        preset_for_output("out.avi")
    with pytest.raises(SettingsError, match="no preset named 'gif'; use one of mp4-h264, ") as caught:
        load_preset("gif")
    assert caught.value.field == "preset"


def test_a_user_folder_adds_and_overrides_presets(tmp_path):
    (tmp_path / "mp4-h264.toml").write_text(
        'name = "My MP4"\ncontainer = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\noptions = { crf = "12" }\n'
    )
    (tmp_path / "tiny.toml").write_text('container = "webm"\n[video]\ncodec = "libvpx-vp9"\npix_fmt = "yuv420p"\n')
    presets = {p.id: p for p in list_presets([tmp_path])}
    assert presets["mp4-h264"].name == "My MP4" and presets["mp4-h264"].video_options == {"crf": "12"}
    assert presets["tiny"].extension == ".webm" and presets["tiny"].audio_codec is None  # no [audio]: silent
    assert load_preset("tiny", [tmp_path]).id == "tiny"
    assert load_preset(tmp_path / "tiny.toml").video_codec == "libvpx-vp9"


@pytest.mark.parametrize(
    "text,field,message",
    [
        ('container = "avi"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\n', "bad.toml: container", "must be one of"),
        ('container = "mp4"\n', "bad.toml: video", "must be a [video] table"),
        ('container = "mp4"\n[video]\npix_fmt = "yuv420p"\n', "bad.toml: video.codec", "is missing"),
        ('container = "mp4"\n[video]\ncodec = "nope264"\npix_fmt = "yuv420p"\n', "bad.toml: video.codec", "not available"),
        ('container = "mp4"\n[video]\ncodec = "aac"\npix_fmt = "yuv420p"\n', "bad.toml: video.codec", "audio codec, not a video"),
        ('container = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "rgb48le"\n', "bad.toml: video.pix_fmt", "cannot write"),
        ('container = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\noptions = { crf = 18 }\n',
         "bad.toml: video.options", "text values"),
        ('container = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\n[audio]\ncodec = "aac"\nbitrate = -5\n',
         "bad.toml: audio.bitrate", "positive whole number"),
        ('container = "mp4\n', "preset", "not valid TOML"),
    ],
)
def test_bad_preset_files_name_the_field(tmp_path, text, field, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_preset(path)
    assert caught.value.field == field
    assert message in str(caught.value) and "\n" not in str(caught.value)
