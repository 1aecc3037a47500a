"""A bench as text: the comparison table (cells shared by the CLI and the Bench screen), the charts,
the notes, and the lines the Bench screen shows while a run goes on.

No Textual; rich renders the table into a string.
"""

from __future__ import annotations

import io
import sys

from console.bench import report as rp
from console.bench.chart import chart_lines
from console.bench.runner import Progress, TrialDone

CHART_METRICS = ("output_throughput", "ttft.p50", "tpot.p50")


def use_ascii() -> bool:
    """Plain ASCII for the table and bars where the terminal cannot show box and block characters."""
    import locale
    import os

    from console.hud.terminal import ascii_only

    return ascii_only(dict(os.environ), sys.stdout.encoding or locale.getpreferredencoding(False))


def table_rows(report: rp.BenchReport, baseline: str = "") -> list[tuple[str, ...]]:
    """The comparison table's cells, medians in milliseconds (shared by the CLI and the Bench screen)."""
    rows = []
    for r in report.results:
        m = r.median
        base = rp.baseline_for(report.results, baseline, r.concurrency)
        ch = "baseline" if base is r else rp.change_text(rp.change(r, base, "output_throughput"), "higher")
        rows.append(
            (
                r.name,
                str(r.concurrency),
                *(_triple(getattr(m, d)) for d in ("ttft", "tpot", "itl")),
                f"{m.e2el.p50 * 1000:,.0f}",
                f"{m.output_throughput:,.1f}",
                f"{m.request_throughput:.2f}",
                f"{m.tokens_per_joule:.2f}" if m.tokens_per_joule else "-",
                f"{m.failed}" if m.failed else "0",
                ch,
            )
        )
    return rows


TABLE_HEADS = (
    "config",
    "conc",
    "TTFT ms p50/95/99",
    "TPOT ms p50/95/99",
    "ITL ms p50/95/99",
    "E2E ms p50",
    "out tok/s",
    "req/s",
    "tok/J",
    "failed",
    "tok/s vs baseline",
)


def table_text(report: rp.BenchReport, baseline: str = "") -> str:
    """The comparison table as text, every cell whole (no ellipsis at any width)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    rows = table_rows(report, baseline)
    table = Table(
        title=f"median of {report.settings.get('trials', '?')} trials",
        pad_edge=False,
        box=box.ASCII if use_ascii() else box.SIMPLE,
    )
    for i, head in enumerate(TABLE_HEADS):
        widest = max([len(head)] + [len(r[i]) for r in rows])
        table.add_column(
            head, justify="left" if i in (0, len(TABLE_HEADS) - 1) else "right", no_wrap=True, min_width=widest
        )
    for row in rows:
        table.add_row(*row)
    width = sum(max([len(h)] + [len(r[i]) for r in rows]) + 3 for i, h in enumerate(TABLE_HEADS))
    out = io.StringIO()
    Console(width=width, file=out, force_terminal=False, color_system=None).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def _triple(d: object) -> str:
    return "/".join(f"{getattr(d, p) * 1000:.1f}" for p in ("p50", "p95", "p99"))


def text_report(report: rp.BenchReport, baseline: str = "", width: int = 120) -> str:
    lines = [rp.device_line(report), *rp.server_lines(report)]
    if report.results:
        lines.append(table_text(report, baseline).rstrip())
    else:
        lines.append("no trial finished: nothing measured")
    levels = list(dict.fromkeys(r.concurrency for r in report.results))
    if len({r.name for r in report.results}) > 1:
        for c in levels:
            for key in CHART_METRICS:
                lines += ["", *chart_lines(report, key, c, baseline, min(width, 100), use_ascii())]
    lines += [f"note: {n}" for n in report.notes]
    if report.cancelled:
        lines.append("CANCELLED: only the trials that finished are shown")
    return "\n".join(lines)


# ---- while a run goes on (the Bench screen) ----


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(e: Progress) -> str:
    step = "warm-up" if e.phase == "warm-up" else f"concurrency {e.concurrency} · trial {e.trial}/{e.trials}"
    eta = f" · ETA {duration(e.eta_s)}" if e.eta_s is not None else ""
    return (
        f"{e.name} · {step} · {e.done}/{e.total} requests · {e.overall_done}/{e.overall_total} in all"
        f"{eta} · {duration(e.elapsed_s)} elapsed"
    )


def trial_text(e: TrialDone) -> str:
    m = e.metrics
    energy = f", {m.tokens_per_joule:.2f} tok/J" if m.tokens_per_joule else ""
    return (
        f"last trial: {e.name} at concurrency {e.concurrency}, trial {e.trial}: {m.output_throughput:,.1f} "
        f"out tok/s, TTFT p50 {m.ttft.p50 * 1000:,.1f} ms, TPOT p50 {m.tpot.p50 * 1000:,.1f} ms{energy}, "
        f"{m.failed} failed"
    )


def header_text(report: rp.BenchReport) -> str:
    return rp.device_line(report) + f" · median of {report.settings.get('trials', '?')} trials"
