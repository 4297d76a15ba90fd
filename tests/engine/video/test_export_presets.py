"""Export presets: the bundled files are valid, lookups work, and bad files say what is wrong."""

from __future__ import annotations

import pytest

from engine.errors import SettingsError
from engine.video import DEFAULT_PRESET, bundled_presets_dir, list_presets, load_preset, preset_for_output
from engine.video.presets import user_presets_dir

# The names users type (issue 4), plus the extra quick "draft".
BUNDLED = {"web", "hq", "hevc", "prores", "webm", "lossless", "png", "gif", "draft"}


def test_bundled_presets_load_and_the_default_comes_first():
    presets = list_presets()
    assert {p.id for p in presets} == BUNDLED
    assert presets[0].id == DEFAULT_PRESET == "web"
    for preset in presets:
        assert preset.name and preset.description and preset.path.parent == bundled_presets_dir()
        assert preset.extension == ("" if preset.is_image_sequence else f".{preset.container}")


def test_bundled_presets_say_what_they_encode():
    web = load_preset("web")
    assert (web.container, web.video_codec, web.pix_fmt, web.audio_codec) == ("mp4", "libx264", "yuv420p", "aac")
    assert web.video_options["crf"] == "20" and web.container_options == {"movflags": "+faststart"}
    assert load_preset("hq").video_options["crf"] == "14"
    hevc = load_preset("hevc")
    assert (hevc.video_codec, hevc.video_tag, hevc.extension) == ("libx265", "hvc1", ".mp4")
    prores = load_preset("prores")
    assert (prores.video_codec, prores.pix_fmt, prores.video_options["profile"], prores.extension) == (
        "prores_ks", "yuv422p10le", "3", ".mov")
    webm = load_preset("webm")
    assert (webm.video_codec, webm.audio_codec, webm.audio_sample_rate) == ("libvpx-vp9", "libopus", 48000)
    lossless = load_preset("lossless")
    assert (lossless.video_codec, lossless.pix_fmt, lossless.extension) == ("ffv1", "bgr0", ".mkv")
    gif = load_preset("gif")
    assert (gif.video_codec, gif.pix_fmt, gif.audio_codec, gif.is_gif) == ("gif", "pal8", None, True)
    assert load_preset("png").is_image_sequence


@pytest.mark.parametrize(
    "name,expected",
    [("out.mp4", "web"), ("OUT.MOV", "prores"), ("clip.webm", "webm"), ("a.mkv", "lossless"), ("a.gif", "gif"),
     ("frames", "png")],
)
def test_output_name_picks_a_preset(name, expected):
    assert preset_for_output(name).id == expected


def test_unknown_extension_and_unknown_name_are_settings_errors():
    with pytest.raises(SettingsError, match="cannot tell the format of 'out.avi'"):
        preset_for_output("out.avi")
    with pytest.raises(SettingsError, match="no preset named 'mp4-h264'; use one of web, draft, gif, ") as caught:
        load_preset("mp4-h264")
    assert caught.value.field == "preset"


def test_a_user_folder_adds_and_overrides_presets(tmp_path):
    (tmp_path / "web.toml").write_text(
        'name = "My MP4"\ncontainer = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\noptions = { crf = "12" }\n'
    )
    (tmp_path / "tiny.toml").write_text('container = "webm"\n[video]\ncodec = "libvpx-vp9"\npix_fmt = "yuv420p"\n')
    presets = {p.id: p for p in list_presets([tmp_path])}
    assert presets["web"].name == "My MP4" and presets["web"].video_options == {"crf": "12"}
    assert presets["tiny"].extension == ".webm" and presets["tiny"].audio_codec is None  # no [audio]: silent
    assert load_preset("tiny", [tmp_path]).id == "tiny"
    assert load_preset(tmp_path / "tiny.toml").video_codec == "libvpx-vp9"


def test_presets_in_the_user_config_dir_are_found_without_asking(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKINGPOSE_CONFIG_DIR", str(tmp_path / "config"))
    folder = user_presets_dir()
    assert folder == tmp_path / "config" / "presets"
    folder.mkdir(parents=True)
    (folder / "web.toml").write_text(
        'name = "Studio web"\ncontainer = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\noptions = { crf = "26" }\n'
    )
    (folder / "square.toml").write_text('container = "mkv"\n[video]\ncodec = "ffv1"\npix_fmt = "bgr0"\n')
    presets = {p.id: p for p in list_presets()}
    assert set(presets) == BUNDLED | {"square"}
    assert presets["web"].path == folder / "web.toml" and list_presets()[0].id == "web"
    assert load_preset("web").video_options == {"crf": "26"}
    assert preset_for_output("clip.mp4").name == "Studio web"  # the user's own default for .mp4
    assert load_preset("square").extension == ".mkv"
    # A folder passed explicitly is stronger still.
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "web.toml").write_text('name = "Extra"\ncontainer = "mp4"\n[video]\ncodec = "libx264"\npix_fmt = "yuv420p"\n')
    assert load_preset("web", [tmp_path / "extra"]).name == "Extra"


def test_a_bad_user_preset_names_its_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TALKINGPOSE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "broken.toml").write_text('container = "mp4"\n[video]\ncodec = "libx264"\n')
    with pytest.raises(SettingsError) as caught:
        load_preset("broken")
    assert caught.value.field == "broken.toml: video.pix_fmt"
    # listing leaves it out (or shows it as broken), never fails because of it
    assert "broken" not in {p.id for p in list_presets()}
    (stand_in,) = [p for p in list_presets(include_broken=True) if p.id == "broken"]
    assert stand_in.problem == str(caught.value)


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
        ('container = "webm"\n[video]\ncodec = "libvpx-vp9"\npix_fmt = "yuv420p"\n[audio]\ncodec = "libopus"\nsample_rate = 44100\n',
         "bad.toml: audio.sample_rate", "cannot use 44100 Hz"),
        ('container = "mp4\n', "preset", "not valid TOML"),
        ('container = "mp4"\n[video]\ncodec = "libx265"\npix_fmt = "yuv420p"\ntag = "hvc"\n', "bad.toml: video.tag", "four-character"),
        ('container = "gif"\n[video]\ncodec = "gif"\npix_fmt = "pal8"\n[audio]\ncodec = "aac"\n', "bad.toml: video.codec", "no [audio]"),
    ],
)
def test_bad_preset_files_name_the_field(tmp_path, text, field, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_preset(path)
    assert caught.value.field == field
    assert message in str(caught.value) and "\n" not in str(caught.value)
