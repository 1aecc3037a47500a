"""The one sanitiser, and every place untrusted text enters: nothing a server, container, device or
file says reaches a model object with a control sequence a terminal would act on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.runtime.sanitise import (
    clean,
    clean_log,
    clean_mapping,
    clean_opt,
    clean_text,
    clean_tree,
    is_clean,
    strip_ansi,
    visible_controls,
)

# Every character a terminal may act on, ESC included (newline and tab are left to the field's rule).
BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE = {
    "osc-title": "\x1b]0;pwned\x07",
    "osc-52": "\x1b]52;c;aGk=\x07",
    "csi-clear": "\x1b[2J",
    "csi-colour": "\x1b[31m",
    "c0-bel": "\x07",
    "c0-bs": "\x08",
    "c0-so": "\x0e",
    "c1-csi": "\x9b",
    "c1-osc": "\x9d",
    "c1-dcs": "\x90",
}
ALL = "".join(HOSTILE.values())


def evil(word: str = "x") -> str:
    """A plausible value with every kind of sequence in it."""
    return f"{word}{ALL}\x00\x7f\r\n{word}"


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("fn", [clean, clean_text, clean_log, visible_controls])
def test_every_sequence_kind_is_defused(kind: str, fn: Any) -> None:
    out = fn(f"a{HOSTILE[kind]}9")  # (a letter after a bare 8-bit CSI would be its final byte)
    assert not BAD.search(out), repr(out)
    assert out.startswith("a") and out.endswith("9")
    assert is_clean(out) and not is_clean(HOSTILE[kind])


def test_escapes_are_made_visible_not_obeyed() -> None:
    assert clean("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert clean("\x1b[2J\x1b[31mred") == "␛[2J␛[31mred"
    assert clean("\x08\x0e\x00\x7f") == "␈␎␀␡"
    assert clean("\x9b\x9d\x90") == "\\x9b\\x9d\\x90"
    assert clean_text("\x1b]52;c;aGk=\x07") == "␛]52;c;aGk=␇"


def test_one_line_fields_keep_one_line_bodies_keep_their_lines() -> None:
    assert clean("model\nFAKE LINE") == "model␤FAKE LINE"
    assert clean("a\r\nb\rc\td") == "a␤b␤c d"
    assert clean_text("Traceback:\r\n\tline 1\nError") == "Traceback:\n\tline 1\nError"
    assert clean_opt(None) is None and clean_opt("\x07") == "␇"


def test_logs_lose_their_colours_and_keep_the_rest_visible() -> None:
    assert clean_log("\x1b[32mINFO\x1b[0m ready\x1b]0;pwned\x07") == "INFO ready"
    assert clean_log("bell\x07 c1\x9b2J\tx") == "bell␇ c1    x"
    assert strip_ansi("\x1b[1;31mE\x1b[0m\r") == "E"


def test_mappings_and_trees_are_cleaned_keys_and_all() -> None:
    assert clean_mapping({"k\x1b": "v\x07", "n": 3}) == {"k␛": "v␇", "n": "3"}
    assert clean_mapping(None) == {}
    tree = clean_tree({"Env\x9b": ["A=\x1b[2J"], "n": 1, "t": ("\x07",), "none": None})
    assert tree == {"Env\\x9b": ["A=␛[2J"], "n": 1, "t": ("␇",), "none": None}


@pytest.mark.parametrize("fn", [clean, clean_text, clean_log])
def test_idempotent_and_plain_text_untouched(fn: Any) -> None:
    once = fn(evil())
    assert fn(once) == once
    plain = "Qwen/Qwen3-0.6B · vLLM 0.11 · Orin — 100 %"
    assert fn(plain) is plain
