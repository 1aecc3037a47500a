"""The HUD's pure parts: big digits, the layout at workshop sizes, what it says about the server,
terminal detection and the help flag's file."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.chat.wire import ModelInfo
from console.containers.launcher import LaunchEvent
from console.containers.model import ContainerInfo
from console.hud import bigdigits, helpflag
from console.hud.layout import plan, text_row, tile_size
from console.hud.terminal import ascii_only
from console.hud.view import DOWN, ERROR, NONE, READY, STARTING, build, pick_server, server_state, tiles
from console.servers.failures import Diagnosis
from console.servers.metrics import ServerMetrics
from console.servers.registry import ServerRow
from console.servers.startup import StartupState
from console.servers.status import ServerStatus

ROOT = Path(__file__).resolve().parents[2]


# ---- big digits ------------------------------------------------------------------------------------------------


def test_half_block_digits_and_their_size() -> None:
    assert bigdigits.render("42", 1) == ["█ █ ▀▀█", "▀▀█ █▀▀", "  ▀ ▀▀▀"]
    assert bigdigits.size("42", 1) == (7, 3)
    lines = bigdigits.render("42", 2)
    assert bigdigits.size("42", 2) == (14, 5) and len(lines) == 5 and max(map(len, lines)) == 14
    assert bigdigits.render("8", 2)[0] == "██████"  # two pixel rows per text row: full blocks at scale 2
    assert bigdigits.render("tok7/s") == bigdigits.render("7/")  # letters have no glyph and are dropped


def test_ascii_digits_have_no_block_characters() -> None:
    assert bigdigits.render("42.5%", 1, ascii_only=True) == ["     _     _", "|_|  _|   |_  o/", "  | |_  .  _| /o"]
    assert bigdigits.size("42.5%", 1, ascii_only=True) == (16, 3)
    big = bigdigits.render("10", 2, ascii_only=True)
    assert len(big) == 10 and set("".join(big)) <= {"#", " "}
    for scale in (1, 2, 3):
        text = "".join(bigdigits.render("0123456789.:-/%", scale, ascii_only=True))
        assert all(ord(c) < 128 for c in text)


# ---- layout ----------------------------------------------------------------------------------------------------

TILES = tiles(None, None)


@pytest.mark.parametrize(
    ("size", "scale", "columns", "pages"),
    [
        ((40, 10), 1, 1, 3),  # a 40x12 LCD less its two header rows: two figures a page, three pages
        ((80, 22), 1, 2, 1),  # 80x24: all six at once
        ((160, 46), 2, 2, 1),  # 160x48: bigger digits
        ((40, 58), 1, 1, 1),  # portrait: one column, all six
        ((40, 3), 0, 1, 2),  # too short for big digits: text rows, paged
    ],
)
def test_plan_at_workshop_sizes(size: tuple[int, int], scale: int, columns: int, pages: int) -> None:
    p = plan(TILES, *size)
    assert (p.scale, p.columns, len(p.pages)) == (scale, columns, pages)
    assert sorted(i for page in p.pages for i in page) == list(range(len(TILES)))  # every figure on some page
    if p.scale:
        assert p.columns * (p.tile_width - 2) <= size[0]  # fits the width
        rows = -(-max(len(page) for page in p.pages) // p.columns)
        assert rows * p.tile_height - 1 <= size[1]  # and the height
    assert p.rotating == (pages > 1)


def test_tile_size_counts_label_digits_and_unit() -> None:
    gpu = next(t for t in TILES if t.key == "gpu")
    assert tile_size(gpu, 1, False) == (11 + 1 + 1, 4)  # "100" is 11 columns, then " %"; label row + 3 rows
    assert text_row(gpu) == "GPU - %"


# ---- what it says ----------------------------------------------------------------------------------------------

URL = "http://127.0.0.1:8000/v1"


def container(running: bool = True, status: str = "Up 2 minutes") -> ContainerInfo:
    return ContainerInfo("c" * 64, "vllm", "vllm/vllm-openai", "running" if running else "exited", status)


def test_server_state_ready_starting_error_down() -> None:
    row = ServerRow("c" * 64, "vllm", URL, container())
    ready = ServerStatus("http://127.0.0.1:8000", True, 200, models=(ModelInfo("qwen3-8b"),))
    assert server_state(row, ready, None) == (READY, "qwen3-8b", "")
    phase = LaunchEvent("phase", StartupState(phase="load"))
    state, model, detail = server_state(row, ServerStatus("http://127.0.0.1:8000", False), phase)
    assert (state, model, detail) == (STARTING, "vllm", f"{phase.state.progress:.0%} Loading weights")
    oom = Diagnosis("oom", "CUDA out of memory", "", "", "", None)
    failed = LaunchEvent("exited", StartupState(phase="load"), oom, "exited")
    assert server_state(
        dataclasses.replace(row, container=container(False, "Exited (1) 1 minute ago")), None, failed
    ) == (ERROR, "vllm", "CUDA out of memory")
    assert server_state(
        ServerRow(URL, "127.0.0.1:8000", URL),
        ServerStatus("http://127.0.0.1:8000", False, error="ConnectError: [Errno 111] Connection refused"),
        None,
    ) == (DOWN, "127.0.0.1:8000", "not answering ([Errno 111] Connection refused)")
    assert server_state(None, None, None)[0] == NONE
    dead = ServerStatus("http://127.0.0.1:8000", True, 503)
    assert server_state(row, dead, None) == (ERROR, "vllm", "/health answered 503")
    assert server_state(row, dead, phase) == (ERROR, "vllm", "/health answered 503")  # not "STARTING" from a log


def test_pick_server_prefers_a_running_container() -> None:
    endpoint = ServerRow(URL, "127.0.0.1:8000", URL)
    running = ServerRow("c" * 64, "vllm", "http://127.0.0.1:8001/v1", container())
    assert pick_server([endpoint, running], URL) is running
    assert pick_server([endpoint], URL) is endpoint and pick_server([], None) is None


def test_tiles_from_a_snapshot_and_server_metrics(orin_snapshot) -> None:
    from console.telemetry.model import TempSensor

    assert tiles(orin_snapshot, None)[4].value == "-"  # this reading has no thermal zones
    orin_snapshot = dataclasses.replace(orin_snapshot, temps=(TempSensor("cpu", 51.4), TempSensor("gpu", 63.6)))
    status = ServerStatus("http://127.0.0.1:8000", True, 200, metrics=ServerMetrics(running=2, waiting=1, gen_tps=35.6))
    view = build(orin_snapshot, None, status, None, "thor-07", "10.0.0.7", True)
    by = {t.key: t for t in view.tiles}
    assert by["tps"].value == "36" and by["requests"].value == "2/1"
    gpu = orin_snapshot.gpus[0]
    assert by["gpu"].value == f"{gpu.load:.0f}"
    mem = orin_snapshot.memory
    assert by["memory"].value == f"{mem.used / 2**30:.0f}/{mem.total / 2**30:.0f}"  # unified: system RAM
    assert by["temp"].value == "64"
    assert by["power"].value == f"{orin_snapshot.power.total_w:.0f}"
    assert view.head == "thor-07  10.0.0.7" and view.help
    assert tiles(None, None)[0].value == "-"


# ---- terminal --------------------------------------------------------------------------------------------------


def test_ascii_only_where_block_characters_cannot_show() -> None:
    assert ascii_only({"TERM": "linux"}, "UTF-8")
    assert ascii_only({"TERM": "vt220"}, "UTF-8") and ascii_only({"TERM": "dumb"}, "UTF-8")
    assert ascii_only({"TERM": "xterm-256color"}, "ANSI_X3.4-1968")  # LANG=C
    assert not ascii_only({"TERM": "xterm-256color"}, "UTF-8") and not ascii_only({"TERM": "tmux-256color"}, "utf-8")
    assert not ascii_only({"TERM": "linux", "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"}, "UTF-8")
    assert ascii_only({"TERM": "xterm", "JETCONSOLE_ASCII": "1"}, "UTF-8")


# ---- help flag -------------------------------------------------------------------------------------------------


def test_help_flag_file_round_trip(tmp_path: Path) -> None:
    where = tmp_path / "state" / "help-flag"
    assert not helpflag.read(where)
    helpflag.write(True, where)
    assert helpflag.read(where) and where.read_text().startswith("on ")
    assert [p.name for p in where.parent.iterdir()] == ["help-flag"]  # no temp file left
    helpflag.write(False, where)
    assert not helpflag.read(where) and not where.exists()
    helpflag.write(False, where)  # off twice is fine
    where.write_bytes(b"\xff\xfe")
    assert not helpflag.read(where)  # garbage reads as off, never raises


def test_help_flag_says_since_when(tmp_path: Path) -> None:
    """A fleet tile says how long a flag has been up: from the time the file holds, else its mtime."""
    where = tmp_path / "flag"
    assert helpflag.since(where) is None
    before = time.time()
    helpflag.write(True, where)
    since = helpflag.since(where)
    assert since is not None and before - 1 <= since <= time.time() + 1  # the file holds whole seconds
    where.write_text("on\n")
    assert helpflag.since(where) == where.stat().st_mtime
    where.write_text("on yesterday\n")
    assert helpflag.since(where) == where.stat().st_mtime
    helpflag.write(False, where)
    assert helpflag.since(where) is None


def test_help_flag_command_from_any_shell(tmp_path: Path) -> None:
    env = {"JETCONSOLE_HELP_FLAG": str(tmp_path / "flag"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "console", "--config", "/dev/null", "help-flag", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )

    assert cli("status").returncode == 1
    on = cli("on")
    assert on.returncode == 0 and "help flag on" in on.stdout
    assert cli("status").returncode == 0 and (tmp_path / "flag").exists()
    assert cli("off").returncode == 0 and cli("status").returncode == 1
    (tmp_path / "ro").mkdir(mode=0o500)
    env["JETCONSOLE_HELP_FLAG"] = str(tmp_path / "ro" / "sub" / "flag")
    if Path("/proc/self/status").read_text().find("Uid:\t0\t") == -1:  # root writes anywhere
        bad = cli("on")
        assert bad.returncode == 2 and "help flag not changed" in bad.stderr
    bad = cli("sideways")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_bars_and_sparklines_in_ascii_for_limited_terminals() -> None:
    from console.telemetry import view as formatting

    assert formatting.bar(50, 4) == "██··" and formatting.sparkline([0, 100], 2) == "▁█"
    formatting.use_ascii(True)
    try:
        assert formatting.bar(50, 4) == "##.." and formatting.bar(None, 3) == "..."
        assert formatting.sparkline([0, 50, 100], 3) == "_=#"
        assert all(ord(c) < 128 for c in formatting.sparkline([float(v) for v in range(0, 101, 5)], 21))
    finally:
        formatting.use_ascii(False)
    assert formatting.bar(50, 4) == "██··"


def test_a_value_wider_than_its_template_still_fits() -> None:
    wide = [dataclasses.replace(t, value="110/128") if t.key == "memory" else t for t in TILES]
    for size in ((160, 46), (200, 58), (40, 10)):
        p = plan(wide, *size)
        assert p.columns * (p.tile_width - 2) <= size[0]
        memory = next(t for t in wide if t.key == "memory")
        assert tile_size(memory, p.scale, False)[0] <= p.tile_width - 2
    assert plan([], 80, 22).pages == ((),)  # no figures: no crash
    assert text_row(TILES[3], 8) == "MEMORY G"
