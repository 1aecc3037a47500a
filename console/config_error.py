"""A config file's error as a user reads it (``path:line: key: what is wrong``), and the line a key sits on.

A leaf module: ``config`` and the launch presets' reader (``containers.presets.toml``) both raise these
and neither has to import the other for it.
"""

from __future__ import annotations

import re
from pathlib import Path


class ConfigError(Exception):
    """A config problem a user can fix: where it is and what is wrong."""

    def __init__(self, path: Path | None, line: int | None, key: str | None, message: str) -> None:
        self.path, self.line, self.key, self.message = path, line, key, message
        where = str(path) if path else "config"
        if line:
            where += f":{line}"
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


def find_line(text: str, section: str, key: str | None = None) -> int | None:
    """1-based line of ``key`` inside ``[section]`` (or of the header when key is None)."""
    current = ""
    header_line = sub_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", stripped)
        if m and not stripped.startswith("[["):
            current = m.group(1).strip().strip('"')
            if current == section:
                header_line = number
                if key is None:
                    return number
            elif key is not None and current == f"{section}.{key}":
                sub_line = number  # the key written as a table of its own: [section.key]
            continue
        if current == section and key is not None:
            km = re.match(r'^("?)([^"=\s]+)\1\s*=', stripped)
            if km and km.group(2) == key:
                return number
    return sub_line or header_line
