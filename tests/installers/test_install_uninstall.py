"""Install, re-install and uninstall with a fake package backend: the uninstall removes exactly
what the install recorded, keeps what was there before, and keeps the model library unless --purge."""

from __future__ import annotations

import json
from pathlib import Path

from installer_kit import files_under

from tpsetup import cli


def test_uninstall_restores_the_tree_exactly_and_keeps_the_user_files(tmp_path, make_context, capsys):
    context = make_context(env={"XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share")})
    home = Path(context.home)
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "other-tool").write_text("#!/bin/sh\n")  # the user's, must survive
    (home / ".local" / "share" / "applications").mkdir(parents=True)
    before = files_under(tmp_path)

    assert cli.main(["--yes"], context) == 0
    prefix = home / ".local" / "share" / "talkingpose-studio"
    manifest = json.loads((prefix / "install-manifest.json").read_text())
    created = files_under(tmp_path) - before
    recorded = {str(Path(entry).relative_to(tmp_path)) for entry in manifest["files"] + manifest["trees"]}
    # every created file is recorded or lies inside a recorded tree (the venv, the installer copy)
    for path in created:
        inside = any(path.rstrip("/") == entry or path.startswith(entry + "/") for entry in recorded)
        assert inside or path.endswith(("/", "install-manifest.json")), path
    assert "home/.local/bin/studio-cli" in recorded and "home/.local/share/applications/talkingpose-studio.desktop" in recorded

    library = prefix / "models" / "my-model"
    library.mkdir(parents=True)
    (library / "model.json").write_text("{}")
    assert cli.main(["--uninstall", "--yes"], context) == 0
    assert files_under(tmp_path) == before | {"home/.local/share/talkingpose-studio/", "home/.local/share/talkingpose-studio/models/",
                                             "home/.local/share/talkingpose-studio/models/my-model/",
                                             "home/.local/share/talkingpose-studio/models/my-model/model.json"}
    assert "Kept your model library" in capsys.readouterr().out

    assert cli.main(["--yes"], context) == 0
    assert cli.main(["--uninstall", "--purge", "--yes"], context) == 0
    assert files_under(tmp_path) == before


def test_rerun_upgrades_in_place_and_keeps_the_first_record(tmp_path, make_context, fake_backend):
    context = make_context()
    prefix = tmp_path / "app"
    assert cli.main(["--prefix", str(prefix), "--yes"], context) == 0
    first = json.loads((prefix / "install-manifest.json").read_text())
    first_calls = list(fake_backend.calls)
    assert cli.main(["--prefix", str(prefix), "--yes"], context) == 0
    second = json.loads((prefix / "install-manifest.json").read_text())
    assert {key: sorted(value) for key, value in first.items() if key != "info"} == \
        {key: sorted(value) for key, value in second.items() if key != "info"}
    def kinds(calls):
        return [call[:3] for call in calls]

    assert kinds(fake_backend.calls[len(first_calls):]) == kinds(first_calls)  # same steps again (venv reused)
    assert fake_backend.calls[-1][:3] == ("install", "--no-deps", "--force-reinstall")  # same version: forced
    assert cli.main(["--prefix", str(prefix), "--uninstall", "--yes"], context) == 0
    assert not prefix.exists() and files_under(tmp_path) == {"home/"}


def test_a_foreign_file_where_a_shim_goes_is_kept_and_never_removed(tmp_path, make_context, capsys):
    context = make_context()
    theirs = Path(context.home) / ".local" / "bin" / "studio"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("#!/bin/sh\necho another studio\n")
    assert cli.main(["--prefix", str(tmp_path / "app"), "--yes"], context) == 0
    assert f"kept {theirs}: it exists and was not made by this installer" in capsys.readouterr().out
    assert cli.main(["--prefix", str(tmp_path / "app"), "--uninstall", "--yes"], context) == 0
    assert theirs.read_text() == "#!/bin/sh\necho another studio\n"


def test_the_installer_copy_in_the_prefix_uninstalls_its_own_install(tmp_path, make_context, monkeypatch):
    context = make_context()
    prefix = tmp_path / "app"
    assert cli.main(["--prefix", str(prefix), "--yes"], context) == 0
    copy = prefix / "installer"
    assert (copy / "install.py").read_bytes() == (cli.INSTALLER / "install.py").read_bytes()
    assert sorted(path.name for path in (copy / "tpsetup").glob("*.py")) == \
        sorted(path.name for path in (cli.INSTALLER / "tpsetup").glob("*.py"))
    monkeypatch.setattr(cli, "INSTALLER", copy)  # as if run as PREFIX/installer/install.py
    assert cli.main(["--uninstall", "--yes"], context) == 0  # no --prefix needed
    assert not prefix.exists()


def test_wheelhouse_install_is_offline_and_installs_the_project_from_it(tmp_path, make_context, fake_backend):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    lock = cli.REPO / "requirements.lock"
    from tpsetup import packages

    for key, (name, version) in packages.read_pins(lock).items():
        (wheels / f"{name.replace('-', '_')}-{version}-py3-none-any.whl").write_bytes(b"")
    (wheels / "talkingpose_studio-0.1.0-py3-none-any.whl").write_bytes(b"")
    assert cli.main(["--prefix", str(tmp_path / "app"), "--wheels", str(wheels), "--yes"], make_context()) == 0
    installs = [call for call in fake_backend.calls if call[0] == "install"]
    assert all(call[1:4] == ("--no-index", "--find-links", str(wheels)) for call in installs)
    assert installs[-1][-1] == "talkingpose-studio" and not any(call[0] == "wheel" for call in fake_backend.calls)


def test_make_wheelhouse_then_install_from_it_offline(tmp_path, make_context, fake_backend, capsys):
    wheels = tmp_path / "wheels"
    assert cli.main(["--make-wheelhouse", str(wheels), "--torch", "cuda"], make_context()) == 0
    downloads = [call for call in fake_backend.calls if call[0] == "download"]
    assert downloads[0][1:] == ("--index-url", "https://download.pytorch.org/whl/cu128", "torch==2.13.0")
    assert f"Wheelhouse ready: {wheels}" in capsys.readouterr().out
    fake_backend.calls.clear()
    assert cli.main(["--prefix", str(tmp_path / "app"), "--wheels", str(wheels), "--torch", "cuda", "--yes"], make_context()) == 0
    assert [call[0] for call in fake_backend.calls] == ["venv", "install", "install", "install"]
