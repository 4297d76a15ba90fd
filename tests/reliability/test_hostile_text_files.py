"""Class 3: deeply nested or huge JSON/TOML gives one line, never a RecursionError; one broken folder in
the library is listed as broken, never fatal."""

from __future__ import annotations

import shutil

import pytest

from engine.errors import InputError, ModelError
from engine.textfiles import MAX_DEPTH, load_json, load_toml

DEEP = 200_000


def test_a_200000_deep_model_json_is_one_line_for_import_and_verify(model_folder, tmp_path, cli):
    (model_folder / "model.json").write_text("[" * DEEP + "]" * DEEP)

    code, _, errors = cli("models", "--library", tmp_path / "library", "import", model_folder, "--name", "x")
    assert code == 3 and len(errors) == 1
    assert "model.json" in errors[0] and f"nests more than {MAX_DEPTH} levels deep" in errors[0]
    code, out, errors = cli("models", "verify", model_folder)
    assert code == 3 and len(errors) == 1
    assert f"{model_folder / 'model.json'} (the model description) nests more than {MAX_DEPTH} levels deep" in out


def test_one_hostile_folder_in_the_library_is_listed_as_broken(model_folder, tmp_path, cli):
    library = tmp_path / "library"
    library.mkdir()
    shutil.copytree(model_folder, library / "good")
    shutil.copytree(model_folder, library / "deep")
    (library / "deep" / "model.json").write_text('{"files": ' + "[" * DEEP + "]" * DEEP + "}")
    shutil.copytree(model_folder, library / "huge")
    (library / "huge" / "model.json").write_text(" " * (5 * 1024 * 1024) + "{}")

    code, out, errors = cli("models", "--library", library, "list")

    assert (code, errors) == (0, [])
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "32x32" in rows["tiny"] and "broken:" not in rows["tiny"]  # listed by the name in its model.json
    assert "broken:" in rows["deep"] and "levels deep" in rows["deep"]
    assert "broken:" in rows["huge"] and "5,242,882 bytes" in rows["huge"]


def test_a_deeply_nested_preset_is_listed_as_broken(tmp_path, cli):
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "deep.toml").write_text("x = " + "[" * 20_000 + "]" * 20_000 + "\n")  # under the 64 KiB cap
    (folder / "dotted.toml").write_text("a" + ".a" * 20_000 + " = 1\n")  # tomllib alone takes ~15 s on this
    (folder / "huge.toml").write_text("# " + "x" * 100_000 + "\n")

    code, out, errors = cli("presets", "list", "--dir", folder)

    assert (code, errors) == (0, [])
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "broken:" in rows["deep"] and "levels deep" in rows["deep"]
    assert "broken:" in rows["dotted"] and "levels deep" in rows["dotted"]
    assert "broken:" in rows["huge"] and "more than the 65,536" in rows["huge"]
    assert "broken:" not in rows["web"]


@pytest.mark.parametrize(
    "text, message",
    [("[" * 65 + "]" * 65, "nests more than 64"), ('{"a": "' + "[" * 100 + '"}', None), ('{"a": ', "not valid JSON"),
     (b"\xff\xfe{}", "not UTF-8"), ("{}" + " " * 4 * 1024 * 1024, "bytes")],
    ids=["65 deep", "brackets inside a string", "cut short", "not utf-8", "over 4 MiB"],
)
def test_load_json_caps(tmp_path, text, message):
    path = tmp_path / "f.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    if message is None:
        assert load_json(path, what="a test file") == {"a": "[" * 100}
        return
    with pytest.raises(ModelError) as caught:
        load_json(path, what="a test file", error=ModelError)
    assert str(path) in str(caught.value) and message in str(caught.value) and "\n" not in str(caught.value)


def test_load_toml_ignores_brackets_in_strings_and_comments(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('# [[[[[[\nname = "[[[["\nlit = \'[[[\'\nmulti = """\n[[[[\n"""\n[[a.b]]\nx = [[1], [2.5]]\n')
    assert load_toml(path, what="t", max_depth=6) == {  # top table > a > b > [[...]] item > x > [1]
        "name": "[[[[", "lit": "[[[", "multi": "[[[[\n", "a": {"b": [{"x": [[1], [2.5]]}]},
    }
    path.write_text("x = " + "[" * 7 + "]" * 7)
    with pytest.raises(InputError, match="nests more than 6 levels deep"):
        load_toml(path, what="t", max_depth=6)


@pytest.mark.parametrize(
    "name, text",
    [("jobs.toml", "x = " + "[" * DEEP + "]" * DEEP), ("jobs.jsonl", "[" * DEEP + "]" * DEEP),
     ("jobs.toml", "a" + ".a" * 20_000 + " = 1")],
    ids=["deep toml", "deep jsonl line", "dotted toml"],
)
def test_hostile_batch_files_are_one_line(tmp_path, cli, name, text):
    (tmp_path / name).write_text(text + "\n")
    code, _, errors = cli("batch", tmp_path / name)
    assert code == 2 and len(errors) == 1 and name in errors[0]


def test_animate_with_a_deeply_nested_model_json_is_a_model_error(model_folder, tmp_path, cli, valid_inputs):
    source, driving = valid_inputs
    (model_folder / "model.json").write_text("[" * DEEP + "]" * DEEP)

    code, _, errors = cli("animate", source, driving, "-o", tmp_path / "out.mp4", "--model", model_folder, "--quiet")

    assert code == 3 and len(errors) == 1 and "model.json" in errors[0] and "levels deep" in errors[0]
