"""Every key binding, by id (pure data).  Users remap ids in config.toml ``[keys]``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BindingSpec:
    id: str
    keys: str  # Textual key names, comma-separated
    action: str
    description: str
    show: bool = True


APP_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("app.quit", "q", "quit", "Quit"),
    BindingSpec("app.help", "question_mark", "help", "Help"),
    BindingSpec("app.palette", "ctrl+p,colon", "command_palette", "Commands", show=False),  # Textual shows ^p
    BindingSpec("app.theme", "ctrl+t", "next_theme", "Next theme", show=False),
)
DASHBOARD_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("dashboard.telemetry", "t", "zoom_telemetry", "Telemetry"),
    BindingSpec("dashboard.zoom", "z,enter", "zoom", "Zoom panel"),
    BindingSpec("dashboard.pause", "p", "toggle_pause", "Pause"),
)
DETAIL_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("detail.back", "escape", "back", "Back"),
    BindingSpec("detail.filter", "slash", "filter", "Filter processes"),
)
ALL_BINDINGS = APP_BINDINGS + DASHBOARD_BINDINGS + DETAIL_BINDINGS
BINDING_IDS = frozenset(b.id for b in ALL_BINDINGS)
