"""Studio tests: offscreen Qt, a private data dir per test, and the scripted fake engine."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from studio_testkit import FakeBackend, write_fake_video, write_portrait  # noqa: E402


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data dir so the queue and prefs never touch the user's."""
    folder = tmp_path / "data"
    monkeypatch.setenv("TALKINGPOSE_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def videos_dir(tmp_path, monkeypatch) -> Path:
    """The user's Videos folder (platformdirs) points into the test's tmp folder."""
    import platformdirs

    folder = tmp_path / "Videos"
    folder.mkdir()
    monkeypatch.setattr(platformdirs, "user_videos_dir", lambda: str(folder))
    return folder


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def media(tmp_path) -> dict[str, Path]:
    """Small input files: a portrait, one without a person, a fake video, a corrupt video, a text file."""
    folder = tmp_path / "media"
    folder.mkdir()
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(bytes(range(256)) * 4)
    notes = folder / "notes.png"
    notes.write_text("this is a text file, not a picture\n")
    return {
        "source": write_portrait(folder / "portrait.png"),
        "empty": write_portrait(folder / "empty-room.png", 30),
        "video": write_fake_video(folder / "talk.mp4"),
        "corrupt": corrupt,
        "text": notes,
    }


@pytest.fixture
def studio_model(qtbot, fake_backend):
    from studio.gui.project import Prefs
    from studio.gui.viewmodels.studio import StudioModel
    from studio.gui.worker import shutdown_workers

    model = StudioModel(fake_backend, Prefs())
    yield model
    model.shutdown()
    assert shutdown_workers(5.0), "a worker thread did not stop within 5 s of cancel"


@pytest.fixture
def loaded_model(qtbot, studio_model, media):
    """A studio with the portrait and the fake video loaded and poses extracted."""
    with qtbot.waitSignal(studio_model.source.changed, timeout=5000, check_params_cb=lambda *a: not studio_model.source.loading):
        studio_model.open_source(media["source"])
    with qtbot.waitSignal(studio_model.driving.poses_ready, timeout=5000):
        studio_model.open_driving(media["video"])
    return studio_model


@pytest.fixture
def window(qtbot, fake_backend, videos_dir):
    """The main window on the fake engine, shown, with dialogs answered by ``accept_dialog``."""
    from studio.gui.project import Prefs
    from studio.gui.viewmodels.studio import StudioModel
    from studio.gui.widgets.main_window import MainWindow
    from studio_testkit import accept_dialog

    win = MainWindow(StudioModel(fake_backend, Prefs.load()))
    win.skip_close_question = True
    win.run_dialog = accept_dialog
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def stopping_window(window):
    """``window``, and after the test every worker thread must stop within 5 s of the model's shutdown."""
    from studio.gui.worker import shutdown_workers

    yield window
    window.model.shutdown()
    assert shutdown_workers(5.0), "a worker thread did not stop within 5 s of cancel"
