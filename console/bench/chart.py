"""A horizontal bar chart in text: one bar per configuration, scaled to the largest (pure)."""

from __future__ import annotations

from console.bench.report import BenchReport, baseline_for, change, change_text, metric_info, value

EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int, ascii_only: bool = False) -> str:
    """``fraction`` (0..1) of ``width`` cells; eighth-cell resolution unless ``ascii_only``."""
    fraction = min(max(fraction, 0.0), 1.0)
    if ascii_only:
        return "#" * round(fraction * width)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def chart_lines(
    report: BenchReport, key: str, concurrency: int, baseline: str = "", width: int = 80, ascii_only: bool = False
) -> list[str]:
    """``name  ████████  123.4 ms  +5.0% worse`` for each result at ``concurrency``."""
    heading, unit, better = metric_info(key)
    rows = [r for r in report.results if r.concurrency == concurrency]
    if not rows:
        return []
    base = baseline_for(report.results, baseline, concurrency)
    values = [value(r.median, key) for r in rows]
    names = [r.name for r in rows]
    name_w = min(max(len(n) for n in names), 24)
    texts = [f"{v:,.1f} {unit}" if v is not None else "n/a" for v in values]
    changes = ["baseline" if r is base else change_text(change(r, base, key), better) for r in rows]
    text_w = max(len(t) for t in texts)
    tail_w = text_w + 2 + max(len(c) for c in changes)
    bar_w = max(width - name_w - tail_w - 3, 4)
    top = max((v for v in values if v is not None), default=0.0)
    lines = [f"{heading} at concurrency {concurrency} ({'lower' if better == 'lower' else 'higher'} is better)"]
    for name, v, text, ch in zip(names, values, texts, changes, strict=True):
        drawn = bar(v / top, bar_w, ascii_only) if v is not None and top > 0 else ""
        lines.append(f"{name[:name_w]:<{name_w}} {drawn:<{bar_w}}  {text:>{text_w}}  {ch}".rstrip())
    return lines
