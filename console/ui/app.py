"""The Textual app: owns the pollers (one per source), the telemetry state and the screens.

Pollers run in worker threads and only post messages; handlers here update the state
and hand it to the screen on top.  No I/O happens on the event loop.  The threads are
daemons of our own rather than Textual thread workers: those run in the default
executor, which Python joins at exit, so a poller blocked in jtop's ``ok()`` held up
``q`` by up to one refresh interval.
"""

from __future__ import annotations

import codecs
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.theme import Theme

from console import config as cfg
from console.chat.client import shared_client
from console.containers import preflight
from console.containers.docker_source import ContainerGone, DockerSource, DockerUnavailable, docker_url
from console.containers.launcher import create_and_start, track
from console.containers.model import ActionResult
from console.containers.presets import LaunchPlan, Preset
from console.containers.state import DockerState
from console.containers.watcher import ContainerWatcher
from console.doctor.session import DoctorSetup
from console.keymap import ALL_BINDINGS, APP_BINDINGS
from console.telemetry.discovery import Discovery, discover
from console.telemetry.model import SourceReport, SourceStatus, TelemetrySnapshot
from console.telemetry.poller import Poller
from console.telemetry.state import TelemetryState
from console.themes import DEFAULT_THEME, ThemeSpec
from console.ui.bindings import bindings
from console.ui.chat_control import ChatControl
from console.ui.doctor_control import DoctorControl
from console.ui.hud_control import HudControl
from console.ui.messages import (
    ContainerActionDone,
    ContainersListed,
    ContainerStatsUpdated,
    DockerFailed,
    InspectReady,
    LaunchProgress,
    LogLines,
    PreflightDone,
    SourceFailed,
    SourcesDiscovered,
    TelemetrySampled,
)
from console.ui.screens.chat import ChatScreen
from console.ui.screens.confirm import TextScreen
from console.ui.screens.containers import ContainersScreen
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.launch import LaunchScreen
from console.ui.screens.telemetry import TelemetryScreen
from console.ui.server_control import ServerControl

DiscoverFn = Callable[[], Discovery]
LOG_BATCH_S = 0.2  # log text reaches the screen as at most 5 batches a second...
LOG_FLOOD_BATCH_S = 0.5  # ...and 2 while a batch holds over 8 KiB: rendering is what a flood costs
LOG_FLOOD_BYTES = 8192


def _pump(stream: Iterable[bytes], chunks: queue.Queue[bytes | None], stop: threading.Event) -> None:
    """Blocking reads of a log stream into a queue; None marks its end."""
    try:
        for chunk in stream:
            chunks.put(chunk)
            if stop.is_set():
                break
    except Exception:  # noqa: BLE001 - a cut stream ends like a finished one; the follower says so
        pass
    chunks.put(None)


def textual_theme(spec: ThemeSpec) -> Theme:
    return Theme(name=spec.name, dark=spec.dark, **spec.colors)


class JetconsoleApp(HudControl, DoctorControl, ServerControl, ChatControl, App[None]):
    TITLE = "jetconsole"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    BINDINGS = bindings(APP_BINDINGS)
    SCREENS = {"telemetry": TelemetryScreen, "containers": ContainersScreen}
    START_SCREENS = ("dashboard", "chat", "containers", "telemetry", "doctor", "fit", "hud", "bench")
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        config: cfg.Config,
        themes: dict[str, ThemeSpec],
        discover_fn: DiscoverFn | None = None,
        remember_theme: bool = True,
        watch_docker: bool = True,
        start_screen: str = "dashboard",
        poll_servers: bool = True,
        doctor: DoctorSetup | None = None,
        ascii_only: bool = False,
        hud_sources: bool = True,
        kiosk: bool = False,
    ) -> None:
        """``doctor``: what the doctor's checks run with (None: they do not run; tests with fixed frames).
        ``ascii_only``: the terminal cannot show block characters (TERM=linux): the HUD draws ASCII digits.
        ``hud_sources``: read the help flag and this host's name and address (off: tests with fixed frames).
        ``kiosk``: the HUD alone, with no way to the rest of the app (what ``--serve`` runs per browser)."""
        super().__init__()
        self.config = config
        self.theme_specs = themes
        self.keymap_overrides = dict(config.keys)
        self.state = TelemetryState(config.history_seconds, config.refresh_interval)
        self.paused = False
        self._discover_fn = discover_fn or partial(
            discover, config.telemetry_source, config.refresh_interval, config.docker_host
        )
        self._pollers: list[Poller] = []
        self._remember_theme = remember_theme
        self._theme_ready = False
        self.docker = DockerState(url=docker_url(config.docker_host))
        self.watch_docker = watch_docker
        self._watcher: ContainerWatcher | None = None
        self._followers: dict[int, threading.Event] = {}
        self.startups: dict[str, object] = {}  # container id -> last LaunchEvent of a launch from here
        self._next_follower = 0
        self.start_screen = start_screen
        self.poll_servers = poll_servers
        self.init_servers()
        self.init_chat()
        self.init_doctor(doctor)
        self.init_hud()
        self.ascii_only = ascii_only
        self.hud_sources = hud_sources
        self.kiosk = kiosk
        # called with (sample, merged snapshot) for every telemetry sample, paused or not: the Bench
        # screen's power meter reads the app's one poller per source instead of opening its own
        self.telemetry_taps: list[Callable[[TelemetrySnapshot, TelemetrySnapshot], None]] = []

    # ---- start-up -------------------------------------------------------------------
    def on_mount(self) -> None:
        for spec in self.theme_specs.values():
            self.register_theme(textual_theme(spec))
        wanted = self.config.theme if self.config.theme in self.theme_specs else DEFAULT_THEME
        if wanted in self.theme_specs:
            self.theme = wanted
        self._theme_ready = True
        self.set_class(self.ascii_only, "-ascii")  # the stylesheet's plain borders
        self.set_keymap(self.keymap_overrides)
        if self.kiosk:
            from console.ui.screens.hud import HudScreen

            self.push_screen(HudScreen(self.ascii_only))  # nothing underneath: Esc has nowhere to go
        else:
            self.push_screen(DashboardScreen())
            start = {
                "chat": lambda: self.push_screen(ChatScreen()),
                "doctor": self.action_doctor,
                "fit": self.action_fit,
                "hud": self.action_hud,
                "bench": self.action_bench,
                "containers": lambda: self.push_screen("containers"),
                "telemetry": lambda: self.push_screen("telemetry"),
            }.get(self.start_screen)
            if start is not None:
                start()
        self._spawn(self._discover, "jetconsole-discover")
        self._spawn(shared_client, "jetconsole-http")  # ~45 ms of SSL setup, not in the first answer
        self.sync_server_pollers()
        self.start_doctor()
        if self.hud_sources:
            self.start_hud_sources()
        if self.watch_docker:
            self._watcher = ContainerWatcher(
                self.docker.url,
                on_list=lambda cs: self.post_message(ContainersListed(cs)),
                on_stats=lambda st: self.post_message(ContainerStatsUpdated(st)),
                on_error=lambda reason, hint: self.post_message(DockerFailed(reason, hint)),
            )
            self._spawn(self._watcher.run, "jetconsole-docker")

    @staticmethod
    def _spawn(target: Callable[[], None], name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def _discover(self) -> None:
        try:
            found = self._discover_fn()
        except Exception as exc:  # noqa: BLE001 - shown in the Sources panel, never fatal
            status = SourceStatus(
                "telemetry",
                False,
                f"discovery failed: {type(exc).__name__}: {exc}",
                "report this with `jetconsole snapshot --json`",
            )
            found = Discovery(sources=[], report=SourceReport((status,)))
        self.post_message(SourcesDiscovered(found))

    def on_sources_discovered(self, message: SourcesDiscovered) -> None:
        found = message.discovery
        self.state.set_sources([s.name for s in found.sources], found.report)
        for source in found.sources:
            poller = Poller(
                source,
                self.config.refresh_interval,
                on_sample=lambda snap: self.post_message(TelemetrySampled(snap)),
                on_error=lambda name, err: self.post_message(SourceFailed(name, err)),
                opened=True,
            )
            self._pollers.append(poller)
            self._spawn(poller.run, f"jetconsole-poll-{source.name}")
        self._refresh_screen()

    # ---- data in --------------------------------------------------------------------
    def on_telemetry_sampled(self, message: TelemetrySampled) -> None:
        merged = self.state.add(message.snapshot)
        for tap in list(self.telemetry_taps):
            tap(message.snapshot, merged)
        if not self.paused:
            self._refresh_screen()

    def on_source_failed(self, message: SourceFailed) -> None:
        self.state.fail(message.source, message.error)
        self._refresh_screen()

    def on_containers_listed(self, message: ContainersListed) -> None:
        self.docker.listed(message.containers)
        self.sync_server_pollers()
        self.sync_startup_followers()
        self._refresh_screen()

    def on_container_stats_updated(self, message: ContainerStatsUpdated) -> None:
        self.docker.stats.update(message.stats)
        self._refresh_screen()

    def on_docker_failed(self, message: DockerFailed) -> None:
        self.docker.failed(message.reason, message.hint)
        self._refresh_screen()

    def on_container_action_done(self, message: ContainerActionDone) -> None:
        result = message.result
        self.notify(result.message, severity="information" if result.ok else "error", timeout=4)
        if self._watcher is not None:
            self._watcher.refresh()

    def on_inspect_ready(self, message: InspectReady) -> None:
        self.push_screen(TextScreen(message.title, message.text))

    # ---- Docker work, each in its own thread that only posts messages ---------------------
    def container_action(self, action: str, container_id: str, name: str) -> None:
        def work() -> None:
            source = DockerSource(self.docker.url)
            try:
                source.open()
                result = source.act(action, container_id, name)
            except DockerUnavailable as exc:
                result = ActionResult(False, action, name, f"{exc} — {exc.hint}")
            finally:
                source.close()
            self.post_message(ContainerActionDone(result))

        self._spawn(work, f"jetconsole-{action}")

    def inspect_container(self, container_id: str, name: str) -> None:
        def work() -> None:
            source = DockerSource(self.docker.url)
            try:
                source.open()
                text = json.dumps(source.inspect(container_id), indent=2, sort_keys=True, default=str)
            except ContainerGone:
                text = f"{name} no longer exists."
            except DockerUnavailable as exc:
                text = f"{exc} — {exc.hint}"
            finally:
                source.close()
            self.post_message(InspectReady(f"Inspect {name} (secrets masked)", text))

        self._spawn(work, "jetconsole-inspect")

    def follow_logs(self, container_id: str, tail: int = 2000) -> int:
        """Start following a container's log; batches reach the screen as LogLines messages."""
        self._next_follower += 1
        follower, stop = self._next_follower, threading.Event()
        self._followers[follower] = stop

        def work() -> None:
            source = DockerSource(self.docker.url)
            chunks: queue.Queue[bytes | None] = queue.Queue()
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            ended = "closed"
            try:
                source.open()
                stream = source.logs(container_id, tail=tail, follow=True)
                self._spawn(lambda: _pump(stream, chunks, stop), f"jetconsole-logs-read-{follower}")
                pending: list[str] = []
                last, interval = time.monotonic(), LOG_BATCH_S
                while not stop.is_set():
                    try:
                        chunk = chunks.get(timeout=LOG_BATCH_S)
                    except queue.Empty:
                        chunk = b""
                    if chunk is None:
                        ended = "the container stopped"
                        break
                    if chunk:
                        pending.append(decoder.decode(chunk))
                    now = time.monotonic()
                    if pending and (not chunk or now - last >= interval):  # quiet, or a batch's worth
                        text = "".join(pending)
                        interval = LOG_FLOOD_BATCH_S if len(text) > LOG_FLOOD_BYTES else LOG_BATCH_S
                        self.post_message(LogLines(follower, text))
                        pending, last = [], now
                if stop.is_set():
                    stream.close()
                    return
                pending.append(decoder.decode(b"", final=True))
                self.post_message(LogLines(follower, "".join(pending), ended=ended))
            except ContainerGone:
                self.post_message(LogLines(follower, "", ended="the container was removed"))
            except DockerUnavailable as exc:
                self.post_message(LogLines(follower, "", ended=f"{exc} — {exc.hint}"))
            except Exception as exc:  # noqa: BLE001 - daemon gone mid-stream
                self.post_message(LogLines(follower, "", ended=f"{type(exc).__name__}: {exc}"))
            finally:
                source.close()

        self._spawn(work, f"jetconsole-logs-{follower}")
        return follower

    def launch_server(
        self, run_id: int, plan: LaunchPlan, preset: Preset, launch: bool, remove_first: str | None = None
    ) -> None:
        """Preflight, then (when ``launch``) create, start and follow; reports as messages.

        ``remove_first``: a failed container of an earlier try, removed before the preflight.
        """

        def work() -> None:
            source = DockerSource(self.docker.url)
            try:
                source.open()
                if remove_first:
                    source.act("remove", remove_first)
                mem = self.state.merged.memory if self.state.merged else None
                checks = preflight.run_checks(
                    plan,
                    source,
                    util=preset.gpu_memory_utilization,
                    max_model_len=preset.max_model_len,
                    mem_total=mem.total if mem else None,
                    mem_available=mem.available if mem else None,
                )
                blocked = bool(preflight.blocking(checks))
                self.post_message(PreflightDone(run_id, checks, blocked, launch))
                if blocked or not launch:
                    return
                cid = create_and_start(source, plan)
                self.launched_here.add(cid)  # its own tracker follows it below
                if self._watcher is not None:
                    self._watcher.refresh()
                self.post_message(LaunchProgress(run_id, None, f"started {plan.name or cid[:12]}"))
                health = f"{plan.url}/health" if plan.url else None
                track(source, cid, health, lambda e: self.post_message(LaunchProgress(run_id, e, container=cid)))
            except DockerUnavailable as exc:
                self.post_message(LaunchProgress(run_id, None, f"{exc} — {exc.hint}"))
            except Exception as exc:  # noqa: BLE001 - Docker refused (bad image, name taken…): say so
                self.post_message(LaunchProgress(run_id, None, f"launch failed: {type(exc).__name__}: {exc}"))
            finally:
                source.close()

        self._spawn(work, f"jetconsole-launch-{run_id}")

    def on_preflight_done(self, message: PreflightDone) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, LaunchScreen):
                screen.preflight_done(message.run_id, message.checks, message.blocked, message.launching)

    def on_launch_progress(self, message: LaunchProgress) -> None:
        if message.container and message.event is not None:
            self.startups[message.container] = message.event  # the servers panel shows the phase
            self._refresh_screen()
        if message.run_id <= 0:
            return  # a follower of a server started elsewhere (hud_control): no Launch screen's business
        for screen in self.screen_stack:
            if isinstance(screen, LaunchScreen):
                screen.launch_event(
                    message.run_id,
                    message.event,
                    message.message,  # type: ignore[arg-type]
                    message.container,
                )

    def on_log_lines(self, message: LogLines) -> None:
        for screen in self.screen_stack:
            if getattr(screen, "follower", None) == message.follower:
                try:
                    screen.add_lines(message)  # type: ignore[attr-defined]
                except NoMatches:  # the screen is closing
                    pass

    def stop_logs(self, follower: int) -> None:
        stop = self._followers.pop(follower, None)
        if stop is not None:
            stop.set()

    def _refresh_screen(self) -> None:
        if not self.screen_stack:  # shutting down: a late message from a worker
            return
        show = getattr(self.screen, "show_state", None)
        if show is None:
            return
        with self.batch_update():
            try:
                show(self.state)
            except NoMatches:  # the screen is still composing or already torn down
                pass

    KIOSK_ACTIONS = frozenset({"toggle_help", "next_page"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In kiosk mode (a served HUD anyone on the network may type into) only the HUD's own keys work:
        no quitting, no palette, no way to the screens that change things."""
        if self.kiosk and action not in self.KIOSK_ACTIONS:
            return False
        return True

    # ---- actions ----------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_doctor(self) -> None:
        """The Doctor screen, on the first failing check."""
        from console.ui.screens.doctor import DoctorScreen

        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen("problem"))

    def action_hud(self) -> None:
        from console.ui.screens.hud import HudScreen

        if not isinstance(self.screen, HudScreen):
            self.push_screen(HudScreen(self.ascii_only))

    def action_fit(self) -> None:
        from console.ui.screens.fit import FitScreen

        if not isinstance(self.screen, FitScreen):
            self.push_screen(FitScreen())

    def action_bench(self) -> None:
        from console.ui.screens.bench import BenchScreen

        if not isinstance(self.screen, BenchScreen):
            self.push_screen(BenchScreen())

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
        from console.ui.widgets.chat_pane import ChatPane

        panes = list(screen.query(ChatPane))[:1]  # the chat's actions live on its pane
        for spec in ALL_BINDINGS:
            if spec.action == "command_palette":
                continue
            for target in (screen, *panes, self):
                if hasattr(target, spec.method):
                    keys = self.keymap_overrides.get(spec.id, spec.keys).split(",")[0]
                    yield SystemCommand(
                        spec.description,
                        f"{spec.id} ({keys})",
                        partial(self.call_later, target.run_action, spec.action),
                    )
                    break
        for name in sorted(self.theme_specs):
            yield SystemCommand(
                f"Theme: {name}", "Switch theme (remembered in your config)", partial(setattr, self, "theme", name)
            )

    def toggle_pause(self) -> None:
        """Freeze or resume the screen; samples and history keep coming."""
        self.paused = not self.paused
        self._refresh_screen()

    # ---- shutdown ----------------------------------------------------------------------
    def on_unmount(self) -> None:
        for poller in self._pollers:
            poller.stop()
        if self._watcher is not None:
            self._watcher.stop()
        for stop in self._followers.values():
            stop.set()
        self.stop_server_pollers()
        self.stop_doctor()
        self.stop_hud_sources()
        self.close_chat()
