"""A bounded log: lines split from raw chunks, ANSI stripped, control characters made safe.

Pure and bounded in lines and in line length, so a container writing 10,000 lines/s
costs a fixed amount of memory; line numbers stay absolute after old lines fall out.
Lines are kept as plain strings (a 10,000 lines/s follower makes no objects per line);
errors are found when asked for.  With ``timestamps`` the buffer takes Docker's own per-line
timestamps (``timestamps=1``: RFC 3339, UTC) off each line and keeps them apart, so a view can
show or hide them without reading the log again.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from console.runtime.sanitise import clean_log

ERROR = re.compile(r"\b(ERROR|CRITICAL|FATAL|Traceback \(most recent call last\)|Exception|Error:)|\bE\d{4} ")
WARNING = re.compile(r"\b(WARNING|WARN)\b|\bW\d{4} ")
STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*(Z|[+-]\d\d:\d\d) ")
MAX_LINE = 4000


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
        self.total = 0  # lines ever added

    def feed(self, chunk: str) -> list[str]:
        """Add raw text (any split); returns the cleaned lines it completed (newest kept)."""
        text = self._partial + chunk
        *complete, self._partial = text.split("\n")
        if len(self._partial) > MAX_LINE:  # a line with no end in sight: cut it here
            complete.append(self._partial)
            self._partial = ""
        skipped = max(0, len(complete) - self.max_lines)  # older than what the buffer keeps
        kept = complete[skipped:]
        if self.timestamps:
            pairs = [split_stamp(raw) for raw in kept]
            self._stamps.extend(clean(stamp) for stamp, _ in pairs)
            kept = [text for _, text in pairs]
        added = [clean(raw) for raw in kept]
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
