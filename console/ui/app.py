"""The Textual app: owns the pollers (one per source), the telemetry state and the screens.

Pollers run in worker threads and only post messages; handlers here update the state
and hand it to the screen on top.  No I/O happens on the event loop.  The threads are
daemons of our own rather than Textual thread workers: those run in the default
executor, which Python joins at exit, so a poller blocked in jtop's ``ok()`` held up
``q`` by up to one refresh interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.theme import Theme

from console import config as cfg
from console.keymap import ALL_BINDINGS, APP_BINDINGS
from console.telemetry.discovery import Discovery, discover
from console.telemetry.model import SourceReport, SourceStatus
from console.telemetry.poller import Poller
from console.telemetry.state import TelemetryState
from console.themes import DEFAULT_THEME, ThemeSpec
from console.ui.bindings import bindings
from console.ui.messages import SourceFailed, SourcesDiscovered, TelemetrySampled
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.telemetry import TelemetryScreen

DiscoverFn = Callable[[], Discovery]


def textual_theme(spec: ThemeSpec) -> Theme:
    return Theme(name=spec.name, dark=spec.dark, **spec.colors)


class JetconsoleApp(App[None]):
    TITLE = "jetconsole"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    BINDINGS = bindings(APP_BINDINGS)
    SCREENS = {"telemetry": TelemetryScreen}
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, config: cfg.Config, themes: dict[str, ThemeSpec],
                 discover_fn: DiscoverFn | None = None, remember_theme: bool = True) -> None:
        super().__init__()
        self.config = config
        self.theme_specs = themes
        self.keymap_overrides = dict(config.keys)
        self.state = TelemetryState(config.history_seconds, config.refresh_interval)
        self.paused = False
        self._discover_fn = discover_fn or partial(
            discover, config.telemetry_source, config.refresh_interval, config.docker_host)
        self._pollers: list[Poller] = []
        self._remember_theme = remember_theme
        self._theme_ready = False

    # ---- start-up -------------------------------------------------------------------
    def on_mount(self) -> None:
        for spec in self.theme_specs.values():
            self.register_theme(textual_theme(spec))
        wanted = self.config.theme if self.config.theme in self.theme_specs else DEFAULT_THEME
        if wanted in self.theme_specs:
            self.theme = wanted
        self._theme_ready = True
        self.set_keymap(self.keymap_overrides)
        self.push_screen(DashboardScreen())
        self._spawn(self._discover, "jetconsole-discover")

    @staticmethod
    def _spawn(target: Callable[[], None], name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def _discover(self) -> None:
        try:
            found = self._discover_fn()
        except Exception as exc:  # noqa: BLE001 - shown in the Sources panel, never fatal
            status = SourceStatus("telemetry", False, f"discovery failed: {type(exc).__name__}: {exc}",
                                  "report this with `jetconsole snapshot --json`")
            found = Discovery(sources=[], report=SourceReport((status,)))
        self.post_message(SourcesDiscovered(found))

    def on_sources_discovered(self, message: SourcesDiscovered) -> None:
        found = message.discovery
        self.state.set_sources([s.name for s in found.sources], found.report)
        for source in found.sources:
            poller = Poller(source, self.config.refresh_interval,
                            on_sample=lambda snap: self.post_message(TelemetrySampled(snap)),
                            on_error=lambda name, err: self.post_message(SourceFailed(name, err)),
                            opened=True)
            self._pollers.append(poller)
            self._spawn(poller.run, f"jetconsole-poll-{source.name}")
        self._refresh_screen()

    # ---- data in --------------------------------------------------------------------
    def on_telemetry_sampled(self, message: TelemetrySampled) -> None:
        self.state.add(message.snapshot)
        if not self.paused:
            self._refresh_screen()

    def on_source_failed(self, message: SourceFailed) -> None:
        self.state.fail(message.source, message.error)
        self._refresh_screen()

    def _refresh_screen(self) -> None:
        show = getattr(self.screen, "show_state", None)
        if show is None:
            return
        with self.batch_update():
            try:
                show(self.state)
            except NoMatches:  # the screen is still composing or already torn down
                pass

    # ---- actions ----------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_next_theme(self) -> None:
        names = sorted(self.theme_specs)
        if names:
            current = names.index(self.theme) if self.theme in names else -1
            self.theme = names[(current + 1) % len(names)]

    def watch_theme(self, name: str) -> None:
        if self._theme_ready and self._remember_theme and name in self.theme_specs and name != self.config.theme:
            self.run_worker(partial(self._save_theme, name), thread=True, name="remember-theme")

    def _save_theme(self, name: str) -> None:
        try:
            path = cfg.remember(self.config, "ui", "theme", name)
        except OSError as exc:
            self.call_from_thread(self.notify, f"theme not remembered: {exc}", severity="warning")
            return
        self.call_from_thread(self.notify, f"theme {name} saved to {path}", timeout=3)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every bound action that the current screen or the app can run, then the themes."""
        for spec in ALL_BINDINGS:
            if spec.action == "command_palette":
                continue
            for target in (screen, self):
                if hasattr(target, f"action_{spec.action}"):
                    keys = self.keymap_overrides.get(spec.id, spec.keys).split(",")[0]
                    yield SystemCommand(spec.description, f"{spec.id} ({keys})",
                                        partial(self.call_later, target.run_action, spec.action))
                    break
        for name in sorted(self.theme_specs):
            yield SystemCommand(f"Theme: {name}", "Switch theme (remembered in your config)",
                                partial(setattr, self, "theme", name))

    def toggle_pause(self) -> None:
        """Freeze or resume the screen; samples and history keep coming."""
        self.paused = not self.paused
        self._refresh_screen()

    # ---- shutdown ----------------------------------------------------------------------
    def on_unmount(self) -> None:
        for poller in self._pollers:
            poller.stop()
