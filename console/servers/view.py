"""Text for the servers panel rows and the Server panel beside the chat (pure)."""

from __future__ import annotations

import functools
from typing import Any

from console.chat.endpoints import Endpoint
from console.servers.metrics import ServerMetrics, summary_line
from console.servers.status import ServerStatus


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f}%"


def _rate(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} tok/s"


def health_text(status: ServerStatus | None) -> str:
    if status is None:
        return "not polled yet"
    if not status.reachable:
        return "unreachable"
    return {200: "Ready", 503: "engine dead (503)"}.get(status.health or 0, f"/health {status.health}")


def row_figures(status: ServerStatus | None) -> str:
    """Compact live figures for a servers-panel row: the model, then ``summary_line``."""
    if status is None or not status.reachable:
        return ""
    figures = summary_line(status.metrics) if status.metrics is not None else ""
    return " ".join(p for p in (status.model or "", figures) if p)


def metrics_lines(m: ServerMetrics) -> list[str]:
    lines = [
        f"requests   running {m.running if m.running is not None else '–'}  "
        f"waiting {m.waiting if m.waiting is not None else '–'}",
        f"KV cache   {_pct(m.kv_usage)}",
        f"prompt     {_rate(m.prompt_tps)}",
        f"generate   {_rate(m.gen_tps)}",
        f"TTFT       p50 {_ms(m.ttft_p50)}  p95 {_ms(m.ttft_p95)}",
        f"ITL        p50 {_ms(m.itl_p50)}  p95 {_ms(m.itl_p95)}",
        f"prefix hit {_pct(m.prefix_hit_rate)}",
        f"preempted  {m.preemptions if m.preemptions is not None else '–'}"
        + (f" ({m.preemptions_recent} in the last minute)" if m.preemptions_recent else ""),
    ]
    if m.absent:
        lines.append(f"not exposed by this server: {', '.join(m.absent)}")
    lines.append("rates and percentiles: last 60 s")
    return lines


@functools.lru_cache(maxsize=64)
def _takes(model_id: str, root: str, command: str) -> Any:
    """What a server can take, told once per model and launch line (the panels ask at every refresh)."""
    from console.chat.capability import capabilities

    return capabilities(model_id, root, (), command)


def takes_line(status: ServerStatus | None, command: str) -> list[str]:
    """What the server can take: images, ``tool_choice: auto`` (from its model and launch line)."""
    model = status.models[0] if status is not None and status.models else None
    caps = _takes(model.id if model else "", model.root if model else "", command)
    return [f"vision     {caps.vision_line()}", f"tools      {caps.tools_line()}"]


def badges(model_id: str, root: str, command: str) -> str:
    """`` [img] [tools]`` after a model's name: it sees images; it takes ``tool_choice: auto``."""
    caps = _takes(model_id, root, command)
    return (" [img]" if caps.vision else "") + (" [tools]" if caps.tools else "")


def detail_lines(endpoint: Endpoint | None, status: ServerStatus | None, command: str = "") -> list[str]:
    if endpoint is None:
        return ["No server selected.", "Pick one in the dashboard's servers panel or with F5."]
    lines = [endpoint.root, f"health     {health_text(status)}"]
    if status is None:
        return lines
    if not status.reachable:
        return [*lines, status.error or "", "Is it running? The dashboard's servers panel shows its container."]
    if status.version:
        lines.append(f"version    {status.version}")
    for model in status.models:
        ctx = f" · max_model_len {model.max_model_len}" if model.max_model_len else ""
        lines.append(f"model      {model.id}{ctx}")
    lines.extend(takes_line(status, command))
    lines.append("")
    if status.metrics is not None:
        lines.extend(metrics_lines(status.metrics))
    else:
        lines.append(status.metrics_note or "no metrics")
    return lines
