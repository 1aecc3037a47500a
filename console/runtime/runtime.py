"""The runtime: owns every service and connection, folds their events into one ``ConsoleState``
and hands each change to its subscribers (the Textual adapter, a CLI, a test).

Headless: nothing here imports Textual.  ``send`` takes the typed commands of
``console.runtime.commands``; ``ask`` is the one port for confirmations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console import config as cfg
from console.chat.endpoints import Endpoint, canonical, endpoint_for, endpoints
from console.chat.session import ChatSession
from console.containers.docker_source import docker_url
from console.containers.state import DockerState
from console.doctor.session import DoctorSetup
from console.hud import helpflag
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.reducer import reduce
from console.runtime.runner import Lifecycle, Runner
from console.runtime.services.chat import ChatService, settings_from_config
from console.runtime.services.docker import DockerService
from console.runtime.services.doctor import DoctorService
from console.runtime.services.hud import set_help_flag, start_hud_sources
from console.runtime.services.servers import ServerWatch
from console.runtime.services.startups import StartupFollowers
from console.runtime.services.telemetry import start_discovery
from console.runtime.state import ConsoleState, DoctorState, ServersState, server_rows
from console.servers.registry import ServerRow
from console.telemetry.discovery import Discovery, discover
from console.telemetry.state import TelemetryState

if TYPE_CHECKING:
    from console.fleet.hosts import Device
    from console.fleet.ssh import SshSettings
    from console.runtime.hub import Hub
    from console.runtime.services.bench import BenchService
    from console.runtime.services.fit import FitService

Subscriber = Callable[[ConsoleState, ev.Event], None]
AskPort = Callable[[str, str, bool], bool]
WordPort = Callable[[str], "str | None"]
ASK_POLL_S = 0.5
ACTION_STOP_S = 3.0  # how long quitting waits for a running organiser action to kill its processes
CLUSTER_STOP_S = 60.0  # how long quitting waits for a cluster's up to take both nodes down


class Runtime:
    """One per process: start it, subscribe to it, send it commands, stop it."""

    def __init__(
        self,
        config: cfg.Config,
        *,
        discover_fn: Callable[[], Discovery] | None = None,
        watch_docker: bool = True,
        poll_servers: bool = True,
        doctor: DoctorSetup | None = None,
        hud_sources: bool = True,
        ask: AskPort | None = None,
        ask_word: WordPort | None = None,
        persist_chat: bool = True,
    ) -> None:
        """``ask``/``ask_word``: answer questions directly (a CLI's prompt); without them a question is an
        ``Ask`` event that a subscriber answers through its ``reply`` future.  ``persist_chat=False``: the
        chat's questions and answers are not written to the conversation store."""
        self.config = config
        self.runner = Runner(on_error=self._service_failed)
        self._fleet_started = False
        self._device_reader: Lifecycle | None = None  # the device view's reader, while it reads
        self.configured: tuple[Endpoint, ...] = tuple(endpoints(config.servers, config.api_keys))
        selected = canonical(self.configured[0].url) if self.configured else None
        self._state = ConsoleState(
            telemetry=TelemetryState.sized(config.history_seconds, config.refresh_interval),
            docker=DockerState(url=docker_url(config.docker_host)),
            watch_docker=watch_docker,
            servers=ServersState(selected=selected, configured=tuple(e.url for e in self.configured)),
            doctor=DoctorState(enabled=doctor is not None, interval=doctor.interval if doctor else 0.0),
            chat=ChatSession(self.endpoint_for(selected) if selected else None, settings_from_config(config)),
        )
        self._lock = threading.RLock()
        self._subscribers: list[Subscriber] = []
        self._stopping = threading.Event()
        self._ask_port, self._word_port = ask, ask_word
        self._discover = discover_fn or partial(
            discover, config.telemetry_source, config.refresh_interval, config.docker_host
        )
        self.watch_docker = watch_docker
        self.hud_sources = hud_sources
        self.servers = ServerWatch(self, self.configured, config.refresh_interval, enabled=poll_servers)
        self.startups = StartupFollowers(self, self._state.docker.url)
        self.docker = DockerService(self, self._state.docker.url, self.startups.launched_here.add)
        self.doctor = DoctorService(self, doctor) if doctor is not None else None
        self._bench: BenchService | None = None  # made on first use (the bench property): a start does not load it
        self._fit: FitService | None = None
        self.chat = ChatService(self, config.chat_store, settings_from_config(config), persist=persist_chat)

    @property
    def bench(self) -> BenchService:
        """The bench service, made (and its power meter subscribed to the telemetry's samples) on first use."""
        with self._lock:
            if self._bench is None:
                from console.runtime.services.bench import BenchService

                self._bench = BenchService(self, self.config)
                self._bench.seed(self._state)
                self.subscribe(self._bench.sampled)
            return self._bench

    @property
    def fit(self) -> FitService:
        """The fit service, made on first use."""
        with self._lock:
            if self._fit is None:
                from console.runtime.services.fit import FitService

                self._fit = FitService(self)
            return self._fit

    # ---- state and subscribers ------------------------------------------------------------------
    @property
    def state(self) -> ConsoleState:
        return self._state

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(state, event)`` after every event (in the emitting thread; keep it cheap)."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: ev.Event) -> None:
        """Fold ``event`` into the state, run what it sets off, and hand it to the subscribers."""
        with self._lock:
            before = self._state
            self._state = state = reduce(before, event)
            subscribers = list(self._subscribers)
            for subscriber in subscribers:
                subscriber(state, event)
        if state is not before:
            self._after(state, event)

    def _after(self, state: ConsoleState, event: ev.Event) -> None:
        """Services that follow the state: server probes follow the containers, startup followers
        follow servers that are not ready."""
        if isinstance(event, ev.ContainersListed | ev.ClusterRead):  # a cluster's server is a server like any other
            self.servers.sync(state)
            self._sync_startups()
            self.chat.launch_line_changed()
        elif isinstance(event, ev.ServerPolled):
            if not event.status.ready:
                self._sync_startups()
            selected, chat = state.servers.selected_status, state.chat
            if selected is event.status and event.status.models and chat.endpoint is not None:
                self.emit(ev.ChatModelsListed(chat.endpoint.url, event.status.models))  # the probe's list
        elif isinstance(event, ev.ServerSelected):
            self.chat.bind(self.endpoint_for(event.url) if event.url else None)
        elif isinstance(event, ev.ChatModelsListed | ev.ChatModelChosen) and state.chat.model:
            self.chat.read_capabilities()  # images and tools: the model's config.json is read in a thread

    def _sync_startups(self) -> None:
        if self.watch_docker:
            self.startups.sync(self._state, self.server_rows())

    def _fleet_devices(self, names: tuple[str, ...]) -> tuple[Device, ...]:
        """The fleet's devices of these names, in the fleet's order."""
        fleet = self.state.fleet
        return tuple(d for d in fleet.devices if d.name in names) if fleet else ()

    def _ssh_settings(self) -> SshSettings:
        from console.fleet.ssh import SshSettings  # on first use: a start has no fleet

        c = self.config
        return SshSettings(c.fleet_ssh_config, c.fleet_ssh_interval, c.fleet_ssh_timeout)

    def _service_failed(self, name: str, exc: BaseException) -> None:
        self.emit(ev.ServiceFailed(name, f"{type(exc).__name__}: {exc}"))

    # ---- the ask port ------------------------------------------------------------------------------
    def ask(self, title: str, text: str, strict: bool = True) -> bool:
        if self._ask_port is not None:
            return self._ask_port(title, text, strict)
        return bool(self._wait(ev.Ask(title, text, Future(), strict=strict)))

    def ask_word(self, text: str) -> str | None:
        if self._word_port is not None:
            return self._word_port(text)
        answer = self._wait(ev.Ask("", text, Future(), strict=True, typed=True))
        return answer if isinstance(answer, str) else None

    def _wait(self, question: ev.Ask) -> Any:
        self.emit(question)
        while not self._stopping.is_set():
            try:
                return question.reply.result(timeout=ASK_POLL_S)
            except TimeoutError:
                continue
        return None  # the runtime is stopping: a question left open is a no

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every service: the telemetry, then the rest."""
        self.start_telemetry()
        self.start_services()

    def start_telemetry(self) -> None:
        """Find the telemetry sources and poll them (what the dashboard's first live frame shows)."""
        start_discovery(self, self._discover, self.config.refresh_interval)

    def start_services(self) -> None:
        """The servers' probes, the doctor, the HUD's sources and Docker's watchers (not once stopping)."""
        if self._stopping.is_set():
            return
        self.servers.sync(self._state)
        if self.doctor is not None:
            self.doctor.start()
        if self.hud_sources:
            start_hud_sources(self, self.help_flag_path())
        if self.watch_docker:
            self.docker.start_watcher()
        if self.servers.enabled:  # a cluster started from here: its server joins the servers list (no SSH at start)
            self.runner.spawn("cluster-record", lambda _life: _recorded_cluster(self))

    def _read_cluster_again(self) -> None:
        """Once a cluster operation's slot is free: its status again (not while the app quits)."""
        if not self._stopping.is_set():
            self.send(cmd.ReadCluster())

    def stop(self, timeout: float = 0.0) -> bool:
        """Stop every service (and wait up to ``timeout`` for their threads)."""
        self._stopping.set()
        self.chat.close()
        ended = self.runner.stop_all(timeout)
        run = self._state.fleet.action if self._state.fleet else None
        if run is not None and run.started and not run.finished:  # its processes killed, its end audited
            self.runner.idle(ACTION_STOP_S, names={f"fleet-action-{run.run_id}"})
        if "cluster-run" in self.runner.services():  # an up cancelled takes both nodes down before it ends
            self.runner.idle(CLUSTER_STOP_S, names={"cluster-run"})
        return ended

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until no service is working (for tests and CLIs); False on timeout."""
        return self.runner.idle(timeout)

    # ---- views the UI and CLIs share ---------------------------------------------------------------
    def server_rows(self, state: ConsoleState | None = None) -> list[ServerRow]:
        return server_rows(state or self._state)

    def endpoint_for(self, url: str) -> Endpoint:
        """A configured endpoint (with its key) or a bare one for a container's URL."""
        return endpoint_for(self.configured, url)

    def help_flag_path(self) -> Path:
        configured = self.config.hud_help_flag_file
        return Path(configured).expanduser() if configured else helpflag.path()

    # ---- commands ------------------------------------------------------------------------------------
    def send(self, command: cmd.Command) -> Any:
        """Carry out ``command``; returns what it starts (a log follower's id), else None."""
        match command:
            case cmd.ContainerAction(action, container_id, name):
                self.docker.act(action, container_id, name)
            case cmd.Inspect(container_id, name):
                self.docker.inspect(container_id, name)
            case cmd.FollowLogs(container_id, tail, timestamps):
                return self.docker.follow_logs(container_id, tail, timestamps)
            case cmd.SaveLog(folder, name, lines):
                self.docker.save_log(folder, name, lines)
            case cmd.StopLogs(follower):
                self.docker.stop_logs(follower)
            case cmd.Launch(run_id, plan, preset, launch, remove_first):
                from console.runtime.services.launch import launch as start_launch  # on first use: see its module

                start_launch(self.docker, run_id, plan, preset, launch, remove_first)
            case cmd.PlanFleetAction(run_id, action, names, options):
                from console.runtime.services import fleet_actions  # on first use

                self.emit(ev.FleetActionAsked(run_id, action, names))
                devices = self._fleet_devices(names)
                self.runner.spawn(
                    f"fleet-plan-{run_id}",
                    lambda _life: fleet_actions.plan(self, run_id, action, devices, options, self._ssh_settings()),
                )
            case cmd.RunFleetAction(run_id, parallel, timeout):
                from console.runtime.services import fleet_actions

                run = self.state.fleet.action if self.state.fleet else None
                if run is not None and run.run_id == run_id and run.plan is not None and not run.started:
                    self.emit(ev.FleetActionStarted(run_id))
                    devices, ssh = self._fleet_devices(run.devices), self._ssh_settings()
                    chosen = run.plan
                    self.runner.spawn(
                        f"fleet-action-{run_id}",
                        lambda life: fleet_actions.run(self, run_id, chosen, devices, ssh, timeout, parallel, life),
                    )
            case cmd.DeclineFleetAction(run_id):
                from console.runtime.services import fleet_actions

                run = self.state.fleet.action if self.state.fleet else None
                if run is not None and run.run_id == run_id and run.plan is not None and not run.started:
                    self.emit(ev.FleetActionDeclined(run_id))
                    said_no, devices = run.plan, self._fleet_devices(run.devices)
                    self.runner.spawn(  # the audit log is a file: written off the caller's thread
                        f"fleet-declined-{run_id}", lambda _life: fleet_actions.declined(said_no, devices)
                    )
            case cmd.WatchDevice(name):
                if self._device_reader is not None:  # one reader at a time: a quick reopen never makes two
                    self._device_reader.stop()
                    self._device_reader = None
                self.emit(ev.DeviceWatched(name))
                fleet = self.state.fleet
                device = next((d for d in fleet.devices if d.name == name), None) if fleet and name else None
                if device is not None and device.url:
                    from console.runtime.services.fleet import watch_device  # on first use

                    c = self.config
                    self._device_reader = self.runner.spawn(
                        f"fleet-device-{device.name}",
                        lambda life: watch_device(self, device, c.fleet_interval, max(c.fleet_timeout, 2.0), life),
                    )
            case cmd.ReadCluster():
                if "cluster-read" not in self.runner.services():  # one read at a time (a timer asks again)
                    config = self.config
                    self.runner.spawn("cluster-read", lambda _life: _cluster("read", self, config))
            case cmd.OfferCluster(devices):
                if "cluster-offer" not in self.runner.services():  # one at a time: a device is asked again later
                    config = self.config
                    self.runner.spawn("cluster-offer", lambda _life: _cluster("offer_nodes", self, config, devices))
            case cmd.RunCluster(what, link_test, request):
                if "cluster-run" in self.runner.services():  # one operation at a time on the two nodes
                    self.emit(ev.Notice(f"cluster: another operation is running; {what} not started", "warning"))
                else:
                    config = self.config
                    self.runner.spawn(
                        "cluster-run",
                        lambda life: _cluster("run", self, config, what, link_test, request, life),
                        cleanup=self._read_cluster_again,
                    )
            case cmd.StopCluster():
                self.runner.stop("cluster-run")  # a cancelled up takes both nodes down before its thread ends
            case cmd.WatchFleet():
                if not self._fleet_started:
                    self._fleet_started = True
                    from console.runtime.services.fleet import start_fleet  # on first use: a start has no fleet

                    c = self.config
                    self.runner.spawn(  # the hosts file is read off the caller's thread (the UI's event loop)
                        "fleet-hosts",
                        lambda _life: start_fleet(
                            self,
                            c.fleet_hosts,
                            c.fleet_interval,
                            c.fleet_timeout,
                            c.fleet_prometheus,
                            self._ssh_settings(),
                        ),
                    )
            case cmd.RefreshDocker():
                self.docker.refresh()
            case cmd.SetHelpFlag(on):
                set_help_flag(self, on, self.help_flag_path())
            case cmd.RerunDoctor():
                if self.doctor is not None:
                    self.doctor.rerun()
            case cmd.ApplyFix(check_id):
                return self.doctor.fix(check_id) if self.doctor is not None else False
            case cmd.SelectServer(url):
                self.emit(ev.ServerSelected(url))
            case cmd.SendChat(text, force):
                return self.chat.send(text, force)
            case cmd.AttachImage(path):
                self.chat.attach(path)
            case cmd.DetachImage(index):
                self.chat.detach(index)
            case cmd.ChooseShape(spec):
                self.chat.choose_shape(spec)
            case cmd.ChooseMode(mode):
                self.chat.choose_mode(mode)
            case cmd.StopChat():
                self.chat.stop()
            case cmd.FetchModels():
                self.chat.fetch_models()
            case cmd.ChooseModel(model):
                self.chat.choose_model(model)
            case cmd.ChooseSettings(settings):
                self.chat.choose_settings(settings)
            case cmd.NewChat():
                return self.chat.new()
            case cmd.TrimChat():
                return self.chat.trim()
            case cmd.ListConversations(needle):
                self.chat.list(needle)
            case cmd.OpenConversation(conv_id):
                self.chat.open(conv_id)
            case cmd.RenameConversation(conv_id, title):
                self.chat.rename(conv_id, title)
            case cmd.DeleteConversation(conv_id):
                self.chat.delete(conv_id)
            case cmd.ExportConversation(conv_id, fmt):
                self.chat.export(conv_id, fmt)
            case cmd.PlanBench(form, power):
                self.bench.plan(form, power)
            case cmd.RunBench(plan, folder, baseline, power):
                return self.bench.run(plan, folder, baseline, power)
            case cmd.StopBench():
                self.bench.stop()
            case cmd.ListBenchReports(folder):
                self.bench.list_saved(folder)
            case cmd.ReadFitConfig(text):
                self.fit.read_config(text)
            case cmd.ReadFitMemory(memory):
                self.fit.read_memory(memory)
            case _:
                raise TypeError(f"unknown command {command!r}")
        return None


def _cluster(name: str, *args: Any) -> None:
    """The Cluster service's ``name`` called in the thread that runs it: the UI's loop never imports its SSH
    and planning."""
    from console.runtime.services import cluster

    getattr(cluster, name)(*args)


def _recorded_cluster(hub: Hub) -> None:
    from console.runtime.services import cluster_record  # the record alone: not the cluster's SSH and planning

    cluster_record.record_at_start(hub)
