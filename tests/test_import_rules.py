"""Layering: engine/ never imports Qt or studio; studio-cli imports no Qt (render farms have no display libs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_ENGINE = ("PySide6", "qasync", "studio", "shiboken6")
QT = ("PySide6", "qasync", "shiboken6")


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


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
