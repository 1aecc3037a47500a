"""``jetconsole bench`` (the installed command) against two served configurations of the real vLLM CPU server.

Configuration A is the session's server (``vllm_endpoint``); SEQ1 is a second server of the
same tiny model started with ``--max-num-seqs 1``, so at concurrency 4 its requests queue.
The figures are checked against the servers' own counters (``/metrics``) and the queueing
the second configuration must show; the context against what the servers really run.  The
power A/B and the energy figures use the real jtop service on the emulated Orin.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.doctor.power import read_power, set_clocks, set_mode
from tests.realparts import jetson_emulator as emu
from tests.realparts.vllm_server import (
    SLOW_MAX_MODEL_LEN,
    VLLM_VERSION,
    VllmProcess,
    read_counters,
    settled_counters,
    wait_for_counters,
)

MAX_TOKENS = 16
# what the Ctrl-C test asks of each request: an answer the slow server needs ~30 s for, the prompt beside it
LONG_ANSWER = SLOW_MAX_MODEL_LEN - 64


@pytest.fixture(scope="module")
def seq1_server(vllm_model: Path) -> Iterator[VllmProcess]:
    """A second served configuration: one sequence at a time."""
    server = VllmProcess(vllm_model, extra=("--max-num-seqs", "1"))
    server.start()
    yield server
    server.stop()


def counter(url: str, name: str) -> float:
    """A vLLM counter summed over its label sets (``vllm:generation_tokens_total`` …)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def bench(command: str, config: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [command, "--config", str(config), "bench", *args], capture_output=True, text=True, timeout=timeout
    )


def test_two_configurations_measured_compared_and_saved(
    installed_command: str, vllm_endpoint, seq1_server, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telemetry]\nsource = "procfs"\n')
    out = tmp_path / "results"
    urls = (vllm_endpoint.url, seq1_server.url)
    tokens_before = [counter(u, "vllm:generation_tokens_total") for u in urls]
    done_before = [counter(u, "vllm:request_success_total") for u in urls]
    proc = bench(
        installed_command,
        config,
        "--endpoint",
        f"A={urls[0]}",
        "--endpoint",
        f"SEQ1={urls[1]}",
        "--concurrency",
        "1,4",
        "--trials",
        "2",
        "--requests",
        "8",
        "--warmups",
        "1",
        "--max-tokens",
        str(MAX_TOKENS),
        "--ignore-eos",
        "--baseline",
        "A",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = sorted(out.glob("bench-*.json"))
    assert len(saved) == 1 and saved[0].with_suffix(".csv").is_file()
    report = json.loads(saved[0].read_text())
    results = {(r["label"], r["concurrency"]): r for r in report["results"]}
    assert set(results) == {("A", 1), ("A", 4), ("SEQ1", 1), ("SEQ1", 4)}
    for r in results.values():
        assert len(r["trials"]) == 2 and r["spec_decode"] is None  # no speculative decoding on these servers
        for t in r["trials"]:
            assert (t["completed"], t["failed"]) == (8, 0)
            assert t["total_output"] == 8 * MAX_TOKENS  # ignore_eos: every answer exactly max tokens
            assert 0 < t["ttft"]["p50"] <= t["ttft"]["p95"] <= t["ttft"]["p99"] <= t["e2el"]["p99"]
            assert t["tpot"]["count"] == 8 and t["itl"]["count"] > 0
            assert t["output_throughput"] == pytest.approx(t["total_output"] / t["duration"])
    # what the servers counted: per server 1 warm-up + 2 levels x 2 trials x 8 requests, every token
    for url, tokens0, done0 in zip(urls, tokens_before, done_before, strict=True):
        assert counter(url, "vllm:request_success_total") - done0 == 1 + 2 * 2 * 8
        assert counter(url, "vllm:generation_tokens_total") - tokens0 == (1 + 2 * 2 * 8) * MAX_TOKENS
    # SEQ1 serves one sequence at a time: at concurrency 4 the last request waits for others to finish
    seq1 = results[("SEQ1", 4)]["median"]
    assert seq1["ttft"]["p99"] > results[("SEQ1", 1)]["median"]["e2el"]["p50"]
    # context: what each configuration really is
    a, s = results[("A", 1)]["server"], results[("SEQ1", 1)]["server"]
    assert a["server"] == s["server"] == f"vllm {VLLM_VERSION}"
    assert a["model"] == s["model"] == "tiny" and a["max_model_len"] == 1024
    assert "--max-num-seqs 1" in s["launch"] and "--max-num-seqs" not in a["launch"]
    assert s["launched_by"] == f"process {seq1_server.proc.pid}"  # the server process itself, found by its port
    assert report["device"]["hostname"] and report["settings"]["ignore_eos"] is True
    # the printed comparison: both, the baseline, a relative change, the charts
    assert re.search(r"^\s*SEQ1\s+4\s", proc.stdout, re.M) and "baseline" in proc.stdout
    assert re.search(r"[+-]\d+\.\d% (better|worse)", proc.stdout)
    assert "out tok/s at concurrency 4" in proc.stdout and "TTFT p50 at concurrency 1" in proc.stdout


def test_ctrl_c_cancels_the_requests_on_the_server(installed_command: str, vllm_slow_endpoint, tmp_path: Path) -> None:
    """Ctrl-C in ``jetconsole bench`` closes the requests in flight, and the server aborts them, as its counters say.

    Each trial sends two requests at once, each asking for LONG_ANSWER tokens (ignore_eos): ~30 s on the slow
    server (``vllm_slow_endpoint``). The Ctrl-C comes once the server's gauge shows both running and none of
    them finished, so the trial in flight is the first, tens of seconds from its end. Then the command exits 130
    saying CANCELLED; and the server's counters, once settled (``settled_counters``), show that it handled the
    two requests and no more (the run stopped: the next trials never sent theirs), runs nothing, ran neither to
    its end (``finished``, every finish reason, unchanged), and generated, as a final count, fewer tokens than
    either of the two answers alone asks for."""
    config = tmp_path / "config.toml"
    config.write_text('[telemetry]\nsource = "procfs"\n')
    prompts = tmp_path / "long.jsonl"  # a short prompt, a long answer
    prompts.write_text(json.dumps({"prompt": "Hello", "output_tokens": LONG_ANSWER}) + "\n")
    url = vllm_slow_endpoint.url
    before = read_counters(url)
    proc = subprocess.Popen(
        [
            installed_command,
            "--config",
            str(config),
            "bench",
            "--endpoint",
            url,
            "--concurrency",
            "2",
            "--trials",
            "3",
            "--requests",
            "2",
            "--warmups",
            "0",
            "--prompts",
            str(prompts),
            "--ignore-eos",
            "--out",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background (sh … &) ignores SIGINT,
        # and a child would inherit that and never see the Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        running = wait_for_counters(
            url,
            lambda c: c.running == 2 or proc.poll() is not None,
            "the first trial's two requests running on the server",
        )
        assert proc.poll() is None, f"the bench ended before the Ctrl-C: {proc.communicate()[1][-2000:]}"
        assert running.finished == before.finished, f"a request ended before the Ctrl-C: {before} -> {running}"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-2000:]
    assert "cancelling" in err and "CANCELLED" in out
    after = settled_counters(url, before, requests=2)
    assert after.finished == before.finished, f"the server ran a request to its end: {before} -> {after}"
    generated = after.generated - before.generated
    assert generated < LONG_ANSWER, f"the server generated {generated} tokens of the 2 x {LONG_ANSWER} asked"
    # no trial finished, so none is reported (a report, if one is saved, says it was cancelled and holds no trial)
    for saved in (tmp_path / "r").glob("bench-*.json"):
        report = json.loads(saved.read_text())
        assert report["cancelled"] is True and not [t for r in report["results"] for t in r["trials"]], report


@pytest.fixture
def orin_at_50w(jtop_service) -> Iterator[None]:
    assert set_mode("MODE_50W").ok and set_clocks(False).ok
    yield
    assert set_mode("MAXN").ok and set_clocks(False).ok


def test_power_ab_with_energy_restores_the_mode(
    installed_command: str, vllm_endpoint, orin_at_50w, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.fail("the jtop service fixture needs root")
    config = tmp_path / "config.toml"
    config.write_text('[telemetry]\nsource = "jtop"\n')
    proc = bench(
        installed_command,
        config,
        "--endpoint",
        f"A={vllm_endpoint.url}",
        "--concurrency",
        "1",
        "--trials",
        "1",
        "--requests",
        "3",
        "--max-tokens",
        "8",
        "--power-ab",
        "MAXN,clocks-on",
        "--out",
        str(tmp_path / "r"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert [r["power_mode"] for r in report["results"]] == ["MAXN", "clocks-on"]
    notes = " | ".join(report["notes"])
    assert "power before the A/B: nvpmodel MODE_50W" in notes and "restored mode -> MODE_50W" in notes
    assert "restored clocks -> off" in notes
    state = read_power()
    assert state.mode == "MODE_50W" and state.clocks is False and not emu.clocks_pinned()
    # energy from the jtop rails
    assert report["device"]["power_source"] == "board power (sum of the rails)"
    for r in report["results"]:
        m = r["median"]
        assert m["avg_power_w"] and 1 < m["avg_power_w"] < 200
        assert m["tokens_per_joule"] == pytest.approx(m["output_throughput"] / m["avg_power_w"], rel=1e-6)
        assert m["joules_per_token"] == pytest.approx(1 / m["tokens_per_joule"], rel=1e-6)
