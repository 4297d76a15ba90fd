"""Class 1: every path a model.json names must stay inside its model folder (no writes or reads outside)."""

from __future__ import annotations

import hashlib
import os

from tests.reliability.conftest import rehash


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_import_refuses_a_key_that_climbs_out_and_leaves_the_victim_alone(model_folder, tmp_path, cli):
    library = tmp_path / "home" / "library"
    victim = tmp_path / "home" / "VICTIM" / "notes.txt"  # library/.x.partial-PID/../../VICTIM/notes.txt: the copy's target
    victim.parent.mkdir(parents=True)
    victim.write_text("precious")
    payload = tmp_path / "VICTIM" / "notes.txt"  # src/tiny/../../VICTIM/notes.txt: what the copy would read
    payload.parent.mkdir()
    payload.write_text("overwritten")
    rehash(model_folder, extra={"../../VICTIM/notes.txt": _sha(b"overwritten")})

    code, out, errors = cli("models", "--library", library, "import", model_folder, "--name", "x")

    assert code == 3 and len(errors) == 1
    assert "'../../VICTIM/notes.txt'" in errors[0] and "model.json" in errors[0]
    assert victim.read_text() == "precious"
    assert not (library / "x").exists() and "imported" not in out
    assert not library.exists() or list(library.iterdir()) == []  # no staging folder left behind


def test_verify_refuses_an_absolute_key_instead_of_hashing_it(model_folder, tmp_path, cli):
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0")
    rehash(model_folder, extra={str(outside): _sha(b"root:x:0:0")})

    code, out, errors = cli("models", "verify", model_folder)

    assert code == 3 and len(errors) == 1
    assert "all files intact" not in out
    assert str(outside) in out  # verify lists the problem: the key it refused


def test_a_symlink_leading_out_of_the_folder_is_refused(model_folder, tmp_path, cli):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 16)
    os.symlink(secret, model_folder / "vae" / "extra.bin")
    rehash(model_folder, extra={"vae/extra.bin": _sha(b"\0" * 16)})

    code, _, errors = cli("models", "--library", tmp_path / "library", "import", model_folder, "--name", "x")

    assert code == 3 and len(errors) == 1 and "'vae/extra.bin'" in errors[0] and "link" in errors[0]
    assert not (tmp_path / "library" / "x").exists()


def test_inside_accepts_plain_paths_and_refuses_escapes(tmp_path):
    import pytest

    from engine.errors import ModelError
    from engine.textfiles import inside

    (tmp_path / "vae").mkdir()
    assert inside(tmp_path, "vae/config.json", what="model.json", error=ModelError) == tmp_path / "vae" / "config.json"
    for bad in ("../x", "/etc/passwd", "vae/../../x", "", "a\\..\\..\\x"):
        with pytest.raises(ModelError, match="refusing to touch files outside it"):
            inside(tmp_path, bad, what="model.json", error=ModelError)
