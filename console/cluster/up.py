"""``jetconsole cluster up``: the plan's lines run on both nodes over SSH, phase by phase, each timed and each
with a time limit, and a failure named with the line that proves it instead of a hang.

The phases:
1. ``containers``: the plan's ``docker run`` on both nodes (``--pull never``: an image missing on one node
   is said at once, not a silent pull of gigabytes);
2. ``env``: the interface variables read back from each container (names and the plan's values only: a
   secret's value is never asked for);
3. Ray plans: ``ray head`` (``ray start --head``), then ``ray join`` (``ray start --address`` on the worker,
   and ``ray status`` on the head until it shows both nodes and their GPUs);
4. ``serve``: ``vllm serve`` detached in the container (the worker's ``--headless`` rank first in the
   Ray-free mode), its output in the container's ``SERVE_LOG``;
5. ``ready``: both logs followed into the startup tracker (console/servers/startup.py), ``/health`` asked
   from here until it answers 200, and the worker's container watched: one that dies after it joined is
   named as such.

Ray and vLLM do the orchestration; this only runs their commands and reads what they say.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from console.cluster import causes
from console.cluster.causes import Cause
from console.cluster.nodes import Link
from console.cluster.plan import (
    CONTAINER,
    IFNAME_VARS,
    SERVE_LOG,
    SERVE_PID,
    ClusterPlan,
    Node,
    detached,
    docker_run,
    ray_start,
    vllm_serve,
)
from console.cluster.presets import RAY
from console.cluster.raystatus import RayStatus
from console.cluster.status import ray_status
from console.fleet.remote import reason
from console.servers.startup import StartupState, feed, health_ok

Health = Callable[[], Awaitable[bool]]  # does the head's /health answer 200 now?
Say = Callable[[str], None]
ENV_NAMES = ("VLLM_HOST_IP", *IFNAME_VARS)
KEEP = 400  # a log's last lines kept for naming a failure


@dataclass(frozen=True)
class Limits:
    """Seconds each phase may take."""

    containers: float = 120.0
    ray_head: float = 60.0
    join: float = 60.0
    ready: float = 900.0  # a large model's weights over a slow disk, and torch.compile on an Orin
    poll: float = 1.0


@dataclass(frozen=True)
class PhaseTime:
    name: str
    seconds: float
    ok: bool


@dataclass(frozen=True)
class UpResult:
    phases: tuple[PhaseTime, ...]
    cause: Cause | None = None  # None: the server is ready

    @property
    def ok(self) -> bool:
        return self.cause is None

    @property
    def timing(self) -> str:
        return ", ".join(f"{p.name} {p.seconds:.1f} s" for p in self.phases)


class Failed(Exception):
    def __init__(self, cause: Cause) -> None:
        super().__init__(cause.title)
        self.cause = cause


@dataclass
class Up:
    plan: ClusterPlan
    link: Link
    health: Health
    say: Say
    limits: Limits = Limits()
    phases: list[PhaseTime] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)  # each serving node's last KEEP lines
    lines_seen: dict[str, int] = field(default_factory=dict)  # each serving node's lines, all told
    startup: StartupState = field(default_factory=StartupState)

    async def run(self) -> UpResult:
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("containers", self._containers),
            ("env", self._env),
        ]
        if self.plan.preset.mode == RAY:
            steps += [("ray head", self._ray_head), ("ray join", self._ray_join)]
        steps += [("serve", self._serve), ("ready", self._ready)]
        for name, step in steps:
            self.say(f"{name}…")
            start = time.monotonic()
            try:
                await step()
            except Failed as failed:
                self.phases.append(PhaseTime(name, time.monotonic() - start, False))
                return UpResult(tuple(self.phases), failed.cause)
            seconds = time.monotonic() - start
            self.phases.append(PhaseTime(name, seconds, True))
            self.say(f"{name}: {seconds:.1f} s")
        return UpResult(tuple(self.phases))

    @property
    def nodes(self) -> tuple[Node, Node]:
        return self.plan.head, self.plan.worker

    async def _containers(self) -> None:
        """Both ``docker run``s at once; Failed naming the first node (head first) that failed."""
        lines = (shlex.join(docker_run(self.plan, n)) for n in self.nodes)
        got = await asyncio.gather(
            *(self.link.sh(n.device, line, self.limits.containers) for n, line in zip(self.nodes, lines, strict=True))
        )
        for node, outcome in zip(self.nodes, got, strict=True):
            if not outcome.ok:
                raise Failed(
                    causes.of_step(node.device, outcome, "docker-run-failed", f"docker run failed on {node.device}")
                )

    async def _env(self) -> None:
        script = "; ".join(f'printf "%s=%s\\n" {v} "${v}"' for v in ENV_NAMES)  # these names only
        for node in self.nodes:
            got = await self.link.sh(node.device, shlex.join(["docker", "exec", CONTAINER, "sh", "-c", script]), 30)
            if not got.ok:
                raise Failed(
                    causes.of_step(node.device, got, "docker-exec-failed", f"docker exec failed on {node.device}")
                )
            seen = dict(line.partition("=")[::2] for line in got.tail if "=" in line)
            wanted = {"VLLM_HOST_IP": node.ip, **{v: node.interface for v in IFNAME_VARS}}
            wrong = [f"{k}={seen.get(k, '')!r} (the plan says {v})" for k, v in wanted.items() if seen.get(k) != v]
            if wrong:
                raise Failed(
                    Cause(
                        "env-missing",
                        f"the plan's environment did not reach {node.device}'s container",
                        "; ".join(wrong),
                        "the container must be started with the plan's -e lines: `jetconsole cluster down`, "
                        "then up again",
                    )
                )

    async def _ray_head(self) -> None:
        head = self.plan.head
        got = await self.link.sh(head.device, shlex.join(ray_start(self.plan, head)), self.limits.ray_head)
        if not got.ok:
            raise Failed(
                causes.of_step(head.device, got, "ray-head-failed", f"ray start --head failed on {head.device}")
            )

    async def _ray_join(self) -> None:
        worker = self.plan.worker
        deadline = time.monotonic() + self.limits.join
        got = await self.link.sh(worker.device, shlex.join(ray_start(self.plan, worker)), self.limits.join)
        if not got.ok:
            raise Failed(causes.name(got.tail, worker.device) or causes.never_joined(worker.device, reason(got.tail)))
        status = RayStatus()
        while time.monotonic() < deadline:
            status = await ray_status(self.plan, self.link)
            if len(status.active) >= 2 and status.total("GPU") >= 2:
                self.say(f"ray: {len(status.active)} nodes, {status.total('GPU'):g} GPUs")
                return
            await asyncio.sleep(self.limits.poll)
        said = status.said or f"ray status shows {len(status.active)} active node(s), {status.total('GPU'):g} GPUs"
        raise Failed(causes.never_joined(worker.device, "; ".join([said, *status.failures])))

    async def _serve(self) -> None:
        order = (self.plan.worker, self.plan.head)  # the headless rank waits for the head: start it first
        for node in order:
            serve = vllm_serve(self.plan, node)
            if serve is None:
                continue
            got = await self.link.sh(node.device, shlex.join(detached(serve)), 30)
            if not got.ok:
                raise Failed(
                    causes.of_step(node.device, got, "serve-failed", f"vllm serve did not start on {node.device}")
                )

    async def _ready(self) -> None:
        serving = [n for n in self.nodes if vllm_serve(self.plan, n) is not None]
        followers = [asyncio.create_task(self._follow(n)) for n in serving]
        try:
            await self._until_ready()
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)

    async def _follow(self, node: Node) -> None:
        kept = self.logs.setdefault(node.device, [])

        def each(line: str) -> None:
            kept.append(line)
            del kept[:-KEEP]
            self.lines_seen[node.device] = self.lines_seen.get(node.device, 0) + 1
            if node == self.plan.head:
                self.startup = feed(self.startup, line, time.monotonic())

        limit = int(self.limits.ready) + 60  # ended on the node too: tail -F writes nothing once the log is quiet
        await self.link.follow(node.device, f"timeout {limit} docker exec {CONTAINER} tail -n +1 -F {SERVE_LOG}", each)

    async def _until_ready(self) -> None:
        deadline = time.monotonic() + self.limits.ready
        shown = ""
        rounds = 0
        named_at: dict[str, int] = {}  # a log is named again only when it has grown since
        while time.monotonic() < deadline:
            for node in self.nodes:
                if self.lines_seen.get(node.device, 0) == named_at.get(node.device, 0):
                    continue
                named_at[node.device] = self.lines_seen[node.device]
                found = causes.name(self.logs.get(node.device, ()), node.device)
                if found is not None:
                    await self._alive()  # a node that died is the cause of what the other's log says
                    raise Failed(found)
            if await self.health():
                self.startup = health_ok(self.startup, time.monotonic())
                return
            if self.startup.title != shown:
                shown = self.startup.title
                self.say(f"  {shown}")
            rounds += 1
            if rounds % 2 == 0:
                await self._alive()
            await asyncio.sleep(self.limits.poll)
        last = self.startup.last_line or (self.logs.get(self.plan.head.device) or [""])[-1]
        raise Failed(
            Cause(
                "not-ready",
                f"the server was not ready within {self.limits.ready:g} s (at: {self.startup.title})",
                last,
                "`jetconsole cluster status` shows both logs; a larger --ready-timeout if it is only slow",
            )
        )

    async def _alive(self) -> None:
        """Both containers still running, and each server still running; a node whose container ended, or
        whose server ended, is named with what Docker or the server's last log lines say."""
        checks = (self.link.sh(n.device, self._alive_script(n), 20, keep=KEEP + 2) for n in self.nodes)
        got = await asyncio.gather(*checks)
        for node, outcome in zip(self.nodes, got, strict=True):
            said = outcome.tail[0] if outcome.tail else outcome.summary
            if not outcome.ok or not said.startswith("running"):
                role = "head" if node == self.plan.head else "worker"
                raise Failed(causes.died(node.device, role, f"{CONTAINER}: {said}"))
            if len(outcome.tail) > 1 and outcome.tail[1] == "stopped":
                log = list(outcome.tail[2:])
                raise Failed(causes.name(log, node.device) or causes.exited(node.device, log))

    def _alive_script(self, node: Node) -> str:
        state = shlex.join(["docker", "inspect", "-f", "{{.State.Status}} exit {{.State.ExitCode}}", CONTAINER])
        if vllm_serve(self.plan, node) is None:
            return state
        running = f'kill -0 "$(cat {SERVE_PID})" 2>/dev/null'
        # progress bars end their pieces with \r, which the reader splits on: count lines as it will
        last = f"tail -n {KEEP} {SERVE_LOG} | tr '\\r' '\\n' | tail -n {KEEP}"
        check = f"{running} && echo serving || {{ echo stopped; {last}; }}"
        return f"{state} && docker exec {CONTAINER} sh -c {shlex.quote(check)}"
