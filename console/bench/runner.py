"""Runs a bench plan: per power mode, per served configuration, a warm-up, then N trials per concurrency.

``BenchRun.run()`` blocks (call it from a worker thread): each configuration gets its own
asyncio loop, so the timing never shares a loop with a UI.  Progress goes to ``on_event``
as frozen events; ``cancel()`` from any thread closes the open streams (the server aborts
those requests), keeps the trials already finished, and still restores the power mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

import httpx

from console import __version__
from console.bench import specdecode
from console.bench.client import RequestSpec, new_client, send
from console.bench.energy import PowerMeter
from console.bench.prompts import Prompt
from console.bench.report import BenchReport, ConfigResult, DeviceContext, ServerContext
from console.bench.stats import RequestRecord, TrialMetrics, median_of_trials, summarize
from console.chat.client import EndpointError
from console.chat.endpoints import Endpoint


@dataclass(frozen=True)
class Target:
    """One served configuration: a label, where it answers, which model (``""``: the first it lists)."""

    label: str
    endpoint: Endpoint
    model: str = ""


@dataclass(frozen=True)
class BenchPlan:
    targets: tuple[Target, ...]
    prompts: tuple[Prompt, ...]
    prompts_source: str = "built-in"
    concurrency: tuple[int, ...] = (1,)
    trials: int = 5
    warmups: int = 2  # requests before the first trial of each configuration, left out of every figure
    requests: int = 0  # per trial; 0: the prompt count, and at least twice the concurrency
    temperature: float | None = None
    ignore_eos: bool = False
    power_modes: tuple[str, ...] = ()  # an A/B: nvpmodel modes or clocks-on/clocks-off

    def requests_at(self, concurrency: int) -> int:
        return self.requests or max(len(self.prompts), 2 * concurrency)

    def total_requests(self) -> int:
        per_target = self.warmups + self.trials * sum(self.requests_at(c) for c in self.concurrency)
        return per_target * len(self.targets) * max(len(self.power_modes), 1)

    def settings(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "concurrency": list(self.concurrency),
            "warmups": self.warmups,
            "requests_per_trial": {str(c): self.requests_at(c) for c in self.concurrency},
            "prompts": self.prompts_source,
            "prompt_count": len(self.prompts),
            "max_tokens": sorted({p.max_tokens for p in self.prompts}),
            "temperature": self.temperature,
            "ignore_eos": self.ignore_eos,
            "power_modes": list(self.power_modes),
            "targets": [{"label": t.label, "url": t.endpoint.url, "model": t.model} for t in self.targets],
        }


# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    phase: str  # "warm-up" | "trial"
    name: str  # the configuration (with its power mode in an A/B)
    concurrency: int
    trial: int  # 1-based; 0 in warm-up
    trials: int
    done: int  # requests finished in this phase step
    total: int
    overall_done: int
    overall_total: int
    eta_s: float | None
    elapsed_s: float


@dataclass(frozen=True)
class TrialDone:
    name: str
    concurrency: int
    trial: int
    metrics: TrialMetrics


@dataclass(frozen=True)
class Note:
    text: str
    error: bool = False


RunEvent = Progress | TrialDone | Note  # what ``on_event`` receives


class PowerControl(Protocol):
    def snapshot_state(self) -> Any: ...
    def apply(self, spec: str) -> str: ...
    def restore(self, original: Any) -> list[str]: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class _Counter:
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)


class BenchRun:
    """One bench, run once.  ``context`` and ``device`` are injectable for tests without a Docker or jtop."""

    def __init__(
        self,
        plan: BenchPlan,
        on_event: Callable[[RunEvent], None] | None = None,
        meter: PowerMeter | None = None,
        power: PowerControl | None = None,
        context: Callable[[Target], ServerContext] | None = None,
        device: Callable[[], DeviceContext] | None = None,
    ) -> None:
        if plan.trials < 1 or not plan.concurrency or min(plan.concurrency) < 1 or not plan.targets or not plan.prompts:
            raise ValueError("a bench needs a target, a prompt, one trial or more and concurrency of 1 or more")
        self.plan = plan
        self.on_event = on_event or (lambda _e: None)
        self.meter = meter
        self.power = power
        self.context = context or _default_context
        self.device = device or (lambda: DeviceContext())
        self._cancel = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._count = _Counter(total=plan.total_requests())
        self.notes: list[str] = []

    # ---- control ------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop from any thread: open streams are closed; finished trials are kept."""
        self._cancel.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _note(self, text: str, error: bool = False) -> None:
        self.notes.append(text)
        self.on_event(Note(text, error))

    # ---- the run --------------------------------------------------------------------------
    def run(self) -> BenchReport:
        started = _now()
        results: list[ConfigResult] = []
        device = DeviceContext()
        original = None
        try:
            if self.plan.power_modes:
                if self.power is None:
                    raise RuntimeError("a power A/B needs a power control")
                original = self.power.snapshot_state()
                self._note(f"power before the A/B: {original.summary()}")
            for mode in self.plan.power_modes or ("",):
                if self.cancelled:
                    break
                if mode and self.power is not None:
                    self._note(self.power.apply(mode))
                for target in self.plan.targets:
                    if self.cancelled:
                        break
                    self._target(target, mode, results)
                device = self.device()  # after the runs: telemetry has had time to give its first samples
        except Exception as exc:  # noqa: BLE001 - a power switch failed: say it, keep what was measured
            self._note(str(exc), error=True)
        finally:
            if original is not None and self.power is not None:
                for line in self.power.restore(original):
                    self._note(line)
                device = replace(self.device(), power_mode=getattr(original, "mode", None) or "")
        return BenchReport(
            started=started,
            finished=_now(),
            tool=f"jetconsole {__version__}",
            device=device,
            settings=self.plan.settings(),
            results=tuple(results),
            cancelled=self.cancelled,
            notes=tuple(self.notes),
        )

    def _target(self, target: Target, mode: str, results: list[ConfigResult]) -> None:
        name = f"{target.label} @{mode}" if mode else target.label
        try:
            server = self.context(target)
        except EndpointError as exc:
            self._note(f"{target.label}: skipped: {exc}", error=True)
            return
        try:
            asyncio.run(self._configuration(target, server, name, mode, results))
        except asyncio.CancelledError:
            pass

    async def _configuration(
        self, target: Target, server: ServerContext, name: str, mode: str, results: list[ConfigResult]
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        try:
            if self.cancelled:
                return
            specs = self._specs(server.model, self.plan.warmups)
            if specs:
                await self._batch(target.endpoint, specs, 1, lambda d, t: self._progress("warm-up", name, 1, 0, d, t))
            for c in self.plan.concurrency:
                trials: list[TrialMetrics] = []
                metrics_before = await _scrape(target.endpoint)
                for i in range(1, self.plan.trials + 1):
                    specs = self._specs(server.model, self.plan.requests_at(c))
                    t0, m0 = time.perf_counter(), time.monotonic()
                    records = await self._batch(target.endpoint, specs, c, partial(self._progress, "trial", name, c, i))
                    duration, m1 = time.perf_counter() - t0, time.monotonic()
                    energy = self.meter.joules(m0, m1) if self.meter is not None else None
                    metrics = summarize(records, duration, energy)
                    trials.append(metrics)
                    self.on_event(TrialDone(name, c, i, metrics))
                    if metrics.completed == 0:
                        self._note(
                            f"{name} at concurrency {c}: every request failed: "
                            f"{metrics.errors[0] if metrics.errors else '?'}",
                            error=True,
                        )
                        break
                spec = specdecode.delta(metrics_before, await _scrape(target.endpoint))
                results.append(
                    ConfigResult(target.label, c, server, tuple(trials), median_of_trials(trials), mode, spec)
                )
        finally:
            self._loop = self._task = None

    def _specs(self, model: str, count: int) -> list[RequestSpec]:
        prompts = self.plan.prompts
        return [
            RequestSpec(
                model,
                prompts[i % len(prompts)].text,
                prompts[i % len(prompts)].max_tokens,
                self.plan.temperature,
                self.plan.ignore_eos,
            )
            for i in range(count)
        ]

    async def _batch(
        self, endpoint: Endpoint, specs: list[RequestSpec], concurrency: int, progress: Callable[[int, int], None]
    ) -> list[RequestRecord]:
        """Every request at once behind a semaphore of ``concurrency`` (vllm bench: rate inf, max-concurrency)."""
        sem = asyncio.Semaphore(concurrency)
        done = 0
        progress(0, len(specs))
        async with new_client(concurrency) as client:

            async def one(spec: RequestSpec) -> RequestRecord:
                nonlocal done
                async with sem:
                    rec = await send(client, endpoint, spec)
                done += 1
                self._count.done += 1
                progress(done, len(specs))
                return rec

            return list(await asyncio.gather(*(one(s) for s in specs)))

    def _progress(self, phase: str, name: str, c: int, trial: int, done: int, total: int) -> None:
        elapsed = time.monotonic() - self._count.started
        left = self._count.total - self._count.done
        eta = elapsed / self._count.done * left if self._count.done else None
        self.on_event(
            Progress(
                phase, name, c, trial, self.plan.trials, done, total, self._count.done, self._count.total, eta, elapsed
            )
        )


async def _scrape(endpoint: Endpoint) -> str | None:
    """The server's /metrics text, or None (not every server has one; the bench goes on without)."""
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            resp = await client.get(f"{endpoint.root}/metrics", headers=endpoint.headers())
        return resp.text if resp.status_code == 200 else None
    except httpx.HTTPError:
        return None


def _default_context(target: Target) -> ServerContext:
    from console.bench.context import server_context

    return server_context(target.endpoint, target.model)
