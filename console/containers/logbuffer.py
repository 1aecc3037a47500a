"""A bounded log: lines split from raw chunks, ANSI stripped, control characters made safe, credentials masked.

Pure and bounded in lines and in line length, so a container writing 10,000 lines/s
costs a fixed amount of memory; line numbers stay absolute after old lines fall out.
Lines are kept as plain strings (a 10,000 lines/s follower makes no objects per line);
errors are found when asked for.  With ``timestamps`` the buffer takes Docker's own per-line
timestamps (``timestamps=1``: RFC 3339, UTC) off each line and keeps them apart, so a view can
show or hide them without reading the log again.  Credentials are masked as lines come in
(``mask_prose``), so the screen, a search and a saved file all see the same masked text; only a line
that could hold one (``might_hold_secret``, a few substring tests) pays for the masking.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from itertools import islice

from console.runtime.sanitise import clean_log
from console.runtime.secrets import MASK, mask_prose

ERROR = re.compile(r"\b(ERROR|CRITICAL|FATAL|Traceback \(most recent call last\)|Exception|Error:)|\bE\d{4} ")
WARNING = re.compile(r"\b(WARNING|WARN)\b|\bW\d{4} ")
STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*(Z|[+-]\d\d:\d\d) ")
MAX_LINE = 4000

# What every rule of ``mask_prose`` needs somewhere in the line (lower-cased): a secret name's word, a scheme word,
# a URL's user info, a secret query name, a token's shape, or a mask a value continues.  "token" alone is too common
# in a model server's log ("tokens/s", "tokenizer") to send every line to the masking, so it counts only as a name
# or a scheme word, followed by a quote, a colon, "=" or a space.
_HINTS = (
    *("key", "passw", "secret", "credential", "auth", "bearer", "basic", "@"),
    *("sig=", "signature=", "code="),
    *("hf_", "sk-", "nvapi-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "akia", MASK),
)
_TOKEN = re.compile(r"token['\"]?[\s=:]")


def level(text: str) -> str | None:
    """ "error", "warning" or None: how a view marks the line."""
    if ERROR.search(text):
        return "error"
    if WARNING.search(text):
        return "warning"
    return None


def split_stamp(raw: str) -> tuple[str, str]:
    """Docker's ``2024-05-01T12:00:00.123456789Z text`` as (``2024-05-01T12:00:00.123Z``, ``text``);
    ("", raw) for a line without one (a long line's continuation)."""
    m = STAMP.match(raw)
    if m is None:
        return "", raw
    return f"{m[1]}{m[2] or ''}{m[3]}", raw[m.end() :]


def clean(line: str) -> str:
    """Printable text only (the sanitiser's ``clean_log``: colour removed, other controls made
    visible, tabs as spaces), cut at ``MAX_LINE``."""
    return clean_log(line)[:MAX_LINE]


def might_hold_secret(text: str) -> bool:
    """False only for a line in which ``mask_prose`` can find nothing to mask (cheap: substring tests)."""
    low = text.lower()
    if "token" in low and _TOKEN.search(low):
        return True
    return any(hint in low for hint in _HINTS)


def safe_line(raw: str) -> str:
    """``clean``, with credentials masked (before the cut, so a key is never cut in two and half shown)."""
    text = clean_log(raw)
    if might_hold_secret(text):
        text = mask_prose(text)
    return text[:MAX_LINE]


@dataclass(frozen=True)
class LogLine:
    number: int  # 1-based, absolute since the buffer started
    text: str
    stamp: str = ""  # Docker's timestamp (UTC), when the buffer takes them

    @property
    def is_error(self) -> bool:
        return bool(ERROR.search(self.text))


class LogBuffer:
    def __init__(self, max_lines: int = 10_000, timestamps: bool = False) -> None:
        self.max_lines = max_lines
        self.timestamps = timestamps
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._stamps: deque[str] = deque(maxlen=max_lines)
        self._partial = ""
        self._skipping = False  # a line was cut at MAX_LINE: the rest of it is dropped, up to its end
        self.total = 0  # lines ever added

    def feed(self, chunk: str) -> list[str]:
        """Add raw text (any split); returns the cleaned, masked lines it completed (newest kept)."""
        if self._skipping:  # the rest of a cut line would start a line of its own, a key's tail in it unmasked
            end = chunk.find("\n")
            if end < 0:
                return []
            chunk, self._skipping = chunk[end + 1 :], False
        text = self._partial + chunk
        *complete, self._partial = text.split("\n")
        if len(self._partial) > MAX_LINE:  # a line with no end in sight: cut it here
            complete.append(self._partial)
            self._partial, self._skipping = "", True
        skipped = max(0, len(complete) - self.max_lines)  # older than what the buffer keeps
        kept = complete[skipped:]
        if self.timestamps:
            pairs = [split_stamp(raw) for raw in kept]
            self._stamps.extend(clean(stamp) for stamp, _ in pairs)
            kept = [text for _, text in pairs]
        added = [safe_line(raw) for raw in kept]
        self.total += skipped + len(added)
        self._lines.extend(added)
        return added

    def flush(self) -> list[str]:
        """End of stream: the unterminated tail becomes a line."""
        if not self._partial:
            return []
        tail, self._partial = self._partial, ""
        return self.feed(tail + "\n")

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def first_number(self) -> int:
        return self.total - len(self._lines) + 1

    def lines(self, start: int = 0, count: int | None = None) -> list[LogLine]:
        items = list(self._lines)
        stamps = list(self._stamps) if self.timestamps else [""] * len(items)
        end = len(items) if count is None else start + count
        chosen = list(zip(items, stamps, strict=True))[start:end]
        first = self.first_number + start
        return [LogLine(first + i, text, stamp) for i, (text, stamp) in enumerate(chosen)]

    def texts(self) -> list[str]:
        """The kept lines' text, oldest first (a view's snapshot)."""
        return list(self._lines)

    def newest(self, count: int) -> tuple[list[str], list[str]]:
        """The newest ``count`` kept lines' texts and stamps, oldest first: what a view appends after a batch
        (the cost of the batch, not of the whole buffer)."""
        count = max(0, min(count, len(self._lines)))
        texts = list(islice(reversed(self._lines), count))[::-1]
        stamps = list(islice(reversed(self._stamps), count))[::-1] if self.timestamps else [""] * count
        return texts, stamps

    def stamps(self) -> list[str]:
        """The kept lines' timestamps ("" each without ``timestamps``), oldest first."""
        return list(self._stamps) if self.timestamps else [""] * len(self._lines)

    def _numbered(self, pattern: re.Pattern[str]) -> list[int]:
        first = self.first_number
        return [first + i for i, text in enumerate(self._lines) if pattern.search(text)]

    def search(self, needle: str, regex: bool = False) -> list[int]:
        """Absolute numbers of matching lines (case-insensitive)."""
        if not needle:
            return []
        try:
            rx = re.compile(needle if regex else re.escape(needle), re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"bad search pattern: {exc}") from exc
        return self._numbered(rx)

    def next_error(self, after: int) -> int | None:
        """The first error line after absolute line ``after``, wrapping to the top."""
        errors = self._numbered(ERROR)
        later = [n for n in errors if n > after]
        return later[0] if later else (errors[0] if errors else None)

    def prev_error(self, before: int) -> int | None:
        errors = self._numbered(ERROR)
        earlier = [n for n in errors if n < before]
        return earlier[-1] if earlier else (errors[-1] if errors else None)
