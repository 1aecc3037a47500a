"""A bench's results with what they were measured on, saved as JSON and CSV, and compared (pure).

One ``ConfigResult`` per served configuration, power mode and concurrency: every trial's
figures and their median.  The JSON keeps everything (and loads back for ``--compare``);
the CSV has one row per result with the medians in milliseconds and the context columns.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from console.bench.specdecode import SpecDecode
from console.bench.stats import Distribution, TrialMetrics, relative_change
from console.runtime.sanitise import json_text
from console.runtime.secrets import mask_command, mask_data, mask_prose, mask_url

SCHEMA = "jetconsole.bench/1"


@dataclass(frozen=True)
class ServerContext:
    """What served the requests: version, model, how it was started."""

    url: str
    model: str
    server: str = ""  # "vllm 0.32.0", "sglang 0.5.2", "" when it did not say
    model_root: str = ""  # the weights path or repo /v1/models reports
    max_model_len: int | None = None
    launch: str = ""  # the server's command line
    launched_by: str = ""  # "container NAME (IMAGE)", "process PID", ""


@dataclass(frozen=True)
class DeviceContext:
    hostname: str = ""
    device: str = ""  # "NVIDIA Jetson AGX Orin", "NVIDIA H100 80GB HBM3", "x86_64 (no GPU telemetry)"
    power_mode: str = ""  # nvpmodel name, or "" where there is none
    jetson_clocks: bool | None = None
    power_source: str = ""  # what the energy figures count, "" when no power telemetry


@dataclass(frozen=True)
class ConfigResult:
    label: str  # the served configuration ("FP16", "fp8", "tiny@127.0.0.1:8011")
    concurrency: int
    server: ServerContext
    trials: tuple[TrialMetrics, ...]
    median: TrialMetrics
    power_mode: str = ""  # set when this result is one side of a power-mode A/B
    spec_decode: SpecDecode | None = None  # the server's draft counters over these trials, if it drafts

    @property
    def name(self) -> str:
        return f"{self.label} @{self.power_mode}" if self.power_mode else self.label


@dataclass(frozen=True)
class BenchReport:
    started: str  # ISO 8601, UTC
    finished: str
    tool: str  # "jetconsole 0.x"
    device: DeviceContext
    settings: dict[str, Any] = field(default_factory=dict)
    results: tuple[ConfigResult, ...] = ()
    cancelled: bool = False
    notes: tuple[str, ...] = ()


# ---- secrets ------------------------------------------------------------------------------


def _masked_label(label: str) -> str:
    """A label made from a URL (``user:pass@host:8000``, no scheme) masked like the URL."""
    if "://" not in label and "@" in label.split("/", 1)[0]:
        return mask_url("http://" + label).removeprefix("http://")
    return mask_prose(mask_url(label))


def _masked_trial(t: TrialMetrics) -> TrialMetrics:
    return replace(t, errors=tuple(mask_prose(e) for e in t.errors)) if t.errors else t


def masked(report: BenchReport) -> BenchReport:
    """The report with every credential masked: the launch line's ``--api-key X`` and ``HF_TOKEN=X``, a URL's
    password or ``?api_key=``, and any in the settings, notes and server errors.

    The context masks the launch line as it reads it; this is the writers' last guard, so no saved
    report (JSON, CSV, ``--json``) can carry one whatever built the report.
    """
    results = tuple(
        replace(
            r,
            label=_masked_label(r.label),
            server=replace(r.server, url=mask_url(r.server.url), launch=mask_command(r.server.launch)),
            trials=tuple(_masked_trial(t) for t in r.trials),
            median=_masked_trial(r.median),
        )
        for r in report.results
    )
    return replace(
        report,
        settings=mask_data(report.settings),
        results=results,
        notes=tuple(mask_prose(n) for n in report.notes),
    )


# ---- JSON ---------------------------------------------------------------------------------


def to_dict(report: BenchReport) -> dict[str, Any]:
    """The report as saved, credentials masked (:func:`masked`)."""
    return {"schema": SCHEMA, **asdict(masked(report))}


def to_json(report: BenchReport) -> str:
    return json_text(to_dict(report), indent=2)  # a masked value as "••••", not \u2022


def _dist(d: dict[str, Any]) -> Distribution:
    return Distribution(**{f.name: d.get(f.name, 0) for f in fields(Distribution)})


def _trial(d: dict[str, Any]) -> TrialMetrics:
    kw: dict[str, Any] = {f.name: d.get(f.name) for f in fields(TrialMetrics)}
    for name in ("ttft", "tpot", "itl", "e2el"):
        kw[name] = _dist(d.get(name) or {})
    kw["errors"] = tuple(d.get("errors") or ())
    return TrialMetrics(**kw)


def from_dict(data: dict[str, Any]) -> BenchReport:
    """A saved report back; raises ValueError naming what is wrong."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a jetconsole bench result (schema {SCHEMA!r} expected)")
    try:
        results = tuple(
            ConfigResult(
                label=r["label"],
                concurrency=int(r["concurrency"]),
                server=ServerContext(**r["server"]),
                trials=tuple(_trial(t) for t in r["trials"]),
                median=_trial(r["median"]),
                power_mode=r.get("power_mode", ""),
                spec_decode=SpecDecode(**r["spec_decode"]) if r.get("spec_decode") else None,
            )
            for r in data["results"]
        )
        return BenchReport(
            started=data["started"],
            finished=data["finished"],
            tool=data["tool"],
            device=DeviceContext(**data["device"]),
            settings=dict(data.get("settings") or {}),
            results=results,
            cancelled=bool(data.get("cancelled")),
            notes=tuple(data.get("notes") or ()),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"bench result is missing or has a wrong field: {exc}") from exc


def merge(reports: list[BenchReport]) -> BenchReport:
    """Several saved runs as one report to compare (the first one's device and settings); a label
    found in more than one run gets the run's start time added."""
    if not reports:
        raise ValueError("nothing to merge")
    first = reports[0]
    seen: dict[str, int] = {}
    for r in reports:
        for label in {res.label for res in r.results}:
            seen[label] = seen.get(label, 0) + 1
    renamed = [
        tuple(
            replace(res, label=f"{res.label} ({r.started[:19]})") if seen[res.label] > 1 else res for res in r.results
        )
        for r in reports
    ]
    return BenchReport(
        started=min(r.started for r in reports),
        finished=max(r.finished for r in reports),
        tool=first.tool,
        device=first.device,
        settings=first.settings,
        results=tuple(res for group in renamed for res in group),
        cancelled=any(r.cancelled for r in reports),
        notes=tuple(n for r in reports for n in r.notes),
    )


# ---- what it ran on, as text ----------------------------------------------------------------


def device_line(report: BenchReport) -> str:
    """``NVIDIA Jetson AGX Orin on thor-07, MAXN; energy from …`` (the CLI's and the screen's heading)."""
    d = report.device
    return (
        f"{d.device or '?'} on {d.hostname or '?'}"
        + (f", {d.power_mode}" if d.power_mode else "")
        + (f"; energy from {d.power_source}" if d.power_source else "; no power telemetry: no energy figures")
    )


def server_lines(report: BenchReport) -> list[str]:
    """One line per configuration: model, URL, server version and the command line that started it."""
    report = masked(report)  # what is shown is masked as what is saved
    lines, seen = [], set()
    for r in report.results:
        if r.label not in seen:
            seen.add(r.label)
            s = r.server
            lines.append(
                f"  {r.label}: {s.model} on {s.url} ({s.server or 'server version unknown'})"
                + (f"; {s.launched_by}: {s.launch}" if s.launch else "")
            )
    for r in report.results:
        sd = r.spec_decode
        if sd is not None and sd.acceptance_rate is not None and sd.acceptance_length is not None:
            lines.append(
                f"  {r.name} at concurrency {r.concurrency}: speculative decoding accepted "
                f"{sd.acceptance_rate:.0%} of {sd.draft_tokens:,} draft tokens, "
                f"{sd.acceptance_length:.2f} tokens per step"
            )
    return lines


# ---- the figures, by name ------------------------------------------------------------------

#: (key, heading, unit, better): what the table, chart and CSV show.  ``better`` is
#: "lower" for latencies, "higher" for throughputs.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("ttft.p50", "TTFT p50", "ms", "lower"),
    ("ttft.p95", "TTFT p95", "ms", "lower"),
    ("ttft.p99", "TTFT p99", "ms", "lower"),
    ("tpot.p50", "TPOT p50", "ms", "lower"),
    ("tpot.p95", "TPOT p95", "ms", "lower"),
    ("tpot.p99", "TPOT p99", "ms", "lower"),
    ("itl.p50", "ITL p50", "ms", "lower"),
    ("itl.p95", "ITL p95", "ms", "lower"),
    ("itl.p99", "ITL p99", "ms", "lower"),
    ("e2el.p50", "E2E p50", "ms", "lower"),
    ("e2el.p99", "E2E p99", "ms", "lower"),
    ("output_throughput", "out tok/s", "tok/s", "higher"),
    ("request_throughput", "req/s", "req/s", "higher"),
    ("tokens_per_joule", "tok/J", "tok/J", "higher"),
    ("joules_per_token", "J/tok", "J/tok", "lower"),
)
METRIC_KEYS = tuple(m[0] for m in METRICS)


def metric_info(key: str) -> tuple[str, str, str]:
    for k, heading, unit, better in METRICS:
        if k == key:
            return heading, unit, better
    raise KeyError(f"unknown metric {key!r}; one of {', '.join(METRIC_KEYS)}")


def value(metrics: TrialMetrics, key: str) -> float | None:
    """A figure in display units (milliseconds for times)."""
    if "." in key:
        dist, stat = key.split(".")
        return getattr(getattr(metrics, dist), stat) * 1000.0
    return getattr(metrics, key)


def baseline_for(
    results: tuple[ConfigResult, ...] | list[ConfigResult], baseline: str, concurrency: int
) -> ConfigResult | None:
    """The baseline's result at this concurrency: matched by name, then label; the first result otherwise."""
    same = [r for r in results if r.concurrency == concurrency]
    for r in same:
        if baseline and baseline in (r.name, r.label):
            return r
    return same[0] if same else None


def change(result: ConfigResult, base: ConfigResult | None, key: str) -> float | None:
    if base is None:
        return None
    return relative_change(value(result.median, key), value(base.median, key))


def change_text(rel: float | None, better: str) -> str:
    """ "+12.3% better" style, the sign of the figure and whether that is good."""
    if rel is None:
        return ""
    if abs(rel) < 0.0005:
        return "±0%"
    good = (rel < 0) == (better == "lower")
    return f"{rel * 100:+.1f}% {'better' if good else 'worse'}"


# ---- CSV ----------------------------------------------------------------------------------

CSV_CONTEXT = (
    "label",
    "power_mode",
    "concurrency",
    "trials",
    "completed",
    "failed",
    "url",
    "model",
    "server",
    "model_root",
    "max_model_len",
    "launched_by",
    "launch",
    "hostname",
    "device",
    "device_power_mode",
    "jetson_clocks",
    "started",
    "spec_acceptance_rate",
    "spec_acceptance_length",
)


def to_csv(report: BenchReport, baseline: str = "") -> str:
    """One row per result: context columns, then each figure's median and its change against the baseline;
    credentials masked (:func:`masked`)."""
    report = masked(report)
    out = io.StringIO()
    writer = csv.writer(out)
    figures = [k for k in METRIC_KEYS]
    writer.writerow(
        [
            *CSV_CONTEXT,
            *(f"{k}_{metric_info(k)[1].replace('/', '_per_')}" for k in figures),
            *(f"{k}_vs_baseline" for k in figures),
        ]
    )
    for r in report.results:
        base = baseline_for(report.results, baseline, r.concurrency)
        m = r.median
        context = [
            r.label,
            r.power_mode,
            r.concurrency,
            len(r.trials),
            m.completed,
            m.failed,
            r.server.url,
            r.server.model,
            r.server.server,
            r.server.model_root,
            r.server.max_model_len or "",
            r.server.launched_by,
            r.server.launch,
            report.device.hostname,
            report.device.device,
            r.power_mode or report.device.power_mode,
            "" if report.device.jetson_clocks is None else report.device.jetson_clocks,
            report.started,
            _fmt(r.spec_decode.acceptance_rate if r.spec_decode else None, 4),
            _fmt(r.spec_decode.acceptance_length if r.spec_decode else None, 3),
        ]
        values = [_fmt(value(m, k)) for k in figures]
        changes = [_fmt(change(r, base, k), 4) if base is not r else "" for k in figures]
        writer.writerow([*context, *values, *changes])
    return out.getvalue()


def _fmt(v: float | None, digits: int = 3) -> str:
    return "" if v is None else f"{v:.{digits}f}"
