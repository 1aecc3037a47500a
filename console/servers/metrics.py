"""Server metrics from vLLM / SGLang ``/metrics`` text (pure: no I/O, no Textual).

``parse`` turns one scrape into a ``Scrape`` with prometheus_client's own text parser;
``MetricsWindow`` keeps the scrapes of the last ``window_s`` seconds and turns them into
one ``ServerMetrics``: gauges from the newest scrape, rates and percentiles from the
difference between the oldest and newest scrape in the window.

Names follow domain.md §3: vLLM 0.32 names first, then the pre-rename ones (0.10/0.11);
SGLang 0.5.x.  Series are keyed by *sample* name (``vllm:prompt_tokens_total``): the
parser strips ``_total`` from counter *family* names, not from sample names.  A figure the
server does not give, or that cannot be computed yet, is ``None``, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from console.runtime.sanitise import clean, clean_mapping

T = TypeVar("T")
Labels = dict[str, str]
Histogram = dict[float, float]  # upper bound (le) -> cumulative count; +Inf is math.inf

# Human names of the figures, as listed in ServerMetrics.absent.
RUNNING, WAITING, KV, PROMPT_TPS, GEN_TPS = "running", "waiting", "KV", "prompt tok/s", "gen tok/s"
TTFT, ITL, PREFIX_HIT, PREEMPTIONS = "TTFT", "ITL", "prefix hit", "preemptions"
FIGURES = (RUNNING, WAITING, KV, PROMPT_TPS, GEN_TPS, TTFT, ITL, PREFIX_HIT, PREEMPTIONS)


class MetricsError(ValueError):
    """The /metrics text is not valid Prometheus text."""


@dataclass(frozen=True)
class Scrape:
    """One parsed /metrics text.

    ``samples``: sample name -> [(labels, value)], e.g. ``vllm:prompt_tokens_total`` ->
    ``[({"engine": "0", "model_name": "tiny"}, 72.0)]``.  ``types``: family name -> type as
    declared by ``# TYPE`` (counter families without ``_total``), also for families
    declared with no samples yet (labelled series appear only once first used).
    """

    samples: dict[str, list[tuple[Labels, float]]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def exposes(self, name: str) -> bool:
        """Whether the server declares or gives ``name`` (a sample name, or a histogram family name)."""
        if name in self.samples or f"{name}_bucket" in self.samples or name in self.types:
            return True
        return name.endswith("_total") and self.types.get(name.removesuffix("_total")) == "counter"

    def values(self, name: str, model: str | None = None) -> list[float]:
        """Values of the series named ``name`` (only those of ``model`` when given)."""
        return [v for labels, v in self.samples.get(name, ()) if model is None or labels.get("model_name") == model]

    @property
    def flavor(self) -> str:
        """``vllm``, ``sglang`` or ``unknown``, from the names' prefixes."""
        names = [*self.samples, *self.types]
        for prefix in ("vllm", "sglang"):
            if any(n.startswith(prefix + ":") for n in names):
                return prefix
        return "unknown"

    @property
    def models(self) -> tuple[str, ...]:
        """The ``model_name`` label values seen, sorted."""
        return tuple(
            sorted({lb["model_name"] for series in self.samples.values() for lb, _ in series if "model_name" in lb})
        )


def parse(text: str) -> Scrape:
    """Parse Prometheus text (format 0.0.4, as prometheus_client writes it); raises ``MetricsError``.

    Label names and values (``model_name`` is whatever the server was told to call its model)
    are cleaned as one-line fields before anything keeps them."""
    from prometheus_client.parser import text_string_to_metric_families  # ~20 ms: loaded by the first scrape

    samples: dict[str, list[tuple[Labels, float]]] = {}
    types: dict[str, str] = {}
    try:
        for family in text_string_to_metric_families(text):
            if family.type != "unknown" or family.name not in types:
                types[family.name] = family.type
            for s in family.samples:
                samples.setdefault(s.name, []).append((clean_mapping(s.labels), float(s.value)))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise MetricsError(_explain(text, exc)) from exc
    return Scrape(samples, types)


def _explain(text: str, exc: Exception) -> str:
    """A message naming the first line the parser rejects on its own (the parser's messages don't)."""
    from prometheus_client.parser import text_string_to_metric_families

    for number, line in enumerate(text.splitlines(), 1):
        try:
            list(text_string_to_metric_families(line + "\n"))
        except (ValueError, IndexError, KeyError, TypeError):
            shown = line if len(line) <= 80 else line[:77] + "..."
            return clean(f"malformed metrics text at line {number}: {shown!r} ({exc or type(exc).__name__})")
    return clean(f"malformed metrics text: {exc or type(exc).__name__}")


@dataclass(frozen=True)
class _Names:
    """Candidate sample names per figure, preferred first."""

    running: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    kv: tuple[str, ...] = ()  # gauge 0..1
    prompt: tuple[str, ...] = ()  # counters
    gen: tuple[str, ...] = ()
    gen_gauge: tuple[str, ...] = ()  # tok/s gauge, when the counter rate is not computable
    prefix_queries: tuple[str, ...] = ()  # counters
    prefix_hits: tuple[str, ...] = ()
    prefix_gauge: tuple[str, ...] = ()  # 0..1
    preempt: tuple[str, ...] = ()  # counter
    preempt_gauge: tuple[str, ...] = ()  # retractions in the latest scheduler step
    ttft: tuple[str, ...] = ()  # histogram family names
    itl: tuple[str, ...] = ()


NAMES = {
    "vllm": _Names(
        running=("vllm:num_requests_running",),
        waiting=("vllm:num_requests_waiting",),
        kv=("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
        prompt=("vllm:prompt_tokens_total",),
        gen=("vllm:generation_tokens_total",),
        prefix_queries=(
            "vllm:prefix_cache_queries_total",
            "vllm:gpu_prefix_cache_queries_total",
            "vllm:gpu_prefix_cache_queries",
        ),
        prefix_hits=("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits"),
        preempt=("vllm:num_preemptions_total",),
        ttft=("vllm:time_to_first_token_seconds",),
        itl=("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
    ),
    "sglang": _Names(
        running=("sglang:num_running_reqs",),
        waiting=("sglang:num_queue_reqs",),
        kv=("sglang:token_usage",),
        prompt=("sglang:prompt_tokens_total",),
        gen=("sglang:generation_tokens_total",),
        gen_gauge=("sglang:gen_throughput",),
        prefix_gauge=("sglang:cache_hit_rate",),
        # Newer SGLang adds this counter beside the gauge; the gauge alone is no lifetime total.
        preempt=("sglang:num_retracted_requests_total",),
        preempt_gauge=("sglang:num_retracted_reqs",),
        ttft=("sglang:time_to_first_token_seconds",),
        itl=("sglang:inter_token_latency_seconds",),
    ),
}


_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


KNOWN_FAMILIES = frozenset(_base(n) for names in NAMES.values() for group in vars(names).values() for n in group)


def keep_known(text: str) -> str:
    """Only the lines of the families read here (a vLLM /metrics is ~600 lines, ~90 of them used).

    Parsing a whole 0.32 scrape costs ~12 ms of CPU; this cut keeps the once-a-second poll cheap.
    """
    kept = []
    for line in text.splitlines():
        token = line[7:] if line.startswith(("# HELP ", "# TYPE ")) else line
        name = token.split("{", 1)[0].split(" ", 1)[0]
        if _base(name) in KNOWN_FAMILIES:
            kept.append(line)
    return "\n".join(kept) + "\n"


@dataclass(frozen=True)
class ServerMetrics:
    """The figures of one server (or one model of it) over the window; ``None`` = unknown.

    ``prompt_tps``/``gen_tps``: tokens/s from counter deltas (need two scrapes).
    ``ttft_*``/``itl_*``: seconds, from the histogram observations made in the window.
    ``prefix_hit_rate``: 0..1, hits/queries in the window, or lifetime when the window
    saw no queries (one scrape, or idle).  ``preemptions``: lifetime total;
    ``preemptions_recent``: in the window (SGLang with only its gauge: retractions in its
    latest scheduler step).  ``absent``: figures this server does not expose at all.
    """

    flavor: str = "unknown"
    running: int | None = None
    waiting: int | None = None
    kv_usage: float | None = None
    prompt_tps: float | None = None
    gen_tps: float | None = None
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    itl_p50: float | None = None
    itl_p95: float | None = None
    prefix_hit_rate: float | None = None
    preemptions: int | None = None
    preemptions_recent: int | None = None
    models: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


def _first(scrape: Scrape, candidates: Sequence[str]) -> str | None:
    return next((n for n in candidates if scrape.exposes(n)), None)


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _sum(scrape: Scrape, name: str | None, model: str | None) -> float | None:
    """Sum over all series of ``name`` (engines, is_streaming, ...); None when there are none."""
    values = _finite(scrape.values(name, model)) if name else []
    return sum(values) if values else None


def _mean(scrape: Scrape, name: str | None, model: str | None) -> float | None:
    """Mean over the series: fractions (KV use, hit rate) of several engines do not add up."""
    values = _finite(scrape.values(name, model)) if name else []
    return sum(values) / len(values) if values else None


def _histogram(scrape: Scrape, family: str | None, model: str | None) -> Histogram | None:
    """Cumulative bucket counts summed over the series by ``le``; None when there are no buckets."""
    if family is None:
        return None
    out: Histogram = {}
    for labels, value in scrape.samples.get(f"{family}_bucket", ()):
        if model is not None and labels.get("model_name") != model:
            continue
        try:
            le = float(labels["le"])
        except (KeyError, ValueError):
            continue
        out[le] = out.get(le, 0.0) + value
    return out or None


def _hist_dropped(before: Histogram, after: Histogram) -> bool:
    return any(after.get(le, 0.0) < count for le, count in before.items())


def _span(points: Sequence[tuple[float, T]], dropped: Callable[[T, T], bool]) -> tuple[tuple[float, T], ...] | None:
    """(first, last) point of the window, which starts again after a counter reset; None with one point."""
    if len(points) < 2:
        return None
    start = 0
    for i in range(1, len(points)):
        if dropped(points[i - 1][1], points[i][1]):
            start = i  # the server restarted: what came before belongs to another process
    if start == len(points) - 1 or points[-1][0] <= points[start][0]:
        return None
    return points[start], points[-1]


def _lower(a: float, b: float) -> bool:
    return b < a


def histogram_quantile(q: float, buckets: Histogram) -> float | None:
    """Prometheus ``histogram_quantile``: linear inside the bucket; in the +Inf bucket, the highest finite bound.

    ``buckets``: upper bound -> cumulative count.  None without a +Inf bucket, without a
    finite bucket, or without observations.
    """
    bounds = sorted(buckets)
    if len(bounds) < 2 or not math.isinf(bounds[-1]):
        return None
    counts, top = [], 0.0
    for le in bounds:  # cumulative counts must not fall (Prometheus fixes them the same way)
        top = max(top, buckets[le])
        counts.append(top)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    b = next((i for i in range(len(bounds) - 1) if counts[i] >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, below = (bounds[b - 1], counts[b - 1]) if b > 0 else (0.0, 0.0)
    return start + (bounds[b] - start) * (rank - below) / (counts[b] - below)


@dataclass(frozen=True)
class _Stamped:
    at: float
    scrape: Scrape


class MetricsWindow:
    """The scrapes of the last ``window_s`` seconds (and the one just before, so a full window exists)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._scrapes: list[_Stamped] = []

    def __len__(self) -> int:
        return len(self._scrapes)

    def add(self, scrape: Scrape, at: float) -> None:
        """Add a scrape taken at ``at`` (seconds, monotonic); drops the ones no longer needed."""
        if self._scrapes and at < self._scrapes[-1].at:
            raise ValueError(f"scrape at {at} is older than the last one ({self._scrapes[-1].at})")
        self._scrapes.append(_Stamped(at, scrape))
        edge = at - self.window_s
        while len(self._scrapes) >= 2 and self._scrapes[1].at <= edge:
            self._scrapes.pop(0)

    def clear(self) -> None:
        """Forget every scrape (another server now answers at that address)."""
        self._scrapes.clear()

    def current(self, model: str | None = None) -> ServerMetrics:
        """The figures over the window; only series whose ``model_name`` is ``model`` when given."""
        if not self._scrapes:
            return ServerMetrics()
        last = self._scrapes[-1].scrape
        flavor = last.flavor
        names = NAMES.get(flavor, _Names())

        def counter_points(name: str | None) -> list[tuple[float, float]]:
            points = [(s.at, _sum(s.scrape, name, model)) for s in self._scrapes]
            return [(t, v) for t, v in points if v is not None]

        def rate(candidates: Sequence[str]) -> float | None:
            span = _span(counter_points(_first(last, candidates)), _lower)
            if span is None:
                return None
            (t0, v0), (t1, v1) = span
            return (v1 - v0) / (t1 - t0)

        def quantiles(candidates: Sequence[str]) -> tuple[float | None, float | None]:
            family = _first(last, candidates)
            points = [(s.at, _histogram(s.scrape, family, model)) for s in self._scrapes]
            span = _span([(t, h) for t, h in points if h is not None], _hist_dropped)
            if span is None:
                return None, None
            (_, before), (_, after) = span
            delta = {le: count - before.get(le, 0.0) for le, count in after.items()}
            return histogram_quantile(0.5, delta), histogram_quantile(0.95, delta)

        gen_tps = rate(names.gen)
        if gen_tps is None:
            gen_tps = _sum(last, _first(last, names.gen_gauge), model)
        ttft_p50, ttft_p95 = quantiles(names.ttft)
        itl_p50, itl_p95 = quantiles(names.itl)
        preemptions, preemptions_recent = self._preemptions(names, model)
        return ServerMetrics(
            flavor=flavor,
            running=_int(_sum(last, _first(last, names.running), model)),
            waiting=_int(_sum(last, _first(last, names.waiting), model)),
            kv_usage=_mean(last, _first(last, names.kv), model),
            prompt_tps=rate(names.prompt),
            gen_tps=gen_tps,
            ttft_p50=ttft_p50,
            ttft_p95=ttft_p95,
            itl_p50=itl_p50,
            itl_p95=itl_p95,
            prefix_hit_rate=self._prefix_hit_rate(names, model),
            preemptions=preemptions,
            preemptions_recent=preemptions_recent,
            models=last.models,
            absent=_absent(last, names),
        )

    def _prefix_hit_rate(self, names: _Names, model: str | None) -> float | None:
        last = self._scrapes[-1].scrape
        queries, hits = _first(last, names.prefix_queries), _first(last, names.prefix_hits)
        if queries is None or hits is None:
            return _mean(last, _first(last, names.prefix_gauge), model)
        points = []
        for s in self._scrapes:
            q, h = _sum(s.scrape, queries, model), _sum(s.scrape, hits, model)
            if q is not None and h is not None:
                points.append((s.at, (q, h)))
        if not points:
            return None
        span = _span(points, lambda a, b: b[0] < a[0] or b[1] < a[1])
        if span is not None:
            (_, (q0, h0)), (_, (q1, h1)) = span
            if q1 > q0:
                return (h1 - h0) / (q1 - q0)
        q, h = points[-1][1]  # no queries in the window: the lifetime ratio
        return h / q if q > 0 else None

    def _preemptions(self, names: _Names, model: str | None) -> tuple[int | None, int | None]:
        last = self._scrapes[-1].scrape
        counter = _first(last, names.preempt)
        if counter is None:  # SGLang's gauge: retractions in its latest step, no lifetime total
            return None, _int(_sum(last, _first(last, names.preempt_gauge), model))
        summed = [(s.at, _sum(s.scrape, counter, model)) for s in self._scrapes]
        points = [(t, v) for t, v in summed if v is not None]
        if not points:
            return None, None
        span = _span(points, _lower)
        recent = None if span is None else _int(span[1][1] - span[0][1])
        return _int(points[-1][1]), recent


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def _absent(scrape: Scrape, names: _Names) -> tuple[str, ...]:
    """Figures none of whose names the server exposes."""
    wanted = {
        RUNNING: names.running,
        WAITING: names.waiting,
        KV: names.kv,
        PROMPT_TPS: names.prompt,
        GEN_TPS: names.gen + names.gen_gauge,
        TTFT: names.ttft,
        ITL: names.itl,
        PREEMPTIONS: names.preempt + names.preempt_gauge,
    }
    missing = [figure for figure, candidates in wanted.items() if _first(scrape, candidates) is None]
    pair = _first(scrape, names.prefix_queries) and _first(scrape, names.prefix_hits)
    if not pair and _first(scrape, names.prefix_gauge) is None:
        missing.append(PREFIX_HIT)
    return tuple(f for f in FIGURES if f in missing)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms >= 1000:
        return f"{seconds:.2f} s"
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def summary_line(m: ServerMetrics) -> str:
    """One compact line for a servers-panel row, e.g. ``run 1 wait 0 KV 12% gen 35.2 tok/s TTFT p50 41 ms``.

    Unknown figures are left out; "" when nothing is known.
    """
    parts = []
    if m.running is not None:
        parts.append(f"run {m.running}")
    if m.waiting is not None:
        parts.append(f"wait {m.waiting}")
    if m.kv_usage is not None:
        parts.append(f"KV {m.kv_usage * 100:.0f}%")
    if m.gen_tps is not None:
        parts.append(f"gen {m.gen_tps:.1f} tok/s")
    if m.ttft_p50 is not None:
        parts.append(f"TTFT p50 {_ms(m.ttft_p50)}")
    if m.itl_p50 is not None:
        parts.append(f"ITL p50 {_ms(m.itl_p50)}")
    if m.prefix_hit_rate is not None:
        parts.append(f"hit {m.prefix_hit_rate * 100:.0f}%")
    if m.preemptions_recent:
        parts.append(f"preempt {m.preemptions_recent}")
    return " ".join(parts)
