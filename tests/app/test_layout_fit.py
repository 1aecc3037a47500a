"""Layout at 80x24 and 120x40 (issue 15 item 21): rows that fit, sparklines that use the row, a HUD that
fills the screen, and a hint wherever a table is cut."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from console.chat.wire import ModelInfo
from console.config import Config
from console.containers.model import ContainerInfo, ContainerStats
from console.runtime import events as ev
from console.servers.metrics import ServerMetrics
from console.servers.status import ServerStatus
from console.telemetry.model import TelemetrySnapshot
from console.ui.widgets.servers_panel import ServersPanel
from console.ui.widgets.sparkline import SparkLine
from console.ui.widgets.text import LiveText
from tests.app.helpers import frozen_app, ramp, wait_for
from tests.app.test_snapshots import REPORT

MODEL = "RedHatAI/Qwen3-30B-A3B-Instruct-2507-quantized.w4a16-with-a-long-suffix"
METRICS = ServerMetrics(running=2, waiting=1, kv_usage=0.42, gen_tps=35.2, ttft_p50=0.041, itl_p50=0.012)


def servers_app(orin_snapshot: TelemetrySnapshot):
    """Two inference containers with long names, models and live figures, and one configured endpoint."""
    app = frozen_app(ramp(orin_snapshot, 5), REPORT, Config(servers=("http://127.0.0.1:9000/v1",)))
    containers = tuple(
        ContainerInfo(
            id=cid * 64,
            name=f"vllm-{name}-served-on-the-workshop-thor",
            image="nvcr.io/nvidia/vllm:25.09-py3-with-a-very-long-tag-name",
            state="running",
            status="Up 3 minutes",
            labels={"jetconsole.url": f"http://127.0.0.1:{port}/v1", "jetconsole.preset": "vllm-thor"},
        )
        for cid, name, port in (("a", "qwen3-30b-a3b", 8000), ("b", "llama-3.1-8b-fp8", 8001))
    )
    app.runtime.emit(ev.ContainersListed(containers))
    app.runtime.emit(ev.StatsUpdated(tuple((c.id, ContainerStats(c.id, 12.5, 3 << 30, 8 << 30)) for c in containers)))
    urls = [f"http://127.0.0.1:{port}/v1" for port in (8000, 8001, 9000)]
    app.runtime.emit(ev.ServersWatched(frozenset(urls)))
    for url in urls[:2]:
        app.runtime.emit(ev.ServerPolled(ServerStatus(url, True, 200, models=(ModelInfo(MODEL),), metrics=METRICS)))
    return app


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_each_server_is_one_line_cut_with_an_ellipsis(orin_snapshot, size: tuple[int, int]) -> None:
    app = servers_app(orin_snapshot)
    async with app.run_test(size=size) as pilot:
        panel = app.screen.query_one(ServersPanel)
        panel.focus()  # at 80x24 only the focused panel shows its rows
        await wait_for(pilot, lambda: panel.body.display and "vllm-llama" in panel.body.text)
        await pilot.pause()
        body = panel.body
        rows = [line for line in body.text.split("\n") if "vllm-" in line or "127.0.0.1:9000" in line]
        assert len(rows) == 3
        width = body.content_size.width
        assert all(cell_len(line) <= width for line in rows), (width, rows)
        assert body.size.height == len(body.text.split("\n")), body.text  # nothing wrapped
        assert all("…" in line for line in rows[:2])  # the cut says so
        assert all("Ready" in line for line in rows[:2])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_sparklines_fill_their_row(orin_snapshot, size: tuple[int, int]) -> None:
    """Values take the room of the widest one, sparklines the rest of the row, and three and a half minutes of
    samples (a cell per 3 s) fill them (a line of the whole window was a few cells at the right of an empty row)."""
    from console.ui.widgets.metric_row import MetricRow
    from console.ui.widgets.telemetry_panel import TelemetryPanel

    app = frozen_app(ramp(orin_snapshot, 215), REPORT)
    async with app.run_test(size=size) as pilot:
        panel = app.screen.query_one(TelemetryPanel)
        panel.focus()
        row: MetricRow = panel.rows["gpu"]
        spark, value = row.query_one(".metric-spark", SparkLine), row.query_one(".metric-value", LiveText)
        await wait_for(pilot, lambda: spark.size.width > 0 and spark.text.strip() != "")
        widest = max(cell_len(r.text) for r in panel.rows.values() if not r.has_class("nospark"))
        assert value.size.width <= widest + 5 and spark.region.right == row.region.right
        assert spark.size.width >= row.size.width // 3
        drawn = len(spark.text.strip())
        assert drawn >= spark.size.width - 1, (drawn, spark.size.width, spark.text)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_cut_table_says_how_many_columns_are_cut_and_scrolling_reaches_them(size: tuple[int, int]) -> None:
    """Bench results are wider than the screen: the hint under the table counts the cut columns on each side."""
    from textual.widgets import DataTable

    from console.ui.screens.bench import BenchScreen
    from console.ui.widgets.cut_hint import CutHint
    from tests.app.test_bench_screen import sample_report

    app = frozen_app([], REPORT)
    async with app.run_test(size=size) as pilot:
        await app.push_screen(BenchScreen(report=sample_report(), baseline="FP16"))
        hint = app.screen.query_one("#bench-table-cut", CutHint)
        table = app.screen.query_one("#bench-table", DataTable)
        await wait_for(pilot, lambda: hint.display and "more column" in hint.text)
        assert hint.text.startswith("→ ") and hint.text.endswith("(scroll →)") and "←" not in hint.text
        assert hint.region.y >= table.region.bottom  # under the table, on screen
        assert hint.region.bottom <= size[1]
        table.focus()
        table.scroll_to(x=table.max_scroll_x, animate=False)
        await wait_for(pilot, lambda: hint.text.startswith("← ") and "→" not in hint.text.replace("(scroll ←)", ""))
        table.scroll_to(x=0, animate=False)
        await wait_for(pilot, lambda: hint.text.startswith("→ "))


def test_hidden_columns_and_the_hint_text() -> None:
    from console.ui.widgets.cut_hint import cut_text, hidden_columns

    assert hidden_columns([10, 10, 10], 0, 30) == (0, 0) and cut_text(0, 0) == ""
    assert hidden_columns([10, 10, 10, 10], 0, 25) == (0, 2)  # the third is cut in the middle
    assert hidden_columns([10, 10, 10, 10], 15, 25) == (2, 0)
    assert hidden_columns([10, 10, 10, 10], 10, 20) == (1, 1)
    assert cut_text(0, 3) == "→ 3 more columns (scroll →)"
    assert cut_text(1, 1) == "← 1 column (scroll ←) · → 1 more column (scroll →)"


@pytest.mark.parametrize("help_on", [False, True])
async def test_the_hud_fills_a_120x40_screen(orin_snapshot, tmp_path, help_on: bool) -> None:
    """The figures' tiles (and the two header lines) cover at least 80% of 120x40, nothing cut off."""
    from console.ui.screens.hud import HudTile
    from tests.app.test_hud_screen import hud_app

    app = hud_app(orin_snapshot, tmp_path / "flag", help_on=help_on)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: sum(t.display and t.region.height > 0 for t in app.screen.query(HudTile)) == 6)
        tiles = [t for t in app.screen.query(HudTile) if t.display]
        assert all(t.region.right <= 120 and t.region.bottom <= 40 for t in tiles)
        used = max(t.region.bottom for t in tiles) * (
            max(t.region.right for t in tiles) - min(t.region.x for t in tiles)
        )
        assert used >= 0.8 * 120 * 40, used
        assert all(len(str(t.render()).split("\n")) >= 8 for t in tiles)  # the digits grew, not only the gaps


async def test_telemetry_tables_say_when_they_are_cut_at_80_columns(orin_snapshot) -> None:
    """A process with a long command line makes the processes table wider than 80 columns: its hint says so."""
    import dataclasses

    from console.ui.widgets.cut_hint import CutHint

    proc = dataclasses.replace(orin_snapshot.processes[0], name="python3 -m vllm.entrypoints.openai.api_server " * 2)
    app = frozen_app([dataclasses.replace(orin_snapshot, processes=(proc,))], REPORT)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: len(app.screen.query(CutHint)) == 6)
        hints = {h.table.id: h for h in app.screen.query(CutHint)}
        await wait_for(pilot, lambda: hints["t-processes"].text.startswith("→ "))
        assert hints["t-processes"].text.endswith("more columns (scroll →)")  # name, GPU mem, CPU, RSS
        assert not hints["t-device"].display and hints["t-device"].text == ""  # in view: no hint, no room taken


async def test_a_growing_sparkline_asks_to_repaint_only_what_changed(orin_snapshot) -> None:
    """A new point at the left-aligned line's end asks its piece for that cell; the other pieces are not asked."""
    from textual.geometry import Region

    from console.ui.widgets.metric_row import MetricRow
    from console.ui.widgets.sparkline import changed_span
    from console.ui.widgets.telemetry_panel import TelemetryPanel

    assert changed_span("▁▂  ", "▁▂▃ ") == (2, 3) and changed_span("ab", "ab") is None
    app = frozen_app(ramp(orin_snapshot, 40), REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        row: MetricRow = app.screen.query_one(TelemetryPanel).rows["gpu"]
        spark = row.query_one(SparkLine)
        await wait_for(pilot, lambda: spark.text.strip() != "" and spark.render_text() == spark.text)
        asked: list[list[tuple[Region, ...]]] = [[] for _ in spark.pieces]
        for piece, calls in zip(spark.pieces, asked, strict=True):
            original = piece.refresh
            piece.refresh = lambda *a, _o=original, _c=calls, **kw: (_c.append(a), _o(*a, **kw))[1]  # type: ignore[method-assign]
        drawn = spark.text.rstrip()
        spark.set((drawn + "█").ljust(len(spark.text)))  # one more point
        starts = [p.region.x - spark.region.x for p in spark.pieces]
        holder = max(i for i, x in enumerate(starts) if x <= len(drawn))
        assert len(spark.pieces) > 1 and starts[1] > 0
        assert asked == [
            [(Region(len(drawn) - starts[i], 0, 1, 1),)] if i == holder else [] for i in range(len(starts))
        ]
        assert spark.render_text().rstrip() == drawn + "█"


async def test_the_chat_pane_is_not_repainted_when_its_gauge_is_unchanged(orin_snapshot) -> None:
    """Setting a border subtitle repaints the whole pane, same text or not: each server poll did (1.2 kB/s)."""
    from console.ui.widgets.chat_pane import ChatPane

    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.screen.query_one(ChatPane)
        await pilot.pause()
        session = app.chat_control.chat
        pane.show_head(session, "server: unreachable")
        repaints: list[object] = []
        original = pane.refresh
        pane.refresh = lambda *a, **kw: (repaints.append(a), original(*a, **kw))[1]  # type: ignore[method-assign]
        pane.show_head(session, "server: unreachable")
        assert repaints == []
