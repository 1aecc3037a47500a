"""Prompt files, the power meter, the saved report (JSON round trip, CSV), the comparison and the bar chart."""

from __future__ import annotations

import csv
import io
import json

import pytest

from console.bench import report as rp
from console.bench.chart import EIGHTHS, bar, chart_lines
from console.bench.energy import PowerMeter, watts_of
from console.bench.prompts import BUILTIN, WORKSHOP_PROMPT, PromptFileError, load_prompts, parse_prompts, to_jsonl
from console.bench.stats import RequestRecord, median_of_trials, summarize
from console.telemetry.model import Gpu, Power, TelemetrySnapshot

# ---- prompts -------------------------------------------------------------------------------


def test_builtin_set_starts_with_the_workshop_prompt() -> None:
    assert BUILTIN[0].text == WORKSHOP_PROMPT and BUILTIN[0].max_tokens == 256
    assert len({p.text for p in BUILTIN}) == len(BUILTIN) >= 5


def test_jsonl_is_vllm_custom_dataset_format_and_round_trips() -> None:
    text = to_jsonl(BUILTIN)
    assert parse_prompts(text) == list(BUILTIN)
    rows = [json.loads(line) for line in text.splitlines()]
    assert set(rows[0]) == {"prompt", "output_tokens"}


def test_jsonl_default_tokens_and_blank_lines() -> None:
    got = parse_prompts('{"prompt": "a"}\n\n{"prompt": "b", "output_tokens": 7}\n', default_max_tokens=99)
    assert [(p.text, p.max_tokens) for p in got] == [("a", 99), ("b", 7)]


def test_plain_text_blocks() -> None:
    got = parse_prompts("first prompt\nstill first\n\n\nsecond\n")
    assert [p.text for p in got] == ["first prompt\nstill first", "second"]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('{"prompt": "a"}\n{"prompt": "b",\n', ":2:", "not JSON"),
        ('{"prompt": "a"}\n{"text": "b"}\n', ":2:", '"prompt"'),
        ('{"prompt": "a", "output_tokens": 0}\n', ":1:", "output_tokens"),
        ('{"prompt": "a", "output_tokens": "many"}\n', ":1:", "output_tokens"),
        ("\n  \n", "", "no prompts"),
    ],
)
def test_bad_prompt_files_say_line_and_what(tmp_path, text: str, where: str, what: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    with pytest.raises(PromptFileError) as exc:
        load_prompts(path)
    assert str(path) + where in str(exc.value) and what in str(exc.value)


def test_unreadable_prompt_file(tmp_path) -> None:
    with pytest.raises(PromptFileError, match="cannot read"):
        load_prompts(tmp_path / "absent.jsonl")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PromptFileError, match="not UTF-8"):
        load_prompts(tmp_path / "bin")


# ---- energy --------------------------------------------------------------------------------


def test_meter_integrates_trapezoids_and_clips_to_the_window() -> None:
    m = PowerMeter()
    for t, w in ((0.0, 10.0), (1.0, 20.0), (2.0, 20.0), (3.0, 10.0)):
        m.add(t, w)
    assert m.joules(0.0, 3.0) == pytest.approx(15 + 20 + 15)
    assert m.joules(0.5, 1.5) == pytest.approx(0.5 * (15 + 20) / 2 + 0.5 * 20)  # 15 at 0.5, 20 at 1.5
    assert m.joules(3.0, 4.0) == pytest.approx(10.0)  # last reading held flat past the end


def test_meter_refuses_to_guess_across_a_stall_or_with_nothing() -> None:
    m = PowerMeter()
    assert m.joules(0.0, 1.0) is None
    m.add(0.0, 10.0)
    m.add(20.0, 10.0)
    assert m.joules(1.0, 19.0) is None  # 20 s without a reading inside the window
    assert m.joules(5.0, 5.0) is None
    m.add(19.0, 5.0)  # out of order: ignored, so the last half second is still at 10 W
    assert m.joules(19.5, 20.0) == pytest.approx(5.0)


def test_watts_from_rails_total_else_gpu_board_power() -> None:
    jetson = TelemetrySnapshot(time=0, power=Power(total_w=31.5))
    assert watts_of(jetson)[0] == 31.5 and "rails" in watts_of(jetson)[1]
    dgpu = TelemetrySnapshot(time=0, gpus=(Gpu("H100", power_w=70.0), Gpu("H100", power_w=72.0)))
    assert watts_of(dgpu) == (142.0, "GPU board power (NVML)")
    assert watts_of(TelemetrySnapshot(time=0)) == (None, "")


# ---- report --------------------------------------------------------------------------------


def _result(
    label: str, concurrency: int, ttft: float, tokens: int, duration: float, energy: float | None = None, mode: str = ""
) -> rp.ConfigResult:
    trial = summarize(
        [
            RequestRecord(
                ok=True,
                ttft=ttft,
                itl=[0.01] * (tokens - 1),
                latency=ttft + 0.01 * (tokens - 1),
                output_tokens=tokens,
                prompt_tokens=5,
            )
        ],
        duration,
        energy,
    )
    server = rp.ServerContext(
        url="http://127.0.0.1:8000/v1",
        model=label.lower(),
        server="vllm 0.32.0",
        launch="vllm serve m --port 8000",
        launched_by="process 1",
    )
    return rp.ConfigResult(label, concurrency, server, (trial,), median_of_trials([trial]), mode)


def _report(*results: rp.ConfigResult) -> rp.BenchReport:
    return rp.BenchReport(
        started="2026-11-23T20:00:00+00:00",
        finished="2026-11-23T20:01:00+00:00",
        tool="jetconsole 0.0",
        device=rp.DeviceContext("thor", "NVIDIA Jetson AGX Thor", "MAXN", True, "board power"),
        settings={"trials": 1},
        results=results,
    )


def test_json_round_trip_keeps_everything() -> None:
    report = _report(_result("FP16", 1, 0.2, 100, 2.0, 50.0), _result("FP8", 1, 0.1, 100, 1.0, 20.0, "MAXN"))
    back = rp.from_dict(json.loads(rp.to_json(report)))
    assert back == report


def test_from_dict_refuses_other_files() -> None:
    with pytest.raises(ValueError, match="not a jetconsole bench result"):
        rp.from_dict({"completed": 3})
    data = rp.to_dict(_report(_result("A", 1, 0.1, 10, 1.0)))
    del data["results"][0]["server"]
    with pytest.raises(ValueError, match="server"):
        rp.from_dict(data)


def test_csv_has_context_medians_and_changes() -> None:
    report = _report(_result("FP16", 1, 0.2, 100, 2.0), _result("FP8", 1, 0.1, 100, 1.0))
    rows = list(csv.DictReader(io.StringIO(rp.to_csv(report, "FP16"))))
    assert [r["label"] for r in rows] == ["FP16", "FP8"]
    fp8 = rows[1]
    assert fp8["server"] == "vllm 0.32.0" and fp8["launch"] == "vllm serve m --port 8000"
    assert fp8["device"] == "NVIDIA Jetson AGX Thor" and fp8["device_power_mode"] == "MAXN"
    assert float(fp8["ttft.p50_ms"]) == pytest.approx(100.0)
    assert float(fp8["output_throughput_tok_per_s"]) == pytest.approx(100.0)
    assert float(fp8["output_throughput_vs_baseline"]) == pytest.approx(1.0)  # 100 tok/s vs 50: +100%
    assert float(fp8["ttft.p50_vs_baseline"]) == pytest.approx(-0.5)
    assert rows[0]["output_throughput_vs_baseline"] == ""


def test_baseline_falls_back_to_the_first_and_changes_read_right() -> None:
    a, b = _result("A", 4, 0.2, 10, 1.0), _result("B", 4, 0.1, 10, 2.0)
    assert rp.baseline_for([a, b], "nope", 4) is a
    assert rp.baseline_for([a, b], "B", 4) is b
    assert rp.baseline_for([a, b], "B", 1) is None
    assert rp.change_text(rp.change(b, a, "ttft.p50"), "lower") == "-50.0% better"
    assert rp.change_text(rp.change(b, a, "output_throughput"), "higher") == "-50.0% worse"
    assert rp.change_text(0.0, "lower") == "±0%"


def test_merge_names_repeated_labels_by_run() -> None:
    one = _report(_result("A", 1, 0.1, 10, 1.0))
    two = rp.BenchReport(**{**one.__dict__, "started": "2026-11-24T08:00:00+00:00"})
    merged = rp.merge([one, two])
    assert [r.label for r in merged.results] == ["A (2026-11-23T20:00:00)", "A (2026-11-24T08:00:00)"]


def test_power_mode_names_the_result() -> None:
    assert _result("FP4", 1, 0.1, 10, 1.0, mode="30W").name == "FP4 @30W"


# ---- chart ---------------------------------------------------------------------------------


def test_bar_resolution() -> None:
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 3) == "█▌"
    assert bar(0.5, 4, ascii_only=True) == "##"
    assert bar(2.0, 2) == "██" and bar(-1, 2) == ""


def eighths(line: str) -> int:
    """A drawn bar's length in eighths of a cell."""
    return sum(8 if ch == "█" else EIGHTHS.index(ch) for ch in line if ch in EIGHTHS.strip())


def test_chart_scales_to_the_largest_and_marks_the_baseline() -> None:
    report = _report(
        _result("FP16", 1, 0.2, 100, 4.0),
        _result("FP8", 1, 0.1, 100, 2.0),
        _result("FP4", 1, 0.05, 100, 1.0),
        _result("FP4", 4, 0.05, 100, 1.0),
    )
    lines = chart_lines(report, "output_throughput", 1, "FP16", width=60)
    assert lines[0].startswith("out tok/s at concurrency 1 (higher is better)")
    fp16, fp8, fp4 = (eighths(line) for line in lines[1:])
    assert fp16 * 4 == pytest.approx(fp4, abs=4)  # 25 vs 100 tok/s
    assert fp8 * 2 == pytest.approx(fp4, abs=2)
    fp16, fp8, fp4 = lines[1:]
    assert fp16.endswith("baseline") and fp4.endswith("+300.0% better")
    assert all(len(line) <= 60 for line in lines)
    assert all("█" not in line for line in chart_lines(report, "ttft.p50", 1, "FP16", 60, ascii_only=True))
    assert chart_lines(report, "ttft.p50", 16) == []


# ---- speculative decoding --------------------------------------------------------------------


def _spec_metrics(drafts: int, draft_tokens: int, accepted: int) -> str:
    lines = []
    for name, value in (("num_drafts", drafts), ("num_draft_tokens", draft_tokens), ("num_accepted_tokens", accepted)):
        lines += [
            f"# HELP vllm:spec_decode_{name} x",
            f"# TYPE vllm:spec_decode_{name} counter",
            f'vllm:spec_decode_{name}_total{{engine="0",model_name="m"}} {value}.0',
        ]
    return "\n".join(lines) + "\n"


def test_spec_decode_acceptance_from_counter_deltas() -> None:
    from console.bench.specdecode import delta

    sd = delta(_spec_metrics(10, 50, 20), _spec_metrics(110, 550, 320))
    assert (sd.drafts, sd.draft_tokens, sd.accepted_tokens) == (100, 500, 300)
    assert sd.acceptance_rate == pytest.approx(0.6)
    assert sd.acceptance_length == pytest.approx(4.0)  # 3 accepted per draft + the target's own token
    plain = "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0.0\n"
    assert delta(plain, plain) is None  # no speculative decoding on this server
    assert delta(_spec_metrics(5, 25, 10), _spec_metrics(5, 25, 10)) is None  # nothing drafted in the run
    assert delta(None, _spec_metrics(1, 5, 2)) is None
    assert delta("not { metrics", _spec_metrics(1, 5, 2)) is None


def test_spec_decode_is_saved_and_shown() -> None:
    from dataclasses import replace

    from console.bench.specdecode import SpecDecode

    eagle = replace(_result("FP4+EAGLE3", 1, 0.1, 100, 1.0), spec_decode=SpecDecode(100, 500, 300))
    report = _report(_result("FP4", 1, 0.1, 100, 2.0), eagle)
    assert rp.from_dict(json.loads(rp.to_json(report))) == report
    row = list(csv.DictReader(io.StringIO(rp.to_csv(report))))[1]
    assert (row["spec_acceptance_rate"], row["spec_acceptance_length"]) == ("0.6000", "4.000")
    assert any(
        "FP4+EAGLE3 at concurrency 1: speculative decoding accepted 60% of 500 draft tokens, 4.00 tokens "
        "per step" in line
        for line in rp.server_lines(report)
    )
