"""One device of the fleet, whole: its telemetry (the dashboard's panel, with sparklines), containers,
servers, doctor checks and help flag, read from its agent every fleet interval.  Read-only: nothing here
changes the device.  With ``ssh=`` in the hosts file, ``s`` opens the device's own jetconsole over SSH in
this terminal (every screen, not read-only), and Esc there comes back here.
"""

from __future__ import annotations

import shlex

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable

from console.fleet.device import DeviceDetail
from console.fleet.hosts import Device
from console.fleet.ssh import run_session, session_argv
from console.keymap import DEVICE_BINDINGS
from console.runtime.commands import WatchDevice
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.telemetry_panel import TelemetryPanel
from console.ui.widgets.text import LiveText

GIB = 1 << 30


class DeviceScreen(Screen):
    BINDINGS = bindings(DEVICE_BINDINGS)
    DEFAULT_CSS = """
    DeviceScreen #device-status { height: auto; color: $text-muted; }
    DeviceScreen #device-containers, DeviceScreen #device-servers { height: auto; max-height: 12; }
    DeviceScreen #device-doctor { height: auto; }
    DeviceScreen #device-doctor.-flag { text-style: bold; color: $error; }
    """

    def __init__(self, device: Device) -> None:
        super().__init__()
        self.device = device

    def compose(self) -> ComposeResult:
        yield LiveText(f"{self.device.name} · read from its agent, read-only", id="title")
        yield LiveText("", id="device-status")
        yield TelemetryPanel(id="device-telemetry")
        servers: DataTable = DataTable(id="device-servers", cursor_type="row")
        servers.add_columns("server", "phase", "model", "tok/s", "run/wait", "KV", "TTFT p50")
        yield servers
        containers: DataTable = DataTable(id="device-containers", cursor_type="row")
        containers.add_columns("container", "state", "health", "CPU", "memory", "image")
        yield containers
        yield LiveText("", id="device-doctor")
        yield KeyHints()

    def on_mount(self) -> None:
        host(self).send(WatchDevice(self.device.name))
        self.show_state(host(self).state)

    def on_unmount(self) -> None:
        host(self).send(WatchDevice(None))

    def show_state(self, state: ConsoleState) -> None:
        fleet = state.fleet
        got = fleet.detail if fleet is not None and fleet.watched == self.device.name else None
        error = fleet.detail_error if fleet is not None else None
        self.query_one("#device-status", LiveText).set(self._status(got, error))
        if got is None:
            return
        if got.snapshot is not None and fleet is not None and fleet.history is not None:
            self.query_one(TelemetryPanel).show(got.snapshot, fleet.history, {})
        sync_rows(
            self.query_one("#device-servers", DataTable),
            [
                (
                    s.name or str(i),
                    [
                        s.name,
                        s.phase,
                        s.model or s.detail,
                        _num(s.gen_tps, "{:.1f}"),
                        f"{_num(s.running, '{:.0f}')}/{_num(s.waiting, '{:.0f}')}",
                        _num(s.kv_usage * 100 if s.kv_usage is not None else None, "{:.0f}%"),
                        _num(s.ttft_p50 * 1000 if s.ttft_p50 is not None else None, "{:.0f} ms"),
                    ],
                )
                for i, s in enumerate(got.servers)
            ],
        )
        sync_rows(
            self.query_one("#device-containers", DataTable),
            [
                (
                    c.name or str(i),
                    [
                        c.name,
                        c.state,
                        c.health,
                        _num(c.cpu_pct, "{:.0f}%"),
                        _num(c.mem_used / GIB if c.mem_used is not None else None, "{:.1f} GiB"),
                        c.image,
                    ],
                )
                for i, c in enumerate(got.containers)
            ],
        )
        failing = [f"{title}: {status}" for title, status in got.doctor if status in ("fail", "warn")]
        doctor = "doctor: " + ("; ".join(failing) if failing else f"{len(got.doctor)} checks, none failing")
        line = self.query_one("#device-doctor", LiveText)
        line.set(("HELP FLAG RAISED · " if got.help_flag else "") + doctor)
        line.set_class(got.help_flag, "-flag")

    def _status(self, got: DeviceDetail | None, error: str | None) -> str:
        how = f"ssh {self.device.ssh}: s opens its own jetconsole" if self.device.ssh else "no ssh= for it: read-only"
        if not self.device.url:
            return f"no agent on it (read over SSH: the fleet list has its figures) · {how}"
        if error:
            return f"{self.device.url}: {error} · {how}"
        if got is None:
            return f"reading {self.device.url}…"
        return f"{got.host or self.device.name} · Docker: {got.docker} · {how}"

    def action_ssh(self) -> None:
        """The device's own jetconsole over SSH in this terminal, the app suspended meanwhile."""
        if not self.device.ssh:
            self.notify("no ssh= for this device in the hosts file", severity="warning")
            return
        argv = session_argv(self.device, host(self).config.fleet_ssh_config)
        try:
            with self.app.suspend():  # the terminal is the session's until it ends
                code = run_session(argv)
        except Exception as exc:  # noqa: BLE001 - Textual's SuspendNotSupported (a web or test driver), ssh missing
            self.notify(f"cannot open a terminal session here ({type(exc).__name__}): run {shlex.join(argv)}")
            return
        if code not in (0, 130):
            self.notify(f"{shlex.join(argv)} ended with {code}", severity="warning")

    def action_back(self) -> None:
        self.app.pop_screen()


def _num(value: float | int | None, fmt: str) -> str:
    return fmt.format(value) if value is not None else "–"
