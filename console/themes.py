"""Themes are data: ``themes/*.toml`` files, loaded here without Textual.

The UI turns each ThemeSpec into a Textual theme; stylesheets use only theme variables.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

COLOR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
)
DEFAULT_THEME = "jetconsole-dark"


@dataclass(frozen=True)
class ThemeSpec:
    name: str
    dark: bool
    colors: dict[str, str]
    path: Path


class ThemeError(Exception):
    pass


def themes_dir() -> Path:
    """``themes/`` of a source checkout, else the copy bundled into the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "themes", here / "_themes"):
        if candidate.is_dir():
            return candidate
    raise ThemeError(f"no themes directory beside {here}")


def load_theme(path: Path) -> ThemeSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThemeError(f"{path}: {exc}") from exc
    colors = data.get("colors", {})
    missing = [k for k in ("primary", "background", "foreground") if k not in colors]
    unknown = [k for k in colors if k not in COLOR_KEYS]
    if missing or unknown or not isinstance(data.get("name"), str):
        raise ThemeError(
            f"{path}: needs name and colors.primary/background/foreground; missing {missing}, unknown {unknown}"
        )
    return ThemeSpec(name=data["name"], dark=bool(data.get("dark", True)), colors=dict(colors), path=path)


def load_themes(directory: Path | None = None) -> dict[str, ThemeSpec]:
    directory = directory or themes_dir()
    specs = [load_theme(p) for p in sorted(directory.glob("*.toml"))]
    return {s.name: s for s in specs}


def theme_names(directory: Path | None = None) -> set[str]:
    """Names of the themes on disk (used to validate config before the UI starts)."""
    try:
        return set(load_themes(directory))
    except ThemeError:
        return {DEFAULT_THEME}
