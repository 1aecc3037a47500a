"""The main screen: telemetry, the inference servers, and the chat bound to the selected server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import Screen

from console.doctor.session import banner_text
from console.keymap import DASHBOARD_BINDINGS
from console.runtime.state import server_rows
from console.servers.view import health_text, row_figures
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.chat_pane import ChatPane
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.panel import Panel
from console.ui.widgets.servers_panel import ServersPanel
from console.ui.widgets.sources_panel import SourcesPanel
from console.ui.widgets.telemetry_panel import TelemetryPanel
from console.ui.widgets.text import LiveText

if TYPE_CHECKING:
    from console.runtime.state import ConsoleState
    from console.telemetry.state import TelemetryState

COMPACT_WIDTH = 100
COMPACT_HEIGHT = 30


def missing_reasons(state: TelemetryState) -> dict[str, str]:
    """Short reasons to print in rows that have no data."""
    by_name = {s.name: s for s in state.statuses()}
    out = {}
    nvml = by_name.get("nvml")
    if nvml and not nvml.active and "jtop" not in state.latest:
        out["gpu"] = f"no GPU source: {nvml.detail}"
    return out


class DashboardScreen(Screen):
    BINDINGS = bindings(DASHBOARD_BINDINGS)

    def compose(self) -> ComposeResult:
        yield LiveText("jetconsole", id="title")
        yield LiveText("", id="doctor-banner")
        with Vertical(id="panels"):
            yield TelemetryPanel()
            yield ServersPanel()
            yield ChatPane()
            yield SourcesPanel()
        yield KeyHints()

    def on_mount(self) -> None:
        self._rendered: dict[str, tuple[object, ...]] = {}
        self.query_one(TelemetryPanel).focus()
        self.show_state(host(self).state)

    def on_screen_resume(self) -> None:
        self._rendered.clear()
        self.show_state(host(self).state)
        host(self).chat_control.panes_shown()

    def on_resize(self) -> None:
        compact = self.size.width < COMPACT_WIDTH or self.size.height < COMPACT_HEIGHT
        self.set_class(compact, "compact")
        self._rendered.clear()  # a panel's lines depend on its width: every one is drawn again

    def _changed(self, panel: str, *inputs: object) -> bool:
        """False when ``panel`` last rendered these very objects: the state is immutable and the reducer keeps
        the parts an event did not touch, so the same objects are the same picture (a sample redraws the
        telemetry, not the servers, sources or chat)."""
        last = self._rendered.get(panel)
        if last is not None and len(last) == len(inputs) and all(a is b for a, b in zip(last, inputs, strict=True)):
            return False
        self._rendered[panel] = inputs
        return True

    def show_state(self, state: ConsoleState) -> None:
        """Render ``state`` (while paused, the frozen one: every panel shows that moment)."""
        self._show_banner(state)
        paused = " · PAUSED (p)" if host(self).paused else ""
        telemetry = state.telemetry
        snap = telemetry.merged
        sources = "+".join(snap.sources) if snap else "…"
        hostname = snap.board.hostname if snap and snap.board and snap.board.hostname else ""
        self.query_one("#title", LiveText).set(f"jetconsole · {hostname} · telemetry: {sources}{paused}")
        if snap is not None and self._changed("telemetry", telemetry):
            self.query_one(TelemetryPanel).show(snap, telemetry.history, missing_reasons(telemetry))
        docker = state.docker
        if self._changed("sources", telemetry.report, telemetry.errors, docker, state.watch_docker):
            statuses = tuple(
                docker.status() if s.name == "docker" and state.watch_docker else s for s in telemetry.statuses()
            )
            self.query_one(SourcesPanel).show(statuses)
        processes = snap.processes if snap else ()
        if self._changed("servers", state.servers, docker, state.startups, processes):
            live = docker.status()
            line = live.detail + (f" → {live.hint}" if live.hint and not live.active else "")
            self.query_one(ServersPanel).show(
                server_rows(state),
                state.servers.status,
                docker.stats,
                f"Docker: {line}",
                state.servers.selected,
                state.startups,
                processes,
            )
        status = state.servers.selected_status
        chat = host(self).chat_control.chat
        if self._changed("chat", chat, status):
            server = f"server: {health_text(status)} {row_figures(status)}" if chat.endpoint else ""
            self.query_one(ChatPane).show_head(chat, server)

    def _show_banner(self, state: ConsoleState) -> None:
        """One line while a doctor check fails, naming the key that opens the fix."""
        keys = host(self).keymap_overrides.get("dashboard.doctor", "D").split(",")[0]
        text = banner_text(list(state.doctor.checks), keys)
        banner = self.query_one("#doctor-banner", LiveText)
        banner.set(text or "")
        banner.display = text is not None

    def action_zoom_telemetry(self) -> None:
        self.app.push_screen("telemetry")

    def action_zoom(self) -> None:
        focused: DOMNode | None = self.focused
        while focused is not None and not isinstance(focused, Panel):
            focused = focused.parent
        if isinstance(focused, TelemetryPanel) or focused is None:
            self.app.push_screen("telemetry")
        elif isinstance(focused, ServersPanel):
            self.app.push_screen("containers")
        elif isinstance(focused, ChatPane):
            self.action_chat_full()
        else:
            self.notify("The sources panel shows all it knows; no separate screen.", timeout=3)

    def action_containers(self) -> None:
        self.app.push_screen("containers")

    def action_ask(self) -> None:
        """Type a question into the chat pane (bound to the selected server)."""
        self.query_one(ChatPane).focus_input()

    def action_zoom_chat(self) -> None:
        self.action_chat_full()

    def action_chat_full(self) -> None:
        from console.ui.screens.chat import ChatScreen

        self.app.push_screen(ChatScreen())

    def action_leave_chat(self) -> None:
        """Esc in the chat pane with nothing streaming: back to the servers panel."""
        self.query_one(ServersPanel).focus()

    def action_doctor(self) -> None:
        host(self).action_doctor()

    def action_hud(self) -> None:
        host(self).action_hud()

    def action_fit(self) -> None:
        host(self).action_fit()

    def action_bench(self) -> None:
        host(self).action_bench()

    def action_fleet(self) -> None:
        host(self).action_fleet()

    def action_toggle_pause(self) -> None:
        host(self).toggle_pause()
