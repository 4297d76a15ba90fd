"""`studio-cli models ...`: the subcommands on a real library folder, exit codes and messages."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from engine.errors import ModelError, StudioError
from studio.cli import models_cmd
from studio.cli.main import exit_code_for


REPO_ROOT = Path(__file__).resolve().parents[3]


def cli(*argv: str) -> int:
    """Parse and run like studio.cli's main does: StudioError -> its exit code."""
    parser = argparse.ArgumentParser(prog="studio-cli")
    models_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    try:
        return args.func(args)
    except StudioError as error:
        print(f"error: {error}")
        return exit_code_for(error)


def test_import_list_verify_remove_through_the_cli(released, tmp_path, capsys):
    library = str(tmp_path / "library")
    assert cli("models", "--library", library, "list") == 0
    listing = capsys.readouterr().out
    has_demo = (REPO_ROOT / "resources" / "models" / "demo" / "model.json").is_file()
    assert ("demo " in listing and "moore" not in listing) if has_demo else ("no models in" in listing)
    assert cli("models", "--library", library, "import", str(released), "--name", "moore", "--fp16") == 0
    assert "imported moore into" in capsys.readouterr().out
    assert cli("models", "--library", library, "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "DTYPE", "RESOLUTION", "ARCHITECTURE"]
    moore = [row for row in table[1:] if row.split()[0] == "moore"]
    assert len(moore) == 1 and "fp16" in moore[0] and "512x768" in moore[0]
    assert cli("models", "--library", library, "verify", "moore") == 0
    assert "moore: all files intact" in capsys.readouterr().out
    damaged = tmp_path / "library" / "moore" / "vae" / "config.json"
    damaged.write_text(damaged.read_text() + " ")
    assert cli("models", "--library", library, "verify", "moore") == exit_code_for(ModelError("")) == 3
    out = capsys.readouterr().out
    assert f"{damaged} is corrupt" in out and "error: moore has 1 damaged or missing files; re-import or re-fetch it" in out
    assert cli("models", "--library", library, "remove", "moore") == 0
    assert not (tmp_path / "library" / "moore").exists()


def test_cli_errors_are_one_line_with_exit_code_3(tmp_path, capsys):
    library = str(tmp_path / "library")
    assert cli("models", "--library", library, "remove", "ghost") == 3
    assert capsys.readouterr().out.startswith("error: no model named 'ghost'")
    assert cli("models", "--library", library, "import", str(tmp_path / "nowhere")) == 3
    assert cli("models", "--library", library, "fetch", "talkingpose") == 3  # HF_HUB_OFFLINE=1 in tests
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "does not exist" in out[0] and "offline" in out[1]


def test_models_needs_an_action():
    with pytest.raises(SystemExit) as exited:
        cli("models")
    assert exited.value.code == 2
