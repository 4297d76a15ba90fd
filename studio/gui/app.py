"""``studio``: the desktop app. qasync runs asyncio inside Qt's event loop for orchestration.

``studio --screenshot PATH`` opens the main window with an example loaded (resources/samples/
source.png + driving.mp4 when present, or --source/--driving), waits until it is ready, saves the
window as a PNG and exits: the picture in the README is made this way.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Sequence

from engine.resources import resource_path
from studio.gui.project import data_dir

SAMPLES = resource_path("samples")
log = logging.getLogger("studio")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="studio", description="TalkingPose Studio: animate a portrait with a driving video.")
    parser.add_argument("files", nargs="*", type=Path, help="a source image and/or a driving video to open")
    parser.add_argument("--project", type=Path, help="open a saved project (.tpproj)")
    parser.add_argument("--screenshot", type=Path, metavar="PATH", help="save the window with an example loaded as PNG and exit")
    parser.add_argument("--source", type=Path, help="example source image for --screenshot")
    parser.add_argument("--driving", type=Path, help="example driving video for --screenshot")
    parser.add_argument("--frame", type=int, default=None, help="frame to show in the screenshot (default: a third in)")
    parser.add_argument("--preview", action="store_true", help="render a preview frame before the screenshot")
    parser.add_argument("--model", default=None, help="model for --preview")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the example to load")
    return parser.parse_args(argv)


def example_inputs(source: Path | None, driving: Path | None) -> tuple[Path | None, Path | None]:
    """The inputs given on the command line, or else the bundled samples when present."""
    if source is not None or driving is not None:
        return source, driving
    sample_source, sample_driving = SAMPLES / "source.png", SAMPLES / "driving.mp4"
    return (sample_source if sample_source.exists() else None), (sample_driving if sample_driving.exists() else None)


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Yield to the Qt/asyncio loop until ``condition()``; the window stays live meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def take_screenshot(window, path: Path, source: Path | None, driving: Path | None, frame: int | None = None,
                          preview: bool = False, timeout: float = 300.0) -> Path:
    """Load the example into ``window``'s model, wait for poses and frames, grab the window to ``path``."""
    model = window.model
    if source is not None:
        model.open_source(source)
        await wait_until(lambda: model.source.info is not None or bool(model.last_error), timeout, "the source image")
    if driving is not None:
        model.open_driving(driving)
        await wait_until(lambda: (model.driving.info is not None and not model.driving.extracting) or bool(model.last_error),
                         timeout, "pose extraction")
        if model.driving.info is not None:
            frames = model.driving.info.frames
            target = frames // 3 if frame is None else max(0, min(frame, frames - 1))
            model.timeline.set_range(target, min(frames - 1, target + 59))
            model.timeline.seek(target)
            await wait_until(lambda: model.preview.driving_index == target and model.driving.thumbnails_complete,
                             timeout, "the driving frame and thumbnails")
            if preview:
                model.preview.request_preview()
                await wait_until(lambda: not model.preview.previewing, timeout, "the preview frame")
    await asyncio.sleep(0.2)  # one more paint after the last update
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def start_session(model, args: argparse.Namespace) -> None:
    """What a normal launch opens: a project, the files given (with the last session's settings, so
    a launch with files never resets them), or else the whole last session."""
    if args.project:
        model.open_project(args.project)
    if args.files:
        if not args.project:
            model.restore_last_session(inputs=False)
        for file in args.files[:2]:
            model.open_any(file)
    elif not args.project:
        model.restore_last_session()


def install_excepthook(report: Callable[[str], None]) -> None:
    """A bug in a slot must not kill the app: log the traceback and show one sentence."""
    from studio.gui.worker import describe_error

    def hook(kind, error, tb):
        log.error("uncaught exception:\n%s", "".join(traceback.format_exception(kind, error, tb)))
        try:
            report(describe_error(error))
        except Exception:  # the window may already be gone while quitting
            pass

    sys.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``studio`` console script."""
    args = parse_args(argv)
    logging.basicConfig(filename=str(data_dir() / "studio.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import qasync
    from PySide6.QtWidgets import QApplication

    from studio.gui.viewmodels.studio import StudioModel
    from studio.gui.widgets.main_window import MainWindow
    from studio.gui.worker import shutdown_workers

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("TalkingPose Studio")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # The screenshot is a demo: it must not rewrite the user's Recent lists or last session.
    model = StudioModel(persist=args.screenshot is None)
    window = MainWindow(model)
    install_excepthook(model.error.emit)
    window.show()
    try:
        if args.screenshot is not None:
            source, driving = example_inputs(args.source, args.driving)
            if args.model:
                model.settings.set(model=args.model)
            with loop:
                path = loop.run_until_complete(take_screenshot(window, args.screenshot, source, driving, args.frame,
                                                               args.preview, args.timeout))
            print(f"saved {path}")
            if model.last_error:
                print(f"the window shows an error: {model.last_error}", file=sys.stderr)
            return 0
        start_session(model, args)
        quitting = asyncio.Event()
        app.aboutToQuit.connect(quitting.set)
        with loop:
            loop.run_until_complete(quitting.wait())
        return 0
    finally:
        model.shutdown()
        shutdown_workers(5.0)


if __name__ == "__main__":
    sys.exit(main())
