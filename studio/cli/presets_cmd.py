"""``studio-cli presets list``: the export presets (bundled ones and the user's own folders).

A broken preset file is listed as broken, with the reason, and never stops the listing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.errors import InputError


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``presets``; its parser sets ``func=run``."""
    parser = subparsers.add_parser("presets", help="list the export presets",
                                   description="List the export presets that --preset accepts (the default first).")
    actions = parser.add_subparsers(dest="presets_action", metavar="ACTION")
    listing = actions.add_parser("list", help="list the presets", description="List the export presets, the default first.")
    listing.add_argument("--dir", type=Path, action="append", default=[], metavar="DIR",
                         help="also list the .toml presets in DIR (may repeat)")
    listing.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(func=run, presets_action=None)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``presets list`` and return the exit code."""
    if args.presets_action != "list":
        raise InputError("say what to do with presets: 'studio-cli presets list'")
    from engine.video.presets import DEFAULT_PRESET, list_presets

    presets = list_presets(args.dir, include_broken=True)
    if args.json:
        print(json.dumps([
            {"id": p.id, "name": p.name, "container": p.container, "extension": p.extension, "video_codec": p.video_codec,
             "audio_codec": p.audio_codec, "description": p.description, "default": p.id == DEFAULT_PRESET,
             "path": str(p.path) if p.path else None, "broken": p.problem or None}
            for p in presets
        ]))
        return 0
    rows = [("ID", "FORMAT", "VIDEO", "AUDIO", "DESCRIPTION")]
    for p in presets:
        if p.problem:
            rows.append((p.id, "?", "?", "?", f"broken: {p.problem}"))
            continue
        rows.append((p.id + (" (default)" if p.id == DEFAULT_PRESET else ""), p.name, p.video_codec,
                     p.audio_codec or "-", p.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0
