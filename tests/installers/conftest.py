"""Fixtures for the installer tests: a fake package backend and a Context describing a pretend
machine whose home is a temp folder."""

from __future__ import annotations

import pytest
from installer_kit import FakeBackend

from tpsetup import cli


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def make_context(tmp_path, fake_backend):
    """A Context for a pretend machine; nothing in it can reach the real home folder or PATH."""

    def make(system: str = "Linux", arch: str = "x86_64", path: str | None = None, **changes) -> cli.Context:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = {"PATH": path if path is not None else str(tmp_path / "empty-path")}
        env.update(changes.pop("env", {}))
        context = cli.Context(system=system, arch=arch, env=env, home=str(home), python_version=(3, 11),
                              backend=fake_backend, find_library=lambda name: f"lib{name}.so", interactive=False)
        for key, value in changes.items():
            setattr(context, key, value)
        return context

    return make
