"""Maintainer tools. Run one as ``python -m tools.NAME`` from the repository root."""
