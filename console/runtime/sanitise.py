"""The one sanitiser for untrusted text: what servers, containers, devices and files say.

Everything another program controls (model ids, versions, metric labels, container names,
images, labels, env, status strings, log lines, error bodies, hostnames, board, GPU and CPU
names, process names and command lines) goes through here where it enters, in the source
or parsing module, before any model object stores it.  After that no screen, CLI, JSON
export or report can emit a terminal control sequence from it: an OSC title
(``ESC ] 0;…BEL``), an OSC 52 clipboard write, a CSI (``ESC [ 2J``), a C0 control or a C1
control (``\\x9b`` is an 8-bit CSI on many terminals).

The rules, one per kind of field:

- ``clean``: one-line fields (names, ids, versions, labels, status words).  Every C0 control
  is shown as its Unicode control picture (ESC → ``␛``, so ``␛[2J`` is seen, not obeyed),
  DEL as ``␡``, C1 controls as the text ``\\x9b``.  Line structure is not allowed in a
  one-line field: a newline (``\\n``, ``\\r\\n`` or a lone ``\\r``) becomes ``␤`` and a tab a
  space, so a row of a table stays one row and a forged second line is seen as such.
- ``clean_text``: multi-line bodies (error bodies, model answers, tracebacks): the same,
  but newlines and tabs are kept; carriage returns are dropped (CRLF is a line end, and a
  lone ``\\r`` would let a line overwrite itself).
- ``clean_log``: one log line: colour and other escape sequences are *removed* first (a log
  full of ``␛[32m`` would be unreadable), then whatever is left is made visible; tabs become
  four spaces (a log view has no tab stops).
- ``clean_mapping``: labels and the like, keys and values as one-line fields.
- ``clean_tree``: decoded JSON (Docker's inspect, a probe's report): every string in it,
  keys included, as a multi-line body.

Every function is idempotent (cleaning clean text changes nothing), pure and cheap: text
that is already printable is returned as it is, checked in C.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# CSI (ESC [ … final), OSC (ESC ] … BEL/ST), 8-bit CSI, charset and other escapes, and carriage returns.
ANSI = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x9b[0-9;?]*[ -/]*[@-~]"
    r"|\x1b[ -/]+[0-~]|\x1b[@-Z\\-_]|\r"
)

# Every character these functions leave out: C0 but newline and tab, DEL, C1.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_C0: dict[int, str | None] = {i: chr(0x2400 + i) for i in range(0x20) if chr(i) not in "\n\t"}
_C0[0x7F] = "\u2421"  # DEL
_C1: dict[int, str | None] = {i: f"\\x{i:02x}" for i in range(0x80, 0xA0)}
VISIBLE = str.maketrans({**_C0, **_C1, 0x0D: None})  # \r dropped: CRLF is a line end
NEWLINE = "\u2424"  # ␤
ONE_LINE = str.maketrans({**_C0, **_C1, 0x0A: NEWLINE, 0x09: " "})
_LINE_ENDS = re.compile(r"\r\n?")


def strip_ansi(text: str) -> str:
    """Drop colour and other terminal escapes, and carriage returns (what is left may still hold controls)."""
    return ANSI.sub("", text)


def visible_controls(text: str) -> str:
    """Text, never terminal control: C0 controls as their Unicode control pictures (ESC → ␛, so
    ``␛[31m`` shows instead of turning things red), DEL as ␡, C1 as ``\\x9b``, carriage returns
    dropped; newlines and tabs kept."""
    if text.isprintable():
        return text
    return text.translate(VISIBLE)


def clean(text: str) -> str:
    """A one-line field: controls made visible, a newline (``\\n``, ``\\r\\n``, ``\\r``) as ␤, a tab as a space."""
    if text.isprintable():
        return text
    if "\r" in text:
        text = _LINE_ENDS.sub("\n", text)
    return text.translate(ONE_LINE)


def clean_opt(text: str | None) -> str | None:
    """``clean`` for a field that may be absent (None stays None)."""
    return None if text is None else clean(text)


def clean_text(text: str) -> str:
    """A multi-line body: controls made visible, newlines and tabs kept, carriage returns dropped."""
    return visible_controls(text)


def clean_log(line: str) -> str:
    """A log line: colour and other escape sequences removed, the controls left made visible, tabs as spaces."""
    if line.isprintable():
        return line
    return strip_ansi(line).translate(VISIBLE).replace("\t", "    ")


def clean_mapping(mapping: Mapping[Any, Any] | None) -> dict[str, str]:
    """Labels, env and the like: keys and values as one-line fields (non-strings through ``str``)."""
    return {clean(str(k)): clean(str(v)) for k, v in (mapping or {}).items()}


def clean_tree(value: Any) -> Any:
    """Decoded JSON with every string in it (keys too) cleaned as a multi-line body; other values kept."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_tree(v) for v in value)
    return value


def is_clean(text: str) -> bool:
    """Whether ``text`` holds no control a terminal could act on (newlines and tabs allowed)."""
    return CONTROLS.search(text) is None


_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")


def json_text(value: Any, **kw: Any) -> str:
    """``json.dumps`` that keeps readable characters as they are (a mask as ``••••``, not ``\\u2022``) but
    escapes DEL, the C1 controls (``\\x9b`` is an 8-bit CSI) and the line separators, which ``ensure_ascii=False``
    would write raw: a ``cat`` of the output never drives the terminal."""
    text = json.dumps(value, ensure_ascii=False, **kw)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
