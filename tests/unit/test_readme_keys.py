"""README.md's keys agree with console/keymap.py: the "Every key" tables are generated from it, and every key
the hand-written tables name is one the keymap binds (or one of Textual's own, such as Tab)."""

from __future__ import annotations

import re
from pathlib import Path

from console.keymap import ALL_BINDINGS
from console.keymap_doc import display_key, markdown_tables

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
TEXTUALS_OWN = {"Tab", "Shift+Tab", "Shift+Enter", "Ctrl+J", "Ctrl+V"}  # focus moves and TextArea input


def test_every_key_tables_are_the_keymap() -> None:
    assert markdown_tables() in README, "run: python scripts/readme_keys.py"


def test_hand_written_key_tables_name_only_bound_keys() -> None:
    bound = {display_key(k) for spec in ALL_BINDINGS for k in spec.keys.split(",")} | TEXTUALS_OWN
    named: set[str] = set()
    in_table = False
    for line in README.splitlines():
        if line.startswith("| key"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("|---"):
            first = line.split("|")[1]
            named |= set(re.findall(r"`([^`]+)`", first))
    assert named, "no key table found"
    assert named - bound == set()
