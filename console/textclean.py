"""Terminal escapes out of text that came from elsewhere (container logs, model output)."""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL/ST), 8-bit CSI, charset and other escapes, and carriage returns.
ANSI = re.compile(r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x9b[0-9;?]*[ -/]*[@-~]"
                  r"|\x1b[ -/]+[0-~]|\x1b[@-Z\\-_]|\r")


def strip_ansi(text: str) -> str:
    """Drop colour and other terminal escapes, and carriage returns."""
    return ANSI.sub("", text)
