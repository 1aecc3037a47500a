"""Bench statistics on known inputs: the expected figures are what vLLM 0.32's own
``calculate_metrics`` and numpy printed for the same records (run once in the vLLM venv)."""

from __future__ import annotations

import math

import pytest

from console.bench.stats import (
    Distribution,
    RequestRecord,
    median_of_trials,
    percentile,
    relative_change,
    summarize,
)


def rec(ttft: float, itl: list[float], latency: float, out: int | None, prompt: int = 0) -> RequestRecord:
    return RequestRecord(ok=True, ttft=ttft, itl=itl, latency=latency, output_tokens=out, prompt_tokens=prompt)


def test_percentile_is_numpys_linear_method() -> None:
    values = [0.1, 0.4, 0.2, 0.9, 0.3]
    assert percentile(values, 50) == pytest.approx(0.3)
    assert percentile(values, 95) == pytest.approx(0.8)  # numpy: 0.7999999999999999
    assert percentile(values, 99) == pytest.approx(0.88)
    itl = [0.01, 0.02, 0.05, 0.01]
    assert [percentile(itl, p) for p in (50, 95, 99)] == pytest.approx([0.015, 0.0455, 0.0491])
    assert percentile([], 99) == 0.0  # vLLM: np.percentile(x or 0, p)
    assert percentile([7.0], 99) == 7.0


def test_summarize_matches_vllm_calculate_metrics() -> None:
    records = [
        rec(0.1, [0.02, 0.03], 0.15, 3, 10),
        rec(0.2, [0.05], 0.25, 2, 20),
        RequestRecord(ok=False, error="HTTP 500"),
        rec(0.3, [], 0.3, 1, 5),
    ]
    m = summarize(records, 1.0)
    assert (m.completed, m.failed, m.total_input, m.total_output) == (3, 1, 35, 6)
    assert (m.request_throughput, m.output_throughput, m.total_token_throughput) == pytest.approx((3.0, 6.0, 41.0))
    assert m.ttft.mean * 1000 == pytest.approx(200.0)
    assert [m.ttft.p50 * 1000, m.ttft.p95 * 1000, m.ttft.p99 * 1000] == pytest.approx([200.0, 290.0, 298.0])
    # TPOT only for requests with more than one token: (0.15-0.1)/2 and (0.25-0.2)/1
    assert m.tpot.count == 2
    assert m.tpot.mean * 1000 == pytest.approx(37.5)
    assert [m.tpot.p50 * 1000, m.tpot.p95 * 1000, m.tpot.p99 * 1000] == pytest.approx([37.5, 48.75, 49.75])
    assert [m.itl.p50 * 1000, m.itl.p95 * 1000, m.itl.p99 * 1000] == pytest.approx([30.0, 48.0, 49.6])
    assert m.itl.mean * 1000 == pytest.approx(33.3333333)
    assert [m.e2el.p50 * 1000, m.e2el.p95 * 1000, m.e2el.p99 * 1000] == pytest.approx([250.0, 295.0, 299.0])
    assert m.errors == ("HTTP 500",)


def test_missing_usage_counts_one_token_like_vllm_without_tokenizer() -> None:
    m = summarize([rec(0.1, [0.01, 0.01], 0.12, None)], 2.0)
    assert m.total_output == 1 and m.tpot.count == 0
    assert m.output_throughput == pytest.approx(0.5)


def test_all_failed_and_zero_duration_give_zeros_not_errors() -> None:
    m = summarize([RequestRecord(error="cut"), RequestRecord(error="cut")], 0.0)
    assert m.completed == 0 and m.failed == 2 and m.errors == ("cut",)
    assert m.request_throughput == 0.0 and m.ttft == Distribution()


def test_energy_figures() -> None:
    m = summarize([rec(0.1, [0.01] * 9, 0.2, 10), rec(0.1, [0.01] * 9, 0.2, 10)], 2.0, energy_j=40.0)
    assert m.avg_power_w == pytest.approx(20.0)
    assert m.tokens_per_joule == pytest.approx(0.5)
    assert m.joules_per_token == pytest.approx(2.0)
    assert summarize([rec(0.1, [], 0.1, 1)], 1.0).tokens_per_joule is None


def test_median_of_trials_takes_each_figures_median() -> None:
    trials = [
        summarize([rec(t, [0.01], t + 0.01, 2)], d, energy_j=e)
        for t, d, e in ((0.1, 1.0, 10.0), (0.5, 2.0, 30.0), (0.2, 4.0, 20.0))
    ]
    m = median_of_trials(trials)
    assert m.ttft.p50 == pytest.approx(0.2)
    assert m.output_throughput == pytest.approx(1.0)  # 2/1, 2/2, 2/4 -> median 1.0
    assert m.duration == pytest.approx(2.0)
    assert m.completed == 3 and m.total_output == 6
    assert m.energy_j == pytest.approx(20.0)
    assert m.tokens_per_joule == pytest.approx(0.1)  # 0.2, 0.0667, 0.1 -> 0.1
    with pytest.raises(ValueError):
        median_of_trials([])


def test_median_drops_energy_unless_every_trial_had_it() -> None:
    trials = [summarize([rec(0.1, [0.01], 0.11, 2)], 1.0, energy_j=10.0), summarize([rec(0.1, [0.01], 0.11, 2)], 1.0)]
    assert median_of_trials(trials).energy_j is None


def test_relative_change() -> None:
    assert relative_change(110.0, 100.0) == pytest.approx(0.10)
    assert relative_change(50.0, 100.0) == pytest.approx(-0.5)
    assert relative_change(1.0, 0.0) is None
    assert relative_change(None, 1.0) is None
    assert relative_change(1.0, math.nan) is None
