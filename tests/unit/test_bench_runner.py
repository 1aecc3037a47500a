"""The bench client and runner against tests.replay.ReplayServer: what a real server cannot be made
to do on demand (paced frames, a cut stream, an error frame), and the CLI around them.

The real vLLM server runs in tests/realparts/test_bench_vllm.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from console import cli
from console.bench.client import RequestSpec, new_client, send
from console.bench.prompts import Prompt
from console.bench.report import ServerContext
from console.bench.runner import BenchPlan, BenchRun, Note, Progress, Target, TrialDone
from console.chat.endpoints import Endpoint
from tests.bench_fakes import FakePower
from tests.replay import ReplayServer, Script, chunk, token_frames


def one(url: str, spec: RequestSpec) -> object:
    async def go() -> object:
        async with new_client(1) as client:
            return await send(client, Endpoint(url), spec)

    return asyncio.run(go())


SPEC = RequestSpec("replay", "hi", 5, temperature=0.0, ignore_eos=True)


def test_timing_follows_vllm_bench_chunk_rules() -> None:
    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames([f"t{i}" for i in range(5)], prompt_tokens=7), rate=20, first_delay=0.2)
        rec = one(srv.url, SPEC)
        body = srv.requests[0]
    assert rec.ok and rec.error == ""
    # role chunk = first token chunk; 5 content chunks and the finish chunk follow: 6 gaps;
    # the usage chunk (no choices) and [DONE] are not token chunks
    assert len(rec.itl) == 6
    assert rec.output_tokens == 5 and rec.prompt_tokens == 7
    assert rec.ttft >= 0.2
    assert rec.latency >= rec.ttft + 6 * 0.05 * 0.9
    assert rec.latency == pytest.approx(rec.ttft + sum(rec.itl))
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 5 and body["ignore_eos"] is True and body["temperature"] == 0.0
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_http_error_keeps_the_servers_words() -> None:
    with ReplayServer() as srv:
        srv.script = Script(
            status=404,
            body=json.dumps({"error": {"message": "The model `x` does not exist.", "type": "NotFoundError"}}),
        )
        rec = one(srv.url, SPEC)
    assert not rec.ok and "does not exist" in rec.error


def test_cut_stream_and_error_frame_fail_the_request() -> None:
    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames(["a", "b", "c"]), cut_after=3)
        cut = one(srv.url, SPEC)
        srv.script = Script(
            frames=[
                chunk({"role": "assistant", "content": ""}),
                json.dumps({"object": "error", "message": "engine died", "type": "InternalError"}),
                "[DONE]",
            ]
        )
        frame = one(srv.url, SPEC)
        srv.script = Script(frames=["[DONE]"])
        empty = one(srv.url, SPEC)
    assert not cut.ok and "cut" in cut.error
    assert not frame.ok and "engine died" in frame.error
    assert not empty.ok and "no token" in empty.error


def test_unreachable_server_says_so() -> None:
    rec = one("http://127.0.0.1:9/v1", SPEC)
    assert not rec.ok and "cannot reach http://127.0.0.1:9/v1/chat/completions" in rec.error


def _context(target: Target) -> ServerContext:
    from console.bench.context import pick_model

    model, _root, max_len = pick_model(target.endpoint, target.model)
    return ServerContext(url=target.endpoint.url, model=model, max_model_len=max_len)


def _plan(*urls: str, **kw: object) -> BenchPlan:
    fields = {
        "prompts": (Prompt("a", 4), Prompt("b", 4), Prompt("c", 4)),
        "concurrency": (1, 2),
        "trials": 2,
        "warmups": 1,
    }
    fields.update(kw)
    targets = tuple(Target(f"T{i}", Endpoint(u)) for i, u in enumerate(urls))
    return BenchPlan(targets=targets, **fields)  # type: ignore[arg-type]


def test_runner_measures_every_configuration_and_level() -> None:
    events: list[object] = []
    with ReplayServer() as a, ReplayServer() as b:
        for srv in (a, b):
            srv.script = Script(frames=token_frames(["x", "y", "z"]), rate=200)
        plan = _plan(a.url, b.url)
        report = BenchRun(plan, events.append, context=_context).run()
        sent = len(a.requests), len(b.requests)
    # per target: 1 warm-up + 2 trials x (3 requests at c=1 + 4 at c=2: at least twice the concurrency)
    assert sent == (1 + 2 * (3 + 4),) * 2 == (plan.total_requests() // 2,) * 2
    assert [(r.label, r.concurrency) for r in report.results] == [("T0", 1), ("T0", 2), ("T1", 1), ("T1", 2)]
    for r in report.results:
        assert len(r.trials) == 2 and r.median.failed == 0 and r.server.model == "replay"
        assert r.median.total_output == 3 * r.median.completed
        assert r.median.output_throughput > 0 and r.median.ttft.p50 > 0
    assert sum(isinstance(e, TrialDone) for e in events) == 8
    last = [e for e in events if isinstance(e, Progress)][-1]
    assert last.overall_done == last.overall_total == plan.total_requests()
    assert not report.cancelled and report.settings["requests_per_trial"] == {"1": 3, "2": 4}


def test_an_unreachable_configuration_is_skipped_and_said() -> None:
    events: list[object] = []
    with ReplayServer() as srv:
        report = BenchRun(
            _plan("http://127.0.0.1:9", srv.url, trials=1, concurrency=(1,)), events.append, context=_context
        ).run()
    assert [r.label for r in report.results] == ["T1"]
    notes = [e for e in events if isinstance(e, Note) and e.error]
    assert notes and notes[0].text.startswith("T0: skipped: cannot reach")


def test_cancel_closes_the_streams_and_keeps_finished_trials() -> None:
    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames([f"t{i}" for i in range(400)]), rate=100)  # 4 s per answer
        started = threading.Event()
        progress: list[Progress] = []

        def on(e: object) -> None:
            if isinstance(e, Progress) and e.phase == "trial":
                progress.append(e)
                started.set()

        run = BenchRun(_plan(srv.url, warmups=0, concurrency=(2,)), on, context=_context)
        holder: list[object] = []
        worker = threading.Thread(target=lambda: holder.append(run.run()))
        worker.start()
        assert started.wait(10)
        deadline = time.monotonic() + 10
        while len(srv.requests) < 2 and time.monotonic() < deadline:  # both streams open
            time.sleep(0.02)
        time.sleep(0.2)
        t0 = time.monotonic()
        run.cancel()
        worker.join(10)
        assert not worker.is_alive()
        stopped_in = time.monotonic() - t0
        deadline = time.monotonic() + 5
        while srv.disconnects < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        disconnects = srv.disconnects
    report = holder[0]
    assert report.cancelled and report.results == ()  # the first trial never finished
    assert stopped_in < 3.0  # not the 8+ s the trial would have taken
    assert disconnects >= 2  # both open streams were closed, so the server aborts them


def test_power_ab_runs_each_mode_and_always_restores() -> None:
    with ReplayServer() as srv:
        power = FakePower()
        report = BenchRun(
            _plan(srv.url, trials=1, concurrency=(1,), power_modes=("30W", "MAXN")), power=power, context=_context
        ).run()
        assert power.calls == ["30W", "MAXN", "restore"]
        assert [r.name for r in report.results] == ["T0 @30W", "T0 @MAXN"]
        assert "restored MAXN" in report.notes
        failing = FakePower(fail_on="MAXN")
        report = BenchRun(
            _plan(srv.url, trials=1, concurrency=(1,), power_modes=("30W", "MAXN")), power=failing, context=_context
        ).run()
    assert failing.calls == ["30W", "MAXN", "restore"]
    assert [r.name for r in report.results] == ["T0 @30W"]
    assert any("cannot switch to MAXN" in n for n in report.notes)


# ---- the command -----------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--config", "/dev/null", "--source", "procfs", "bench", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_runs_saves_and_compares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "one", "output_tokens": 3}\n{"prompt": "two", "output_tokens": 3}\n')
    with ReplayServer() as a, ReplayServer() as b:
        a.script = Script(frames=token_frames(["x", "y", "z"]), rate=100)
        b.script = Script(frames=token_frames(["x", "y", "z"]), rate=400)
        code, out, err = _cli(
            capsys,
            "--endpoint",
            f"SLOW={a.url}",
            "--endpoint",
            f"FAST={b.url}",
            "--trials",
            "2",
            "--concurrency",
            "1",
            "--prompts",
            str(prompts),
            "--out",
            str(tmp_path / "res"),
            "--baseline",
            "SLOW",
        )
    assert code == 0, err
    assert "SLOW" in out and "FAST" in out and "baseline" in out and "out tok/s at concurrency 1" in out
    fast_row = next(line for line in out.splitlines() if line.lstrip().startswith("FAST ") and " 1 " in line)
    assert "better" in fast_row  # 400 frames/s answers faster than 100
    saved = sorted((tmp_path / "res").glob("bench-*"))
    assert [p.suffix for p in saved] == [".csv", ".json"]
    data = json.loads(saved[1].read_text())
    assert data["settings"]["prompts"] == str(prompts) and data["settings"]["trials"] == 2
    assert data["device"]["device"].endswith("(no GPU telemetry)")  # from the run's own procfs sample
    assert [r["label"] for r in data["results"]] == ["SLOW", "FAST"]
    code, out, _ = _cli(capsys, "--compare", str(saved[1]), "--json")
    assert code == 0 and json.loads(out)["results"][1]["label"] == "FAST"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0,4"], "concurrency levels must be 1 or more"),
        (["--concurrency", "a"], "whole numbers"),
        (["--prompts", "/nonexistent/p.jsonl"], "cannot read"),
        (["--endpoint", "X=ftp://h"], "not an http(s) URL"),
        (["--endpoint", "A=http://h:1", "--endpoint", "A=http://h:2"], "same label"),
        (["--power-ab", "MAXN"], "two modes or more"),
        (["--trials", "0"], "--trials"),
    ],
)
def test_cli_bad_input_is_exit_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = _cli(capsys, *args)
    assert code == 2 and message in err and out == ""


def test_cli_nothing_measured_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "--endpoint", "http://127.0.0.1:9", "--trials", "1", "--out", str(tmp_path))
    assert code == 3 and "skipped: cannot reach" in err
    assert list(tmp_path.iterdir()) == []
