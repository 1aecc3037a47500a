"""The model-fit screen driven by keys: it shows what ``jetconsole fit`` computes for the same inputs.

The device's memory is injected (a meminfo file read by the real ``device_memory``, or a fixed
``DeviceMemory``), so nothing depends on this machine; config.json files are real files.
"""

from __future__ import annotations

import json
import shlex
import threading
from functools import partial
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from console.cli import build_parser
from console.config import Config
from console.fit.device import DeviceMemory, device_memory
from console.fit.model import FitError
from console.fit.report import command_line, fit_args, report, table_rows, vllm_flags
from console.runtime import events as ev
from console.telemetry.discovery import Discovery
from console.themes import load_themes
from console.ui.app import JetconsoleApp
from console.ui.messages import RuntimeEvent
from console.ui.screens.fit import FitScreen
from tests.app.helpers import frozen_app, ramp, wait_for
from tests.app.test_snapshots import REPORT

MEMINFO = "MemTotal:       128787600 kB\nMemFree:        100000000 kB\nMemAvailable:   120000000 kB\n"
# Llama-3.1-8B's attention and size fields (meta-llama/Llama-3.1-8B-Instruct config.json).
LLAMA_31_8B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "max_position_embeddings": 131072,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 128256,
}
THOR = DeviceMemory(128787600 * 1024, 120000000 * 1024, "Thor, fixed for the test: system RAM", unified=True)


class FitApp(JetconsoleApp):
    """The fit screen pushed as the app will push it, over an app whose runtime has no telemetry source
    (the screen's reads are the runtime's fit service; the memory is the test's)."""

    def __init__(self, screen: FitScreen | None = None) -> None:
        super().__init__(
            Config(),
            load_themes(),
            remember_theme=False,
            watch_docker=False,
            poll_servers=False,
            hud_sources=False,
            discover_fn=lambda: Discovery(sources=[], report=REPORT),
        )
        self.fit_screen = screen

    def on_mount(self) -> None:  # Textual calls JetconsoleApp.on_mount after this one
        if self.fit_screen is not None:
            self.call_later(self.push_screen, self.fit_screen)  # over the dashboard the app starts on


def _events(posted: list[object], kind: type) -> list:
    """The runtime's one-shot events of ``kind`` the app handed to its screens."""
    return [m.event for m in posted if isinstance(m, RuntimeEvent) and isinstance(m.event, kind)]


@pytest.fixture
def meminfo(tmp_path: Path) -> Path:
    path = tmp_path / "meminfo"
    path.write_text(MEMINFO)
    return path


@pytest.fixture
def llama(tmp_path: Path) -> Path:
    model = tmp_path / "Llama-3.1-8B-Instruct"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(LLAMA_31_8B, indent=2))
    return model


def cli(meminfo: Path, *argv: str) -> dict:
    """What ``jetconsole fit ARGV --json`` reports."""
    return report(build_parser().parse_args(["fit", *argv]), meminfo)


def text(screen: FitScreen, name: str) -> str:
    return screen.query_one(f"#fit-{name}").text


def assert_shows(screen: FitScreen, r: dict) -> None:
    """The screen holds and shows the CLI's figures: each row of its table, the verdict and the flags."""
    assert screen.report == r
    table = text(screen, "table")
    for label, value, _ in table_rows(r):
        if label != "fits":
            assert f"{label:<20}{value:>11}" in table
    assert text(screen, "verdict") == ("FITS: " if r["fits"] else "DOES NOT FIT: ") + r["reason"]
    flags = vllm_flags(r)
    assert flags is None or f"  {flags}\n" in text(screen, "flags")


async def type_into(pilot, field: str, value: str) -> None:
    box = pilot.app.screen.query_one(f"#fit-{field}", Input)
    box.focus()
    await pilot.press("ctrl+a", "ctrl+k", *value)


# ---- the form's arguments are the CLI's ---------------------------------------------------------------------------


def test_form_arguments_and_command_line_round_trip(llama: Path, meminfo: Path) -> None:
    args = fit_args(
        config=f" {llama} ", params="8B", quant="nvfp4", context="65536", concurrency=" 4", kv_dtype="fp8", util=""
    )
    line = command_line(args)
    assert line == shlex.join(
        [
            "jetconsole",
            "fit",
            "--config",
            str(llama),
            "--params",
            "8B",
            "--quant",
            "nvfp4",
            "--context",
            "65536",
            "--concurrency",
            "4",
            "--kv-dtype",
            "fp8",
        ]
    )
    parsed = build_parser().parse_args(shlex.split(line)[1:])
    assert report(parsed, meminfo) == report(args, meminfo)
    assert command_line(fit_args(params="8B")) == "jetconsole fit --params 8B"  # defaults left out


# ---- Pilot ----------------------------------------------------------------------------------------------------------


async def test_typed_config_shows_what_the_cli_computes(llama: Path, meminfo: Path) -> None:
    posted: list[object] = []
    screen = FitScreen(memory=partial(device_memory, meminfo))
    app = FitApp(screen)
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await wait_for(pilot, lambda: screen.query_one("#fit-config", Input).has_focus)
        await pilot.press(*str(llama))  # the config field has focus; a model directory is enough
        await pilot.press("tab", *"8B")
        await wait_for(pilot, lambda: screen.report is not None and screen.report["params"] == 8 * 10**9)
        r = cli(meminfo, "--config", str(llama), "--params", "8B")
        assert r["kv_bytes_per_token"] == 131072  # domain.md §6: 2 x 32 x 8 x 128 x 2
        assert_shows(screen, r)
        assert "= 131,072 B" in text(screen, "table")
        assert screen.query_one("#fit-verdict").has_class("-fits")
        flags = text(screen, "flags")
        assert "  --gpu-memory-utilization 0.85 --max-model-len 32768\n" in flags  # as the CLI test has it
        assert f"  {command_line(screen.form_args())}" in flags
        assert command_line(screen.form_args()) == f"jetconsole fit --config {llama} --params 8B"
    # Typing 60-odd characters did not read config.json per key: the reads wait for a pause in the typing.
    # (A loaded CI machine can pause mid-path, so a stray read of a prefix is allowed; one per key is not.)
    reads = _events(posted, ev.FitConfigRead)
    assert 1 <= len(reads) <= 3 < len(str(llama))
    assert reads[-1].error is None and reads[-1].text == str(llama)
    assert len(_events(posted, ev.FitMemoryRead)) == 1


async def test_reads_happen_off_the_event_loop(llama: Path) -> None:
    threads: list[threading.Thread] = []

    def memory() -> DeviceMemory:
        threads.append(threading.current_thread())
        return THOR

    screen = FitScreen(config_path=llama, params="8B", memory=memory)
    async with FitApp(screen).run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen.report is not None)
        assert threads and threads[0] is not threading.main_thread()
        assert screen.report["mem_total_bytes"] == THOR.total and screen.report["memory_source"] == THOR.source


async def test_prefilled_fields_and_precision_changes_weights(llama: Path, meminfo: Path) -> None:
    screen = FitScreen(
        config_path=str(llama), params="8B", context=65536, concurrency=2, memory=partial(device_memory, meminfo)
    )
    async with FitApp(screen).run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen.report is not None)
        assert_shows(
            screen, cli(meminfo, "--config", str(llama), "--params", "8B", "--context", "65536", "--concurrency", "2")
        )
        bf16 = screen.report["weights_bytes"]
        select = screen.query_one("#fit-quant", Select)
        select.focus()
        await pilot.press("enter")  # open the list; "from config.json" is highlighted
        await pilot.press(*["down"] * 8, "enter")  # BF16 FP16 FP8 INT8 INT4 AWQ GPTQ NVFP4
        await wait_for(pilot, lambda: screen.report["quant"] == "nvfp4")
        r = cli(
            meminfo,
            "--config",
            str(llama),
            "--params",
            "8B",
            "--context",
            "65536",
            "--concurrency",
            "2",
            "--quant",
            "nvfp4",
        )
        assert_shows(screen, r)
        assert r["weights_bytes"] == int(8e9 * 0.5625) < bf16
        assert "--quant nvfp4" in text(screen, "flags")
        kv = screen.query_one("#fit-kv", Select)
        kv.focus()
        await pilot.press("enter", "down", "enter")  # auto -> fp8
        await wait_for(pilot, lambda: screen.report["kv_dtype"] == "fp8")
        r = cli(
            meminfo,
            "--config",
            str(llama),
            "--params",
            "8B",
            "--context",
            "65536",
            "--concurrency",
            "2",
            "--quant",
            "nvfp4",
            "--kv-dtype",
            "fp8",
        )
        assert_shows(screen, r)
        assert r["kv_bytes_per_token"] == 65536 and "--kv-cache-dtype fp8" in text(screen, "flags")


async def test_malformed_config_names_the_path_and_loses_nothing(
    llama: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # short relative paths to type; the messages name them as typed
    bad = Path("bad") / "config.json"
    bad.parent.mkdir()
    bad.write_text('{\n  "num_hidden_layers": 32,\n  "hidden_size" 4096\n}\n')
    screen = FitScreen(config_path=llama, params="8B", memory=lambda: THOR)
    async with FitApp(screen).run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen.report is not None)
        good = screen.report
        await type_into(pilot, "config", "bad")
        want = f"--config: {bad} is not valid JSON: line 3, column 17: Expecting ':' delimiter"
        await wait_for(pilot, lambda: screen.error == want)  # the CLI's message, without "jetconsole fit: "
        assert "last input that could be computed" in text(screen, "error")
        assert text(screen, "error").startswith(want)
        assert screen.query_one("#row-config").has_class("-bad")
        assert screen.query_one("#fit-results").has_class("-stale")
        # Nothing lost: the fields keep what was typed, the last figures stay (marked stale).
        assert screen.query_one("#fit-config", Input).value == "bad"
        assert screen.query_one("#fit-params", Input).value == "8B"
        assert screen.report == good
        await type_into(pilot, "config", "nope.json")
        await wait_for(pilot, lambda: screen.error == "--config: cannot read nope.json: No such file or directory")
        assert screen.query_one("#row-config").has_class("-bad")
        Path("list.json").write_text("[1, 2]")
        await type_into(pilot, "config", "list.json")
        await wait_for(pilot, lambda: screen.error == "--config: list.json holds a JSON list, not an object")
        Path("short.json").write_text('{"num_attention_heads": 32, "hidden_size": 4096}')
        await type_into(pilot, "config", "short.json")
        await wait_for(pilot, lambda: screen.error is not None and screen.error.startswith("--config: short.json: "))
        assert "'num_hidden_layers'" in screen.error
        await type_into(pilot, "config", str(llama.relative_to(tmp_path)))
        await wait_for(pilot, lambda: screen.error is None)
        assert screen.report == good | {"config": "Llama-3.1-8B-Instruct/config.json"}
        assert not screen.query_one("#row-config").has_class("-bad")
        assert not screen.query_one("#fit-error").display
        assert not screen.query_one("#fit-results").has_class("-stale")


async def test_bad_number_is_said_inline_then_fixed(llama: Path, meminfo: Path) -> None:
    screen = FitScreen(config_path=llama, memory=partial(device_memory, meminfo))
    async with FitApp(screen).run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen.report is not None)
        assert screen.report["params_source"] == "estimated from config.json"
        await type_into(pilot, "params", "abc")
        await wait_for(pilot, lambda: screen.error is not None)
        assert screen.error == "--params: cannot read 'abc'; write e.g. 8B, 70b, 1.5B, 500M or 8e9"
        assert screen.query_one("#row-params").has_class("-bad")
        await type_into(pilot, "context", "long")
        await wait_for(pilot, lambda: screen.error is not None and "--params" in screen.error)  # first error first
        await type_into(pilot, "params", "70B")
        await wait_for(pilot, lambda: screen.error == "--context: 'long' is not an integer")
        assert screen.query_one("#row-context").has_class("-bad")
        assert not screen.query_one("#row-params").has_class("-bad")
        await type_into(pilot, "context", "8192")
        await wait_for(pilot, lambda: screen.error is None and screen.report["context"] == 8192)
        r = cli(meminfo, "--config", str(llama), "--params", "70B", "--context", "8192")
        assert_shows(screen, r)
        assert not r["fits"] and screen.query_one("#fit-verdict").has_class("-nofit")
        assert "nothing fits" in text(screen, "flags")


async def test_figures_wrap_to_the_width_and_rewrap_on_resize(llama: Path) -> None:
    screen = FitScreen(config_path=llama, params="8B", concurrency=4, memory=lambda: THOR)
    async with FitApp(screen).run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: screen.report is not None)
        table = screen.query_one("#fit-table")

        def widest() -> int:
            return max(len(line) for line in table.text.splitlines())

        narrow = table.text
        assert widest() <= table.content_size.width < 80
        await pilot.resize_terminal(160, 40)
        await wait_for(pilot, lambda: table.text != narrow)
        assert widest() <= table.content_size.width
        assert len(table.text.splitlines()) < len(narrow.splitlines())  # fewer continuation lines


async def test_empty_form_asks_for_input_and_memory_errors_stay_on_the_screen() -> None:
    def broken() -> DeviceMemory:
        raise FitError("/proc/meminfo has no MemTotal")

    screen = FitScreen(memory=broken)
    async with FitApp(screen).run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "parameter count" in text(screen, "error"))
        assert screen.error is None and screen.query_one("#fit-error").has_class("-hint")
        await type_into(pilot, "params", "8B")
        await wait_for(pilot, lambda: screen.error == "/proc/meminfo has no MemTotal")
        assert screen.report is None


async def test_tab_walks_the_fields_and_esc_closes(llama: Path) -> None:
    screen = FitScreen(config_path=llama, memory=lambda: THOR)
    app = FitApp(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen.report is not None)
        order = []
        for _ in range(8):
            order.append(app.focused.id)
            await pilot.press("tab")
        assert order == [
            "fit-config",
            "fit-params",
            "fit-quant",
            "fit-context",
            "fit-concurrency",
            "fit-kv",
            "fit-util",
            "fit-results",
        ]
        await pilot.press("f2")
        assert app.clipboard == vllm_flags(screen.report)
        await pilot.press("f3")
        assert app.clipboard == f"jetconsole fit --config {llama}"
        screen.query_one("#fit-quant", Select).focus()
        await pilot.press("enter")  # the list opens; the first Esc closes only the list
        assert screen.query_one("#fit-quant", Select).expanded
        await pilot.press("escape")
        assert app.screen is screen and not screen.query_one("#fit-quant", Select).expanded
        await pilot.press("escape")
        assert app.screen is not screen


# ---- snapshots ----------------------------------------------------------------------------------------------------


def _snapshot_app(orin_snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kw):
    """The real app with the fit screen on top; paths relative to a fixed working directory, memory fixed."""
    model = tmp_path / "Llama-3.1-8B-Instruct"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(LLAMA_31_8B))
    monkeypatch.chdir(tmp_path)
    screen = FitScreen(config_path="Llama-3.1-8B-Instruct", memory=lambda: THOR, **kw)

    async def run_before(pilot) -> None:
        pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen.report is not None)
        await pilot.pause()

    return frozen_app(ramp(orin_snapshot), REPORT), run_before


def test_fit_screen_120x40(snap_compare, orin_snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, run_before = _snapshot_app(orin_snapshot, tmp_path, monkeypatch, params="8B", concurrency=4)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_fit_screen_does_not_fit_80x24(
    snap_compare, orin_snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, run_before = _snapshot_app(orin_snapshot, tmp_path, monkeypatch, params="70B")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_prefilled_int4_and_unknown_formats_do_not_crash() -> None:
    """The review found FitScreen(quant="int4"/"w4a16") crashed the Select; every normalised format opens."""
    from console.fit.sizing import BYTES_PER_PARAM
    from console.ui.screens.fit import FitScreen

    for quant in ("int4", "w4a16", *BYTES_PER_PARAM):
        app = FitApp()
        async with app.run_test() as pilot:
            await app.push_screen(FitScreen(quant=quant, params="8B", memory=lambda: None))
            await pilot.pause()
            assert isinstance(app.screen, FitScreen)
