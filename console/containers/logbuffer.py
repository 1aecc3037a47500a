"""A bounded log: lines split from raw chunks, ANSI stripped, control characters made safe.

Pure and bounded in lines and in line length, so a container writing 10,000 lines/s
costs a fixed amount of memory; line numbers stay absolute after old lines fall out.
Lines are kept as plain strings (a 10,000 lines/s follower makes no objects per line);
errors are found when asked for.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from console.runtime.sanitise import clean_log

ERROR = re.compile(r"\b(ERROR|CRITICAL|FATAL|Traceback \(most recent call last\)|Exception|Error:)|\bE\d{4} ")
MAX_LINE = 4000


def clean(line: str) -> str:
    """Printable text only (the sanitiser's ``clean_log``: colour removed, other controls made
    visible, tabs as spaces), cut at ``MAX_LINE``."""
    return clean_log(line)[:MAX_LINE]


@dataclass(frozen=True)
class LogLine:
    number: int  # 1-based, absolute since the buffer started
    text: str

    @property
    def is_error(self) -> bool:
        return bool(ERROR.search(self.text))


class LogBuffer:
    def __init__(self, max_lines: int = 10_000) -> None:
        self.max_lines = max_lines
        self._lines: deque[str] = deque(maxlen=max_lines)
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
        added = [clean(raw) for raw in complete[skipped:]]
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
        chosen = items[start:] if count is None else items[start : start + count]
        first = self.first_number + start
        return [LogLine(first + i, text) for i, text in enumerate(chosen)]

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
