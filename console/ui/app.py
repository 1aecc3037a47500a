"""The Textual app: a thin adapter over the headless runtime.

The runtime's services run in threads of their own and fold their events into one immutable
``ConsoleState``.  Here a subscriber turns every state change into one coalescible
``StateChanged`` message (a burst of events is one repaint) and every one-shot event (a notice,
a question, log text, a launch's progress) into a ``RuntimeEvent``.  Screens render slices of
the state through ``show_state``; they send the runtime typed commands.  Pause keeps the state
of the moment it was pressed and renders that.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer

from console import config as cfg
from console.keymap import APP_BINDINGS, START_SCREENS
from console.keys_check import textual_keys
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.runtime import Runtime
from console.runtime.state import ConsoleState
from console.telemetry.discovery import Discovery
from console.themes import DEFAULT_THEME, ThemeSpec
from console.ui.actions import reachable
from console.ui.bindings import bindings
from console.ui.chat_control import ChatControl
from console.ui.messages import RuntimeEvent, StateChanged
from console.ui.screens.dashboard import DashboardScreen
from console.ui.widgets.chat_image import resolved_mode

if TYPE_CHECKING:
    from console.doctor.session import DoctorSetup

DiscoverFn = Callable[[], Discovery]
# state events a screen also takes as they come (a fix's log line, a conversation renamed)
FORWARDED = (ev.FixLine, ev.FixEnded, ev.ChatRenamed, ev.ChatDeleted)


def textual_theme(spec: ThemeSpec) -> Theme:
    c = spec.colors.get
    return Theme(
        name=spec.name,
        dark=spec.dark,
        primary=spec.colors["primary"],
        secondary=c("secondary"),
        accent=c("accent"),
        warning=c("warning"),
        error=c("error"),
        success=c("success"),
        foreground=c("foreground"),
        background=c("background"),
        surface=c("surface"),
        panel=c("panel"),
    )


def _warm_http(url: str, _life: object) -> None:
    from console.chat.client import shared_client  # httpx: ~40 ms the first frame does not need

    shared_client(url)


def _telemetry_screen() -> Screen[Any]:
    from console.ui.screens.telemetry import TelemetryScreen

    return TelemetryScreen()


def _containers_screen() -> Screen[Any]:
    from console.ui.screens.containers import ContainersScreen

    return ContainersScreen()


def _answer(reply: Future[Any], value: Any) -> None:
    """A dialog's answer to a service's question (once: a late second answer is dropped)."""
    if not reply.done():
        reply.set_result(value)


class JetconsoleApp(App[None]):
    TITLE = "jetconsole"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    BINDINGS = bindings(APP_BINDINGS)
    # screens the first frame does not show are imported, composed and styled when first opened
    SCREENS = {"telemetry": _telemetry_screen, "containers": _containers_screen}
    START_SCREENS = START_SCREENS
    ENABLE_COMMAND_PALETTE = True
    KIOSK_ACTIONS = frozenset({"toggle_help", "next_page"})

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
        runtime: Runtime | None = None,
    ) -> None:
        """``doctor``: what the doctor's checks run with (None: they do not run; tests with fixed frames).
        ``ascii_only``: the terminal cannot show block characters (TERM=linux): the HUD draws ASCII digits.
        ``hud_sources``: read the help flag and this host's name and address (off: tests with fixed frames).
        ``kiosk``: the HUD alone, with no way to the rest of the app (what ``--serve`` runs per browser).
        ``runtime``: an existing runtime to drive (else one is made from the other arguments)."""
        super().__init__()
        self.config = config
        self.theme_specs = themes
        self.keymap_overrides = {binding: textual_keys(keys) for binding, keys in config.keys.items()}
        self.runtime = runtime or Runtime(
            config,
            discover_fn=discover_fn,
            watch_docker=watch_docker,
            poll_servers=poll_servers,
            doctor=doctor,
            hud_sources=hud_sources,
        )
        self.frozen: ConsoleState | None = None  # the state shown while paused
        self._remember_theme = remember_theme
        self._theme_ready = False
        self.start_screen = start_screen
        self.ascii_only = ascii_only
        self.image_mode = resolved_mode(os.environ, ascii_only)  # how the chat shows images here
        self.kiosk = kiosk
        self.chat_control = ChatControl(self)
        self.launch_drafts: dict[str, dict[str, str]] = {}  # preset -> the form as the user left it
        self._unsubscribe: Callable[[], None] | None = None
        self._cluster_wait: Timer | None = None  # quitting waits for a cancelled cluster up to take its nodes down
        self.handled_version = -1  # the last state version a StateChanged handled

    # ---- the state, as screens see it ---------------------------------------------------------
    @property
    def state(self) -> ConsoleState:
        """What screens render: the frozen state while paused, else the runtime's."""
        return self.frozen if self.frozen is not None else self.runtime.state

    @property
    def paused(self) -> bool:
        return self.frozen is not None

    def send(self, command: cmd.Command) -> Any:
        """Hand a command to the runtime (screens and widgets call this)."""
        return self.runtime.send(command)

    # ---- start-up -------------------------------------------------------------------------------
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
                "chat": self.open_chat_screen,
                "doctor": self.action_doctor,
                "fit": self.action_fit,
                "hud": self.action_hud,
                "bench": self.action_bench,
                "fleet": self.action_fleet,
                "cluster": self.action_cluster,
                "containers": lambda: self.push_screen("containers"),
                "telemetry": lambda: self.push_screen("telemetry"),
            }.get(self.start_screen)
            if start is not None:
                start()
        self._unsubscribe = self.runtime.subscribe(self._from_runtime)
        endpoint = self.runtime.state.chat.endpoint  # httpx's import (an https server's CA too), off the 1st answer
        self.runtime.start_telemetry()
        # the other services start once the first frame is drawn: their threads' imports (httpx, the doctor's
        # checks, the Docker SDK) competed with it for the interpreter and cost it ~0.1 s (benchmarks/README.md)
        self.call_after_refresh(self._start_services, endpoint.url if endpoint else "http://")

    def _start_services(self, url: str) -> None:
        if not self.is_running:  # quit before the first frame was drawn
            return
        self.runtime.start_services()
        self.runtime.runner.spawn("http", partial(_warm_http, url))

    def _from_runtime(self, state: ConsoleState, event: ev.Event) -> None:
        """Called in a service's thread: post, never touch the UI."""
        if isinstance(event, ev.ONE_SHOT):
            self.post_message(RuntimeEvent(event))
        elif isinstance(event, FORWARDED):
            self.post_message(RuntimeEvent(event))
            self.post_message(StateChanged())
        else:
            self.post_message(StateChanged())

    # ---- state in -------------------------------------------------------------------------------
    def on_state_changed(self, _message: StateChanged) -> None:
        state = self.runtime.state
        self.chat_control.state_changed(state)
        self.refresh_screen()
        self.handled_version = state.version  # tests wait on this, not on a sleep

    def refresh_screen(self) -> None:
        """Render the state (frozen while paused) on the screen in front."""
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

    def on_runtime_event(self, message: RuntimeEvent) -> None:
        event = message.event
        if isinstance(event, ev.Notice):
            self.notify(event.text, severity=event.severity, timeout=event.timeout)  # type: ignore[arg-type]
        elif isinstance(event, ev.Ask):
            self._ask(event)
        elif isinstance(event, ev.ActionDone):
            self.notify(event.result.message, severity="information" if event.result.ok else "error", timeout=4)
        elif isinstance(event, ev.InspectReady):
            from console.ui.screens.confirm import TextScreen

            self.push_screen(TextScreen(event.title, event.text))
        elif isinstance(event, ev.ServiceFailed):
            self.notify(f"{event.service}: {event.error}", severity="warning", timeout=6)
        else:  # log text, launch progress, fix lines: the screens that show them take them
            for screen in self.screen_stack:
                take = getattr(screen, "take_event", None)
                if take is not None:
                    try:
                        take(event)
                    except NoMatches:  # the screen is closing
                        pass

    def _ask(self, event: ev.Ask) -> None:
        reply: Future[Any] = event.reply
        if event.typed:
            from console.ui.screens.chat_dialogs import AskScreen

            self.push_screen(AskScreen(event.text), partial(_answer, reply))
            return
        from console.ui.screens.confirm import StrictConfirmScreen

        self.push_screen(StrictConfirmScreen(event.title, event.text), lambda yes: _answer(reply, bool(yes)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In kiosk mode (a served HUD anyone on the network may type into) only the HUD's own keys work:
        no quitting, no palette, no way to the screens that change things."""
        if self.kiosk and action not in self.KIOSK_ACTIONS:
            return False
        return True

    # ---- actions --------------------------------------------------------------------------------
    def open_chat_screen(self) -> None:
        from console.ui.screens.chat import ChatScreen

        if not isinstance(self.screen, ChatScreen):
            self.push_screen(ChatScreen())

    def action_help(self) -> None:
        from console.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_doctor(self) -> None:
        """The Doctor screen, on the first failing check."""
        from console.ui.screens.doctor import DoctorScreen

        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen("problem"))

    def doctor_fix(self, check_id: str) -> None:
        """Start the in-app fix for ``check_id`` (it asks before it changes anything), on the Doctor screen."""
        from console.ui.screens.doctor import DoctorScreen

        if self.runtime.doctor is None:
            return
        if not any(isinstance(s, DoctorScreen) for s in self.screen_stack):
            self.push_screen(DoctorScreen(check_id))
        self.send(cmd.ApplyFix(check_id))

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

    def action_fleet(self) -> None:
        from console.ui.screens.fleet import FleetScreen

        if not isinstance(self.screen, FleetScreen):
            self.push_screen(FleetScreen())

    async def action_quit(self) -> None:
        """q: quit; while a cluster's up runs, first cancel it, which takes both nodes down, saying so."""
        if not self._cluster_busy():
            self.exit()
            return
        if self._cluster_wait is None:
            self.notify("cluster: taking both nodes down before quitting (up to a minute)…", timeout=60)
            self.runtime.send(cmd.StopCluster())
            self._cluster_wait = self.set_interval(0.5, self._quit_once_cluster_ended)

    def _cluster_busy(self) -> bool:
        cluster = self.runtime.state.cluster
        return cluster is not None and bool(cluster.busy)

    def _quit_once_cluster_ended(self) -> None:
        if not self._cluster_busy():  # its end is said once both nodes are down
            self.exit()

    def action_cluster(self) -> None:
        from console.ui.screens.cluster import ClusterScreen

        if not isinstance(self.screen, ClusterScreen):
            self.push_screen(ClusterScreen())

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
        """The actions ``screen`` offers now (its own, its widgets', then the app's), then the themes."""
        for item in (i for i in reachable(screen, self) if i.available):
            keys = self.keymap_overrides.get(item.spec.id, item.spec.keys).split(",")[0]
            yield SystemCommand(item.spec.description, f"{item.spec.id} ({keys})", item.run)
        for name in sorted(self.theme_specs):
            yield SystemCommand(
                f"Theme: {name}",
                "Switch theme (remembered in your config)",
                partial(setattr, self, "theme", name),
            )

    async def action_back(self) -> None:
        """Textual's ``back``, except off the dashboard: under it lies only Textual's blank default screen."""
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def toggle_pause(self) -> None:
        """Freeze the screen on the state of this moment, or resume; the runtime keeps going."""
        self.frozen = None if self.frozen is not None else self.runtime.state
        self.refresh_screen()

    # ---- shutdown -------------------------------------------------------------------------------
    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.runtime.stop()
