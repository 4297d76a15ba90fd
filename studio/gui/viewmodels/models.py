"""The model library as the model manager and the settings panel see it.

Each action is the same engine call ``studio-cli models`` makes (engine.weights.library.Library's
import_/verify/remove, engine.weights.fetch.fetch), run in a worker; the table is re-read after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from studio.gui.worker import Worker, start_worker

DEMO_CARD = "Made for the bundled puppets; real people need released weights — see Models ▸ Manage."
KNOWN_DOWNLOADS = ("talkingpose", "animate-anyone")  # engine.weights.fetch.KNOWN_MODELS, listed without importing torch


@dataclass(frozen=True)
class ModelCard:
    """One row of the model manager's table."""

    name: str
    kind: str = ""
    resolution: tuple[int, int] = (512, 512)
    size_bytes: int = 0
    defaults: dict = field(default_factory=dict)
    notes: str = ""
    license: str = ""
    problem: str = ""
    verified: str = ""  # "" not checked yet, "intact", or the first problem found
    bundled: bool = False

    @property
    def size_text(self) -> str:
        size = float(self.size_bytes)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
        return ""

    @property
    def text(self) -> str:
        """What the settings panel says under the model's name."""
        if self.bundled:
            return DEMO_CARD
        if self.problem:
            return f"Damaged: {self.problem}"
        first = self.notes.split(". ")[0].rstrip(".")
        return f"{first}." + (f" License: {self.license}." if self.license else "") if first else ""


def _library(root: Path | None):
    from engine.weights.library import Library

    return Library(root)


def read_cards(root: Path | None = None, verified: dict[str, str] | None = None) -> list[ModelCard]:
    """The library's models (the bundled demo first) as table rows."""
    from engine.weights.library import DEMO_NAME, list_models

    verified = verified or {}
    cards = []
    for info in list_models(_library(root)):
        size = 0
        if not info.problem:
            try:
                size = info.size_bytes
            except OSError:
                size = 0
        cards.append(ModelCard(
            name=info.name, kind=info.architecture, resolution=tuple(info.resolution), size_bytes=size,
            defaults=dict(info.defaults), notes=info.notes, license=info.license, problem=info.problem,
            verified=verified.get(info.name, ""), bundled=info.name == DEMO_NAME,
        ))
    return cards


def verify(name: str, root: Path | None = None) -> list[str]:
    """The problems ``studio-cli models verify NAME`` reports (empty: intact)."""
    from engine.errors import ModelError
    from engine.weights.library import DEMO_NAME, demo_model_dir
    from engine.weights.modelfolder import MODEL_JSON, verify_model

    if name == DEMO_NAME:
        if not (demo_model_dir() / MODEL_JSON).is_file():
            raise ModelError(f"the bundled demo model is missing from {demo_model_dir()}; reinstall TalkingPose Studio")
        return verify_model(demo_model_dir())
    return _library(root).verify(name)


class ModelLibraryModel(QObject):
    """``cards`` (table rows); ``busy`` names the action running; results arrive as ``message``/``error``."""

    changed = Signal()
    error = Signal(str)
    message = Signal(str, str)

    def __init__(self, root: Path | None = None, lister: Callable[[dict[str, str]], list[ModelCard]] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self._lister = lister or (lambda verified: read_cards(root, verified))
        self.cards: list[ModelCard] = []
        self.busy = ""
        self._verified: dict[str, str] = {}
        self._generation = 0
        self.download_folder: Path | None = None

    def card(self, name: str) -> ModelCard | None:
        return next((card for card in self.cards if card.name == name), None)

    def card_text(self, name: str) -> str:
        card = self.card(name)
        return card.text if card is not None else ""

    def refresh(self) -> Worker:
        lister, verified = self._lister, dict(self._verified)
        self._generation += 1
        generation = self._generation
        return start_worker(lambda token, report: lister(verified), "models-list",
                            on_result=lambda cards: self._cards_read(generation, cards), on_error=self.error.emit)

    def _cards_read(self, generation: int, cards: list[ModelCard]) -> None:
        if generation != self._generation:
            return  # a listing started before the last change: the newer one is on its way
        self.cards = cards
        self.changed.emit()

    def _run(self, what: str, task: Callable[[Callable[[Any], None]], Any], done: Callable[[Any], None]) -> Worker | None:
        if self.busy:
            self.error.emit(f"the model library is busy ({self.busy}); wait until it finishes")
            return None
        self.busy = what
        self.changed.emit()

        def finished() -> None:
            self.busy = ""
            self.changed.emit()  # the buttons come back now, not when the new listing arrives
            self.refresh()

        return start_worker(lambda token, report: task(report), f"models-{what.split()[0]}", on_result=done,
                            on_error=self.error.emit, on_finished=finished, on_event=self._event)

    def _event(self, event: Any) -> None:
        if isinstance(event, Path):  # a download's folder: its size is the progress the engine does not report
            self.download_folder = event

    def downloaded_bytes(self) -> int:
        """Bytes the running download has written so far (partial files included)."""
        folder = self.download_folder
        if not self.busy.startswith("downloading") or folder is None or not folder.is_dir():
            return 0
        total = 0
        for path in folder.rglob("*"):
            try:
                total += path.stat().st_size if path.is_file() else 0
            except OSError:
                pass  # a partial file renamed while we looked
        return total

    def import_folder(self, path: str | Path) -> Worker | None:
        root = self.root
        return self._run(f"importing {Path(path).name}", lambda report: _library(root).import_(Path(path)),
                         lambda folder: self.message.emit(f"imported {Path(folder).name}: keys, shapes and "
                                                          "checksums checked", "info"))

    def download(self, name: str) -> Worker | None:
        root = self.root

        def fetch(report):
            from engine.weights.fetch import fetch as engine_fetch

            library = _library(root)
            report(library.root / ".downloads" / name)  # where engine.weights.fetch puts the partial files
            return engine_fetch(name, library=library)

        return self._run(f"downloading {name}", fetch,
                         lambda folder: self.message.emit(f"downloaded {name} into {folder}", "info"))

    def verify(self, name: str) -> Worker | None:
        root = self.root

        def checked(problems: list[str]) -> None:
            self._verified[name] = "intact" if not problems else f"{len(problems)} problems: {problems[0]}"
            if problems:
                self.error.emit(f"{name} has {len(problems)} damaged or missing files ({problems[0]}); "
                                "import or download it again")
            else:
                self.message.emit(f"{name}: all files intact", "info")

        return self._run(f"verifying {name}", lambda report: verify(name, root), checked)

    def remove(self, name: str) -> Worker | None:
        root = self.root

        def removed(_: Any) -> None:
            self._verified.pop(name, None)
            self.message.emit(f"removed {name}", "info")

        return self._run(f"removing {name}", lambda report: _library(root).remove(name), removed)
