"""The Bench screen driven by keys: a real bench against tests.replay.ReplayServer (the same client and
runner as ``jetconsole bench``), cancel, bad input, saved runs compared, the power A/B question, snapshots.

The replay server stands in for vLLM because it can be paced and slowed on demand (a cancel needs a
request in flight); tests/realparts/test_bench_vllm.py runs the real server.  The power control is a
stand-in (``FakePower``): changing a real Jetson's power mode is for tests/realparts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from console.bench import form as bf
from console.bench import report as rp
from console.bench import results as br
from console.bench.report import BenchReport, ConfigResult, DeviceContext, ServerContext
from console.bench.stats import Distribution, TrialMetrics
from console.config import Config
from console.ui.screens.bench import BenchScreen
from console.ui.screens.confirm import StrictConfirmScreen
from console.ui.screens.dashboard import DashboardScreen
from tests.app.helpers import frozen_app, live_app, wait_for
from tests.app.test_snapshots import REPORT
from tests.bench_fakes import FakePower
from tests.replay import ReplayServer, Script, token_frames

# ---- a fixed report: the workshop's comparison as it might look on a Thor --------------------------------------


def _dist(ms: float) -> Distribution:
    return Distribution(
        mean=ms / 1000, median=ms / 1000, p50=ms / 1000, p95=ms * 1.3 / 1000, p99=ms * 1.6 / 1000, count=12
    )


def _metrics(tok_s: float, ttft_ms: float, tpot_ms: float, tok_j: float | None) -> TrialMetrics:
    return TrialMetrics(
        completed=12,
        failed=0,
        duration=30.0,
        total_input=600,
        total_output=round(tok_s * 30),
        request_throughput=tok_s / 200,
        output_throughput=tok_s,
        total_token_throughput=tok_s + 20,
        ttft=_dist(ttft_ms),
        tpot=_dist(tpot_ms),
        itl=_dist(tpot_ms * 0.98),
        e2el=_dist(ttft_ms + 200 * tpot_ms),
        energy_j=round(tok_s * 30 / tok_j, 1) if tok_j else None,
        avg_power_w=None,
        tokens_per_joule=tok_j,
        joules_per_token=1 / tok_j if tok_j else None,
    )


WORKSHOP = ("FP16", "FP8", "NVFP4", "NVFP4+EAGLE")


def sample_report(started: str = "2025-10-14T09:30:00+00:00", labels: tuple[str, ...] = WORKSHOP) -> BenchReport:
    """Fixed figures (no live timing): for snapshots and screenshots."""
    figures = {
        "FP16": (14.2, 88.0, 70.1, 0.41),
        "FP8": (25.3, 71.0, 39.4, 0.72),
        "NVFP4": (41.8, 64.0, 23.8, 1.18),
        "NVFP4+EAGLE": (63.5, 69.0, 15.7, 1.64),
    }
    results = []
    for i, label in enumerate(labels):
        server = ServerContext(
            url=f"http://127.0.0.1:{8000 + i}/v1", model=f"Qwen3-8B-{label}", server="vllm 0.11.0", max_model_len=8192
        )
        for c, scale in ((1, 1.0), (4, 3.1)):
            tok_s, ttft, tpot, tok_j = figures[label]
            m = _metrics(tok_s * scale, ttft * (1.4 if c == 4 else 1.0), tpot * (1.1 if c == 4 else 1.0), tok_j * scale)
            results.append(ConfigResult(label, c, server, (m, m, m), m))
    return BenchReport(
        started=started,
        finished=started.replace("09:30", "09:52"),
        tool="jetconsole 0.1.0",
        device=DeviceContext("thor-01", "NVIDIA Jetson AGX Thor", "MAXN", True, "board power (sum of the rails)"),
        settings={"trials": 3, "concurrency": [1, 4]},
        results=tuple(results),
    )


def _prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "one", "output_tokens": 3}\n{"prompt": "two", "output_tokens": 3}\n')
    return path


def _config(tmp_path: Path, *servers: str, **kw: object) -> Config:
    values: dict[str, object] = {
        "bench_results_dir": str(tmp_path / "results"),
        "bench_trials": 1,
        "bench_concurrency": (1, 2),
        "bench_prompts": str(_prompts(tmp_path)),
        "refresh_interval": 0.2,
        **kw,
    }
    return Config(servers=servers or ("http://127.0.0.1:9/v1",), **values)  # type: ignore[arg-type]


async def _open(pilot) -> BenchScreen:
    await pilot.press("B")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BenchScreen))
    return pilot.app.screen


def _set(screen: BenchScreen, **values: str) -> None:
    for field, value in values.items():
        screen.query_one(f"#bench-{field}", Input).value = value


def _cells(screen: BenchScreen, table: str = "#bench-table") -> list[list[str]]:
    t = screen.query_one(table, DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


# ---- the form, pure ---------------------------------------------------------------------------------------------


def test_form_defaults_and_every_problem_named(tmp_path: Path) -> None:
    config = _config(tmp_path, "http://127.0.0.1:8000/v1")
    form = bf.BenchForm.defaults(config)
    assert (form.endpoints, form.trials, form.concurrency) == ("http://127.0.0.1:8000/v1", "1", "1,2")
    plan = bf.plan_from_form(
        bf.BenchForm(
            endpoints="A=http://h:1, B=http://h:2",
            trials="2",
            concurrency="4,1",
            max_tokens="7",
            ignore_eos=True,
            baseline="B",
        ),
        config,
    )
    assert [t.label for t in plan.targets] == ["A", "B"] and plan.concurrency == (4, 1) and plan.trials == 2
    assert {p.max_tokens for p in plan.prompts} == {7} and plan.ignore_eos and plan.prompts_source.endswith(".jsonl")
    with pytest.raises(bf.FormError) as err:
        bf.plan_from_form(
            bf.BenchForm(
                endpoints="ftp://x",
                trials="0",
                concurrency="0,x",
                prompts="/nonexistent/p",
                max_tokens="-1",
                power_ab="MAXN",
                baseline="Z",
            ),
            config,
        )
    assert err.value.fields == {"endpoints", "trials", "concurrency", "prompts", "max_tokens", "power_ab"}
    text = str(err.value)
    for words in (
        "not an http(s) URL",
        "trials must be a whole number",
        "whole numbers separated by commas",
        "cannot read it",
        "max tokens must be",
        "two modes or more",
    ):
        assert words in text
    with pytest.raises(bf.FormError, match="baseline 'Z' is not one of the configurations: A"):
        bf.plan_from_form(bf.BenchForm(endpoints="A=http://h:1", baseline="Z"), config)


def test_saved_runs_newest_first_and_unreadable_ones_said(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text(rp.to_json(sample_report("2025-10-01T08:00:00+00:00", ("FP16",))))
    (tmp_path / "new.json").write_text(rp.to_json(sample_report("2025-10-02T08:00:00+00:00", ("FP8",))))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"schema": "something/else"}')
    (tmp_path / "new.csv").write_text("ignored")
    runs, note = br.saved_runs(tmp_path)
    assert note == ""
    readable = [r.path.name for r in runs if r.report]
    assert readable == ["new.json", "old.json"]
    errors = {r.path.name: r.error for r in runs if not r.report}
    assert errors["broken.json"].startswith("not JSON") and "schema" in errors["other.json"]
    assert br.saved_runs(tmp_path / "missing") == ([], f"no saved runs yet: {tmp_path / 'missing'} does not exist")
    merged = br.compare([r for r in runs if r.report])
    assert {r.label for r in merged.results} == {"FP16", "FP8"}
    with pytest.raises(ValueError, match=r"broken\.json: not JSON"):
        br.compare(runs)


# ---- Pilot ---------------------------------------------------------------------------------------------------------


async def test_B_runs_a_real_bench_shows_table_and_charts_and_saves(tmp_path: Path, orin_snapshot) -> None:
    with ReplayServer() as slow, ReplayServer() as fast:
        slow.script = Script(frames=token_frames(["x", "y", "z"]), rate=100)
        fast.script = Script(frames=token_frames(["x", "y", "z"]), rate=400)
        app = live_app([orin_snapshot], _config(tmp_path, slow.url))  # jtop telemetry with power: energy figures
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _open(pilot)
            assert screen.query_one("#bench-endpoints", Input).value == slow.url  # from [endpoints] servers
            await wait_for(pilot, lambda: app.runtime.bench.meter.has_samples)  # the runtime's telemetry
            _set(screen, endpoints=f"SLOW={slow.url} FAST={fast.url}", baseline="SLOW")
            await pilot.press("f5")
            await wait_for(pilot, lambda: screen.busy is None and screen.report is not None, timeout=30)
            sent = len(slow.requests), len(fast.requests)
            assert screen.view == "results"
            assert screen.status.startswith("finished: 4 result(s) · saved ")
            rows = _cells(screen)
            assert [(r[0], r[1]) for r in rows] == [("SLOW", "1"), ("SLOW", "2"), ("FAST", "1"), ("FAST", "2")]
            heads = [str(c.label) for c in screen.query_one("#bench-table", DataTable).columns.values()]
            assert heads[:4] == ["config", "conc", "out tok/s", "tok/s vs baseline"] and len(heads) == 11
            for r in rows:
                cell = dict(zip(heads, r, strict=True))
                ttft_p50 = float(cell["TTFT ms p50/95/99"].split("/")[0])
                assert 0 < ttft_p50 < 5000 and float(cell["out tok/s"].replace(",", "")) > 0
                assert float(cell["tok/J"]) > 0  # the meter had the app's telemetry
                assert cell["failed"] == "0"
            assert rows[0][3] == "baseline" and "better" in rows[2][3]  # 400 frames/s beats 100
            charts = screen.query_one("#bench-charts").text
            for c in (1, 2):
                assert f"out tok/s at concurrency {c} (higher is better)" in charts
                assert f"TTFT p50 at concurrency {c}" in charts and f"TPOT p50 at concurrency {c}" in charts
            assert "█" in charts and "  SLOW: replay on " in charts
            head = screen.query_one("#bench-results-head").text
            assert "energy from board power (sum of the rails)" in head and "baseline: SLOW" in head
            saved = sorted((tmp_path / "results").iterdir())
            assert [p.suffix for p in saved] == [".csv", ".json"]
            data = json.loads(saved[1].read_text())
            assert [r["label"] for r in data["results"]] == ["SLOW", "SLOW", "FAST", "FAST"]
            assert data["device"]["device"] == "NVIDIA Jetson AGX Orin (emulated)"  # from the app's snapshot
            assert data["device"]["power_mode"] == "MAXN"
            assert str(saved[1]) in screen.status
            # b: next baseline; m: the chart metric cycles
            await pilot.press("b")
            assert screen.baseline == "FAST" and _cells(screen)[2][3] == "baseline"
            await pilot.press("m")
            assert screen.metric == rp.METRIC_KEYS[0]
            assert "TTFT p50 at concurrency 1" in screen.query_one("#bench-charts").text
            assert "out tok/s at" not in screen.query_one("#bench-charts").text
    # per server: 2 warm-ups + 1 trial x (2 requests at c=1 + 4 at c=2)
    assert sent == (8, 8)


async def test_escape_cancels_a_slow_run_keeps_finished_trials_and_saves(tmp_path: Path) -> None:
    with ReplayServer() as fast, ReplayServer() as slow:
        fast.script = Script(frames=token_frames(["x", "y"]), rate=400)
        slow.script = Script(frames=token_frames([f"t{i}" for i in range(400)]), rate=20)  # 20 s per answer
        app = frozen_app([], REPORT, _config(tmp_path, fast.url))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _open(pilot)
            _set(screen, endpoints=f"FAST={fast.url} SLOW={slow.url}")
            await pilot.press("f5")
            await wait_for(pilot, lambda: len(slow.requests) >= 1, timeout=20)
            await wait_for(pilot, lambda: "SLOW" in screen.query_one("#bench-progress-text").text)
            assert screen.busy == "running" and "SLOW · warm-up" in screen.query_one("#bench-progress-text").text
            t0 = time.monotonic()
            await pilot.press("escape")
            assert isinstance(app.screen, BenchScreen)  # Esc cancels; it does not leave
            await wait_for(pilot, lambda: screen.busy is None, timeout=10)
            assert time.monotonic() - t0 < 5  # not the 20 s the answer would have taken
            assert screen.status.startswith("cancelled: finished trials kept (2 result(s)) · saved ")
            await wait_for(pilot, lambda: "bench" not in app.runtime.runner.services())  # the run's service ended
            assert [(r[0], r[1]) for r in _cells(screen)] == [("FAST", "1"), ("FAST", "2")]
            assert "CANCELLED" in screen.query_one("#bench-results-head").text
            saved = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
            assert saved["cancelled"] is True and len(saved["results"]) == 2
            deadline = time.monotonic() + 5
            while slow.disconnects < 1 and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert slow.disconnects >= 1  # the open stream was closed: the server aborts the request
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_bad_input_is_said_and_nothing_typed_is_lost(tmp_path: Path) -> None:
    app = frozen_app([], REPORT, _config(tmp_path, keys={"bench.run": "f9"}))  # remapped by its id
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        assert screen.status.startswith("F9 or Run starts the bench")
        _set(screen, concurrency="0,x", prompts="/nonexistent/p.jsonl", model="tiny")
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen.busy is None and screen.query_one("#bench-error").text)
        error = screen.query_one("#bench-error").text
        assert "concurrency: concurrency must be whole numbers separated by commas, e.g. 1,4,16, not '0,x'" in error
        assert "prompt file: /nonexistent/p.jsonl: cannot read it" in error
        assert {r.id for r in screen.query(".bench-row.-bad")} == {"row-concurrency", "row-prompts"}
        assert screen.status.startswith("not started")
        form = screen.form_values()
        assert (form.concurrency, form.prompts, form.model) == ("0,x", "/nonexistent/p.jsonl", "tiny")
        assert screen.view == "form" and not (tmp_path / "results").exists()
        _set(screen, concurrency="1")  # fixed: the marks go on the next try
        _set(screen, prompts="")
        _set(screen, endpoints="")
        await pilot.press("f9")
        await wait_for(pilot, lambda: "no server to measure" in screen.query_one("#bench-error").text)
        assert {r.id for r in screen.query(".bench-row.-bad")} == {"row-endpoints"}


async def test_an_unreachable_server_is_said_in_red_and_nothing_saved(tmp_path: Path) -> None:
    app = frozen_app([], REPORT, _config(tmp_path, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.busy is None and screen.notes, timeout=20)
        assert screen.status == "finished: nothing was measured; the notes say why"
        errors = [n.render() for n in screen.query(".bench-note.-error")]
        assert errors and str(errors[0]).startswith("error: 127.0.0.1:9: skipped: cannot reach")
        assert screen.view == "form" and not (tmp_path / "results").exists()


async def test_saved_runs_listed_selected_and_compared(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "bench-a.json").write_text(rp.to_json(sample_report("2025-10-01T08:00:00+00:00", ("FP16", "FP8"))))
    (folder / "bench-b.json").write_text(rp.to_json(sample_report("2025-10-02T08:00:00+00:00", ("NVFP4",))))
    (folder / "bench-c.json").write_text("{broken")
    os.utime(folder / "bench-c.json", (1.6e9, 1.6e9))  # an unreadable file sorts by its mtime (2020)
    app = frozen_app([], REPORT, _config(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: screen.query_one("#bench-saved", DataTable).row_count == 3)
        rows = _cells(screen, "#bench-saved")
        assert [r[5] for r in rows[:2]] == ["bench-b.json", "bench-a.json"]  # newest first
        assert rows[0][1:5] == ["2025-10-02 08:00:00", "NVFP4", "1,4", "3"]
        assert rows[2][1] == "2020-09-13 12:26:40" and rows[2][2].startswith("unreadable: not JSON (line 1")
        await pilot.press("space", "space")  # the two good ones (the cursor moves down)
        assert _cells(screen, "#bench-saved")[0][0] == "*" and _cells(screen, "#bench-saved")[1][0] == "*"
        await pilot.press("c")
        assert screen.view == "results"
        assert [(r[0], r[1]) for r in _cells(screen)] == [
            ("NVFP4", "1"),
            ("NVFP4", "4"),
            ("FP16", "1"),
            ("FP16", "4"),
            ("FP8", "1"),
            ("FP8", "4"),
        ]
        assert screen.query_one("#bench-results-head").text.startswith(
            "comparing 2 saved runs: bench-b.json, bench-a.json"
        )
        assert "out tok/s at concurrency 4" in screen.query_one("#bench-charts").text
        # the broken one, opened alone: said, nothing lost
        await pilot.press("f4")
        await wait_for(pilot, lambda: screen.query_one("#bench-saved", DataTable).row_count == 3)
        notes: list[str] = []
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("slash", *"unreadable", "enter", "enter")
        assert screen.query_one("#bench-saved", DataTable).row_count == 1
        assert notes and notes[0].startswith("cannot compare: bench-c.json: not JSON")
        assert screen.view == "saved" and screen.report is not None


@pytest.mark.parametrize("answer", ["n", "escape", "y"])
async def test_power_ab_asks_first_and_no_changes_nothing(tmp_path: Path, answer: str) -> None:
    power = FakePower(mode="MODE_30W", mode_id=2, record_reads=True)
    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames(["x"]), rate=400)
        app = frozen_app([], REPORT, _config(tmp_path, srv.url, bench_concurrency=(1,)))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            screen = BenchScreen(
                form=bf.BenchForm(endpoints=srv.url, trials="1", concurrency="1", power_ab="MAXN,clocks-on"),
                power=lambda: power,
            )
            await app.push_screen(screen)
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, StrictConfirmScreen))
            text = str(app.screen.query_one("#confirm-text").render())
            assert "now: nvpmodel MODE_30W (id 2), jetson_clocks off" in text
            assert "1. switch to nvpmodel mode MAXN" in text and "2. switch to jetson_clocks on" in text
            assert "3. put back nvpmodel MODE_30W" in text and "original mode is restored" in text
            await pilot.press("enter")  # Enter does not answer a question about the system
            assert isinstance(app.screen, StrictConfirmScreen)
            await pilot.press(answer)
            if answer != "y":
                await wait_for(pilot, lambda: app.screen is screen and screen.busy is None)
                assert screen.status == "power A/B not started: nothing was changed"
                assert power.calls == ["read"] and srv.requests == []
                return
            await wait_for(pilot, lambda: screen.busy is None and screen.report is not None, timeout=30)
            assert power.calls == ["read", "read", "MAXN", "clocks-on", "restore"]  # read to ask, read by the run
            label = f"127.0.0.1:{srv.port}"
            assert [(r[0], r[1]) for r in _cells(screen)] == [(f"{label} @MAXN", "1"), (f"{label} @clocks-on", "1")]
            assert "note: restored MODE_30W" in screen.query_one("#bench-charts").text


async def test_start_screen_palette_help_and_escape(tmp_path: Path) -> None:
    app = frozen_app([], REPORT, _config(tmp_path), start_screen="bench")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BenchScreen))
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Run", "Saved runs", "Results", "Form"} <= titles and "Bench" not in titles  # the dashboard's key
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert "Bench" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("B")
        await wait_for(pilot, lambda: isinstance(app.screen, BenchScreen))
        await pilot.press("f3", "question_mark")
        help_ids = {
            str(r[2])
            for r in (
                app.screen.query_one(DataTable).get_row_at(i) for i in range(app.screen.query_one(DataTable).row_count)
            )
        }
        assert {"bench.run", "bench.compare", "bench.baseline"} <= help_ids and "dashboard.bench" not in help_ids


async def test_ascii_terminal_gets_ascii_bars() -> None:
    app = frozen_app([], REPORT, ascii_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(BenchScreen(report=sample_report(labels=("FP16", "FP8"))))
        await pilot.pause(0.2)
        charts = app.screen.query_one("#bench-charts").text
        assert "FP8  ####" in charts and not set("█▏▎▍▌▋▊▉") & set(charts)


# ---- snapshots -----------------------------------------------------------------------------------------------------


def _results_app():
    app = frozen_app([], REPORT)

    async def show(pilot) -> None:
        await app.push_screen(BenchScreen(report=sample_report(), baseline="FP16"))
        await pilot.pause(0.2)

    return app, show


def test_results_120x40(snap_compare) -> None:
    app, show = _results_app()
    assert snap_compare(app, terminal_size=(120, 40), run_before=show)


def test_results_80x24(snap_compare) -> None:
    app, show = _results_app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=show)
