"""The model's context window: the gauge, the server's "too long" errors, and what a trim drops (pure).

vLLM, SGLang and OpenAI word a conversation that no longer fits in several ways (reference/domain.md §4.3):
``This model's maximum context length is 1024 tokens. However, you requested 1100 tokens (600 in the
messages, 500 in the completion)`` (older vLLM, OpenAI), ``… However, your prompt contains at least 1025
input tokens …`` (vLLM 0.32), ``'max_tokens' or 'max_completion_tokens' is too large: 500. This model's
maximum context length is 1024 tokens and your request has 600 input tokens`` (vLLM 0.11), and SGLang's
``Requested token count exceeds the model's maximum context length of 1024 tokens. You requested a total
of 1100 tokens …`` or ``The input (1100 tokens) is longer than the model's context length (1024 tokens)``.
``max_tokens=5000 cannot be greater than max_model_len=1024`` is a setting, not the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WARN_AT = 0.8  # the gauge turns to a warning at 80 % of the context, to an error at 95 %
FULL_AT = 0.95

_LIMIT = (
    r"maximum context length (?:is|of) (\d+)",
    r"context length \((\d+) tokens?\)",
)
_TOTAL = (
    r"you requested (\d+) tokens",
    r"requested a total of (\d+) tokens",
)
_PROMPT = (
    r"prompt contains at least (\d+) input tokens",
    r"parameter=input_tokens, value=(\d+)",
    r"request has (\d+) input tokens",
    r"(\d+) in the messages",
    r"(\d+) tokens from the input",
    r"the input \((\d+) tokens?\)",
)
_SETTING = re.compile(r"max_tokens=(\d+) cannot be greater than max_model_len=(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Overflow:
    """A request the server refused for length: its context, and what was asked (where it said)."""

    limit: int | None
    prompt: int | None = None  # tokens of the messages
    total: int | None = None  # messages and the answer asked for
    setting: bool = False  # max_tokens alone is larger than the context (F3 fixes it, a trim does not)

    @property
    def used(self) -> int | None:
        """What the gauge shows for the refused request."""
        return self.total if self.total is not None else self.prompt


def _first(patterns: tuple[str, ...], text: str) -> int | None:
    for pattern in patterns:
        found = re.search(pattern, text, re.IGNORECASE)
        if found:
            return int(found.group(1))
    return None


def overflow(error: str | None) -> Overflow | None:
    """The overflow a server's error message names, or None for any other error."""
    if not error:
        return None
    setting = _SETTING.search(error)
    if setting:
        return Overflow(int(setting.group(2)), setting=True)
    too_large = "max_completion_tokens' is too large" in error
    if "context length" not in error.lower() and not too_large:
        return None
    limit, prompt, total = _first(_LIMIT, error), _first(_PROMPT, error), _first(_TOTAL, error)
    if too_large and total is None and prompt is not None:
        asked = re.search(r"too large: (\d+)", error)
        total = prompt + int(asked.group(1)) if asked else None
    return Overflow(limit, prompt, total)


def gauge(used: int | None, limit: int | None, empty: bool = False) -> tuple[str, str]:
    """``("ctx 812/1024", level)``; level is "" | "warn" | "full".  ``used`` None: not known (``?``), or 0 when
    the conversation is ``empty``.  No limit known: no gauge (``""``)."""
    if not limit:
        return "", ""
    if used is None and empty:
        used = 0
    if used is None:
        return f"ctx ?/{limit}", ""
    share = used / limit
    level = "full" if share >= FULL_AT else "warn" if share >= WARN_AT else ""
    return f"ctx {used}/{limit}", level


def turns(roles: list[str]) -> list[int]:
    """Where each turn starts: a user message and what follows it up to the next one."""
    return [i for i, role in enumerate(roles) if role == "user"]


def to_drop(sizes: list[int], roles: list[str], over: Overflow | None, room: int) -> int:
    """How many of the oldest messages (whole turns, never the last turn) to stop sending.

    ``sizes`` are the messages' lengths in characters, oldest first, as sent.  With the server's figures
    the tokens to free are what went over the limit plus ``room`` for the answer, spread over the
    messages by their length; without them, one turn goes."""
    starts = turns(roles)
    if len(starts) < 2:
        return 0
    ends = starts[1:]  # dropping up to (not including) each later turn's start; the last turn stays
    need = 0.0
    if over is not None and over.limit:
        if over.total is not None:
            excess = over.total - over.limit
        elif over.prompt is not None:
            excess = over.prompt - over.limit + room
        else:
            excess = 0
        sent = over.prompt or over.total or 0
        chars = sum(sizes)
        need = excess * chars / sent if sent and chars else 0.0
    for end in ends:
        if sum(sizes[:end]) >= need:
            return end
    return ends[-1]
