"""Class 8: presets are checked when loaded (extension, names, encoder and muxer option values), naming
the preset file and the option, exit 2; a broken user preset is listed as broken, never a crash."""

from __future__ import annotations

import pytest

from engine.errors import SettingsError
from engine.video.presets import load_preset, load_preset_file

GOOD = """name = "Mine"
container = "mp4"
extension = ".mp4"
[container_options]
movflags = "+faststart"
[video]
codec = "libx264"
pix_fmt = "yuv420p"
options = { crf = "20", preset = "medium" }
"""


@pytest.mark.parametrize(
    "old, new, field",
    [('extension = ".mp4"', 'extension = "/../../x.mp4"', "extension"),
     ('extension = ".mp4"', 'extension = "mp4"', "extension"),
     ('crf = "20"', 'crf = "-5"', "video.options.crf"),
     ('preset = "medium"', 'preset = "ludicrous"', "video.options.preset"),
     ('movflags = "+faststart"', 'movflags = "+bogus"', "container_options.movflags"),
     ('crf = "20"', 'crf = "20", nonsense = "1"', "video.options.nonsense"),
     ('name = "Mine"', 'name = "two\\nlines"', "name")],
    ids=["slash in extension", "extension without dot", "crf -5", "unknown x264 preset", "unknown movflag",
         "unknown option", "two-line name"],
)
def test_bad_presets_name_the_file_and_option(tmp_path, old, new, field):
    assert old in GOOD
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(SettingsError) as caught:
        load_preset_file(path)
    assert caught.value.field == f"mine.toml: {field}" and "\n" not in str(caught.value)


def test_a_good_user_preset_loads(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    preset = load_preset_file(path)
    assert (preset.extension, preset.video_options, preset.container_options) == (
        ".mp4", {"crf": "20", "preset": "medium"}, {"movflags": "+faststart"})


def test_a_broken_user_preset_is_listed_as_broken_and_refused_by_name(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("TALKINGPOSE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "slashy.toml").write_text(GOOD.replace('".mp4"', '"/x.mp4"', 1))

    code, out, errors = cli("presets", "list")
    assert (code, errors) == (0, [])
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "broken: slashy.toml: extension: must be a plain file suffix" in rows["slashy"]
    assert "broken" not in rows["web"]

    with pytest.raises(SettingsError, match="slashy.toml: extension"):
        load_preset("slashy")


def test_animate_with_a_broken_preset_exits_2_before_rendering(tmp_path, cli, valid_inputs):
    source, driving = valid_inputs
    (tmp_path / "bad.toml").write_text(GOOD.replace('crf = "20"', 'crf = "-5"'))

    code, _, errors = cli("animate", source, driving, "-o", tmp_path / "out.mp4",
                          "--preset", tmp_path / "bad.toml", "--model", "no-such-model", "--quiet")

    assert code == 2 and len(errors) == 1 and "bad.toml: video.options.crf" in errors[0]
