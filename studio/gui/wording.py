"""Engine sentences in the window's words: where a message names a command-line flag or command,
say which control of the studio does the same.

The engine words its messages for any front end; this is the safety net for the ones that still
name a flag (and for old messages from saved queue files).
"""

from __future__ import annotations

import re

# flag -> what the studio calls it; "{value}" is the flag's argument when the message gives one
FLAG_WORDS = {
    "--device": "choose {value} under Device in Settings",
    "--work-dir": "work folder (set TALKINGPOSE_DATA_DIR to one)",
    "--name": "in the name field",
    "--steps": "fewer Steps in Settings",
    "--size": "another Output size in Settings",
    "--cfg": "another Guidance value in Settings",
    "--beta": "another Steadiness value in Settings",
    "--model": "another model under Model in Settings",
    "--resume": "Resume in the render queue",
}
COMMANDS = (
    (re.compile(r"(?:run )?`?studio-cli models import[^`;,]*`?"), "Import folder… in Models ▸ Manage"),
    (re.compile(r"(?:run )?`?studio-cli models(?: [a-z]+)?(?: [A-Z]+)?`?"), "Models ▸ Manage…"),
    (re.compile(r"(?:run )?`?studio-cli [a-z]+[^`;,]*`?"), "the studio's menus"),
)
FLAG = re.compile(r"(?:use |with |pass |set )?(--[a-z][a-z0-9-]*)(?:[ =]([A-Za-z0-9_.:/-]+(?: or [A-Za-z0-9_.:/-]+)?))?")


def gui_wording(message: str) -> str:
    """``message`` with command-line flags and commands replaced by the studio's controls."""
    for pattern, words in COMMANDS:
        message = pattern.sub(words, message)

    def replace(match: re.Match) -> str:
        flag, value = match.group(1), match.group(2) or ""
        words = FLAG_WORDS.get(flag)
        if words is None:
            return f"the {flag[2:].replace('-', ' ')} setting"
        return words.replace("{value}", value).replace("  ", " ").replace("choose  under", "choose under")

    return FLAG.sub(replace, message)
