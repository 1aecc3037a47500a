"""Request records into the figures ``vllm bench serve`` prints (pure: no I/O).

Definitions follow vLLM 0.32 ``vllm/benchmarks/serve.py`` ``calculate_metrics`` and
``lib/endpoint_request_func.py`` (shared/reference/peers.md §4.4):

- TTFT: arrival of the first streamed chunk that has ``choices`` - request start.
- ITL: the gaps between successive such chunks, pooled over all requests.
- TPOT per request: (latency - TTFT) / (output tokens - 1), only when more than one token.
- E2EL (latency): arrival of the last ``choices`` chunk - request start.
- output tokens: the server's ``usage.completion_tokens`` (1 when the server gives none,
  as vLLM does without a tokenizer).
- request throughput = completed / duration; output throughput = output tokens / duration,
  where duration runs from the first request's launch to the last one's end.
- percentiles: numpy's default (linear interpolation between closest ranks).

Figures are kept in seconds; the report shows milliseconds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

PERCENTILES = (50.0, 95.0, 99.0)


@dataclass
class RequestRecord:
    """One request as the client saw it (times from ``time.perf_counter``)."""

    start: float = 0.0
    ok: bool = False
    ttft: float = 0.0
    itl: list[float] = field(default_factory=list)
    latency: float = 0.0
    output_tokens: int | None = None
    prompt_tokens: int | None = None
    error: str = ""


def percentile(values: Sequence[float], p: float) -> float:
    """numpy.percentile(values, p) with its default linear method; 0.0 for no values (as vLLM's ``or 0``)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


@dataclass(frozen=True)
class Distribution:
    """mean, median and the chosen percentiles of one metric, in seconds."""

    mean: float = 0.0
    median: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    count: int = 0

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls()
        return cls(
            mean=statistics.fmean(values),
            median=percentile(values, 50),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            count=len(values),
        )


@dataclass(frozen=True)
class TrialMetrics:
    """One trial: every request of the prompt set at one concurrency."""

    completed: int
    failed: int
    duration: float
    total_input: int
    total_output: int
    request_throughput: float
    output_throughput: float
    total_token_throughput: float
    ttft: Distribution
    tpot: Distribution
    itl: Distribution
    e2el: Distribution
    errors: tuple[str, ...] = ()
    energy_j: float | None = None  # joules over the trial, where telemetry had power
    avg_power_w: float | None = None
    tokens_per_joule: float | None = None
    joules_per_token: float | None = None


def summarize(records: Sequence[RequestRecord], duration: float, energy_j: float | None = None) -> TrialMetrics:
    """vLLM's ``calculate_metrics`` over one trial's records; ``energy_j`` adds the energy figures."""
    ttfts: list[float] = []
    tpots: list[float] = []
    itls: list[float] = []
    e2els: list[float] = []
    total_input = total_output = completed = 0
    errors: list[str] = []
    for rec in records:
        if not rec.ok:
            errors.append(rec.error or "failed")
            continue
        out = rec.output_tokens or 1
        total_output += out
        total_input += rec.prompt_tokens or 0
        if out > 1:
            tpots.append((rec.latency - rec.ttft) / (out - 1))
        itls.extend(rec.itl)
        ttfts.append(rec.ttft)
        e2els.append(rec.latency)
        completed += 1
    dur = duration if duration > 0 else float("nan")
    return TrialMetrics(
        completed=completed,
        failed=len(records) - completed,
        duration=duration,
        total_input=total_input,
        total_output=total_output,
        request_throughput=completed / dur if duration > 0 else 0.0,
        output_throughput=total_output / dur if duration > 0 else 0.0,
        total_token_throughput=(total_input + total_output) / dur if duration > 0 else 0.0,
        ttft=Distribution.of(ttfts),
        tpot=Distribution.of(tpots),
        itl=Distribution.of(itls),
        e2el=Distribution.of(e2els),
        errors=tuple(dict.fromkeys(errors)),
        energy_j=energy_j,
        avg_power_w=energy_j / duration if energy_j is not None and duration > 0 else None,
        tokens_per_joule=total_output / energy_j if energy_j and total_output else None,
        joules_per_token=energy_j / total_output if energy_j and total_output else None,
    )


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _median_dist(dists: Sequence[Distribution]) -> Distribution:
    medians: dict[str, Any] = {
        f.name: (
            int(_median([getattr(d, f.name) for d in dists]))
            if f.name == "count"
            else _median([getattr(d, f.name) for d in dists])
        )
        for f in fields(Distribution)
    }
    return Distribution(**medians)


def median_of_trials(trials: Sequence[TrialMetrics]) -> TrialMetrics:
    """Each figure's median across trials (the workshop's "3-5 trials, report the median").

    Per figure, not per trial: the median TTFT p99 and the median tok/s may come from different trials.
    Counts (completed, failed, tokens) are summed over the trials; energy figures are medians where
    every trial had them, else None.
    """
    if not trials:
        raise ValueError("no trials to combine")

    def energy(name: str) -> float | None:
        values = [getattr(t, name) for t in trials]
        return None if None in values else _median(values)

    return TrialMetrics(
        completed=sum(t.completed for t in trials),
        failed=sum(t.failed for t in trials),
        duration=_median([t.duration for t in trials]),
        total_input=sum(t.total_input for t in trials),
        total_output=sum(t.total_output for t in trials),
        request_throughput=_median([t.request_throughput for t in trials]),
        output_throughput=_median([t.output_throughput for t in trials]),
        total_token_throughput=_median([t.total_token_throughput for t in trials]),
        ttft=_median_dist([t.ttft for t in trials]),
        tpot=_median_dist([t.tpot for t in trials]),
        itl=_median_dist([t.itl for t in trials]),
        e2el=_median_dist([t.e2el for t in trials]),
        errors=tuple(dict.fromkeys(e for t in trials for e in t.errors)),
        energy_j=energy("energy_j"),
        avg_power_w=energy("avg_power_w"),
        tokens_per_joule=energy("tokens_per_joule"),
        joules_per_token=energy("joules_per_token"),
    )


def relative_change(value: float | None, baseline: float | None) -> float | None:
    """(value - baseline) / baseline; None where either is missing or the baseline is 0."""
    if value is None or baseline is None or baseline == 0 or math.isnan(baseline) or math.isnan(value):
        return None
    return (value - baseline) / baseline
