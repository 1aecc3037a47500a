"""Terminal escapes out of text that came from elsewhere (container logs, model output)."""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL/ST), 8-bit CSI, charset and other escapes, and carriage returns.
ANSI = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x9b[0-9;?]*[ -/]*[@-~]"
    r"|\x1b[ -/]+[0-~]|\x1b[@-Z\\-_]|\r"
)


def strip_ansi(text: str) -> str:
    """Drop colour and other terminal escapes, and carriage returns."""
    return ANSI.sub("", text)


_C0 = {i: chr(0x2400 + i) for i in range(0x20) if chr(i) not in "\n\t"}
_C0[0x7F] = "\u2421"  # DEL
_C1 = {i: f"\\x{i:02x}" for i in range(0x80, 0xA0)}
VISIBLE = str.maketrans({**_C0, **_C1, 0x0D: None})  # \r dropped: CRLF is a line end


def visible_controls(text: str) -> str:
    """Model output as text, never terminal control: C0 controls as their Unicode control
    pictures (ESC → ␛, so ``␛[31m`` shows instead of turning things red), C1 as ``\\x9b``,
    carriage returns dropped; newlines and tabs kept."""
    return text.translate(VISIBLE)
