"""Layering, checked from the folders (no hand-kept file lists):

* engine/ never imports Qt or studio; studio-cli imports no Qt (render farms have no display libs);
* studio/ reaches the engine only through its front door (docs/architecture.md, "Layers"): the
  modules in FRONT_DOOR; only the train, dataset and eval commands also use engine.train and
  engine.metrics. Lazy imports inside functions and ``importlib``-style string imports count too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_ENGINE = ("PySide6", "qasync", "studio", "shiboken6")
QT = ("PySide6", "qasync", "shiboken6")
FRONT_DOOR = ("engine", "engine.inputs", "engine.jobs", "engine.preview", "engine.weights", "engine.video.presets",
              "engine.config", "engine.events", "engine.errors", "engine.cancel", "engine.device", "engine.resources",
              "engine.textfiles")
BEHIND_THE_DOOR = ("engine.pose", "engine.video.reader", "engine.video.frame_store", "engine.pipeline",
                   "engine.models", "engine.sampling")
TRAINING_ONLY = ("engine.train", "engine.metrics")
TRAINING_COMMANDS = ("train_cmd.py", "dataset_cmd.py", "eval_cmd.py")


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports: import statements anywhere (also inside functions)
    and string arguments of calls such as ``importlib.import_module("engine.x")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names if _is_module(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            value = node.args[0].value
            if isinstance(value, str) and value.startswith("engine.") and " " not in value:
                modules.add(value)
    return modules


def _is_module(name: str) -> bool:
    """``from engine import jobs`` imports a module; ``from engine import __version__`` does not."""
    if not name.startswith("engine."):
        return False
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _within(module: str, prefixes) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _engine_imports_of_studio() -> dict[str, set[str]]:
    found = {}
    for path in sorted((REPO / "studio").rglob("*.py")):
        engine = {m for m in imported_modules(path) if m == "engine" or m.startswith("engine.")}
        if engine:
            found[str(path.relative_to(REPO))] = engine
    return found


def test_studio_reaches_no_engine_module_behind_the_front_door():
    imports = _engine_imports_of_studio()
    assert imports, "the scan found no engine imports at all; it is not looking at the right files"
    behind = {path: sorted(m for m in modules if _within(m, BEHIND_THE_DOOR)) for path, modules in imports.items()}
    assert {path: bad for path, bad in behind.items() if bad} == {}


def test_studio_imports_only_front_door_modules_and_training_only_in_its_commands():
    offenders = {}
    for path, modules in _engine_imports_of_studio().items():
        allowed = FRONT_DOOR + (TRAINING_ONLY if Path(path).name in TRAINING_COMMANDS else ())
        # engine.weights is one door with several rooms (library, fetch, model folders)
        bad = sorted(m for m in modules if m not in allowed and not _within(m, ("engine.weights",))
                     and not (Path(path).name in TRAINING_COMMANDS and _within(m, TRAINING_ONLY)))
        if bad:
            offenders[path] = bad
    assert offenders == {}


def test_the_rule_catches_lazy_and_string_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from engine.pose.extract import detect_image\n"
                      "def g():\n    return _engine('engine.video.reader')\n")
    assert {"engine.pose.extract", "engine.video.reader"} <= imported_modules(sample)


def test_engine_sources_import_no_qt_or_studio():
    offenders = {}
    for path in sorted((REPO / "engine").rglob("*.py")):
        bad = imported_roots(path) & set(FORBIDDEN_IN_ENGINE)
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_cli_sources_import_no_qt():
    files = [REPO / "studio" / "__init__.py", *sorted((REPO / "studio" / "cli").rglob("*.py"))]
    offenders = {str(p.relative_to(REPO)): sorted(imported_roots(p) & set(QT)) for p in files if p.exists()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_whole_engine_and_cli_loads_no_qt():
    modules = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts)
        for p in (REPO / "engine").rglob("*.py")
        if p.name != "__main__.py"
    )
    modules = [m[: -len(".__init__")] if m.endswith(".__init__") else m for m in modules]
    if (REPO / "studio" / "cli").is_dir():
        modules.append("studio.cli")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
