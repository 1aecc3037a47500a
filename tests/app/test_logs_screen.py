"""The logs screen through Pilot (issue 15): jumps scroll to and mark the line, errors and warnings are
marked (bold/italic besides colour), timestamps and wrap toggle, the tail size cycles, the log saves.

Docker is a fake source (``FakeLogs``) where the runtime's Docker service connects: it answers with a
fixed log in Docker's timestamped form and records what was asked (the real-daemon twin is
tests/realparts/test_containers_ui.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from console.containers.logbuffer import LogBuffer
from console.runtime.secrets import MASK
from console.runtime.services import docker as docker_service
from console.ui.screens.logs import LogsScreen
from console.ui.widgets import logview
from console.ui.widgets.logview import LogView
from tests.app.helpers import live_app, wait_for
from tests.app.test_containers_screen import FakeDocker

CID = "d" * 64
LONG = "x" * 300
KEY = "sk-abc123def456ghi789jkl"


def raw_log() -> bytes:
    lines = [f"INFO step {i}" for i in range(1, 31)]
    lines[4] = "WARNING low disk space"
    lines[10] = f"non-default args: {{'model': 'm', 'api_key': '{KEY}', 'port': 8000}}"
    lines[11] = f"launching vllm serve m --api-key {KEY} --port 8000"
    lines[19] = "ERROR boom \x1b]0;evil title\x07 done"
    lines[24] = "needle here"
    lines[26] = "serving with HF_TOKEN=hf_SECRETSECRET123 set"
    lines[27] = LONG
    return "".join(f"2026-01-05T12:00:{i:02d}.123456789Z {text}\n" for i, text in enumerate(lines)).encode()


class FakeStream:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self):
        yield raw_log()
        self.closed.wait(10)

    def close(self) -> None:
        self.closed.set()


class FakeLogs(FakeDocker):
    """The fake Docker source, with a log stream that gives one batch and then waits."""

    asked: list[tuple[int, bool]] = []

    def logs(self, container_id: str, tail: int = 2000, follow: bool = True, timestamps: bool = False) -> Any:
        FakeLogs.asked.append((tail, timestamps))
        return FakeStream()


@pytest.fixture
def fake_logs(monkeypatch: pytest.MonkeyPatch) -> type[FakeLogs]:
    FakeLogs.asked = []
    monkeypatch.setattr(docker_service, "DockerSource", FakeLogs)
    return FakeLogs


async def open_logs(pilot, app, folder: Path) -> LogsScreen:
    screen = LogsScreen(CID, "web", save_folder=folder)
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.buffer.total == 30)
    await pilot.pause()
    return screen


def visible(view: LogView) -> list[tuple[str, list[Any]]]:
    """Each visible row's text and its segments' styles."""
    rows = []
    for y in range(view.scrollable_content_region.height):
        strip = view.render_line(y)
        rows.append((strip.text, [seg.style for seg in strip if seg.text.strip()]))
    return rows


def row_of(view: LogView, needle: str) -> tuple[str, list[Any]]:
    return next(row for row in visible(view) if needle in row[0])


async def test_error_jump_and_search_scroll_to_and_mark_the_line(orin_snapshot, fake_logs, tmp_path) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(100, 16)) as pilot:
        screen = await open_logs(pilot, app, tmp_path)
        view = screen.query_one(LogView)
        assert not any("ERROR boom" in text for text, _ in visible(view))  # followed to the end: out of sight
        await pilot.press("e")
        assert screen.at == 20
        _, styles = row_of(view, "ERROR boom")
        assert all(s.reverse for s in styles)  # the line it jumped to is marked
        assert "at line 20" in screen.query_one("#log-status").text
        await pilot.press("slash", *"needle", "enter")
        assert screen.at == 25
        _, styles = row_of(view, "needle here")
        assert all(s.reverse for s in styles)
        _, error_styles = row_of(view, "ERROR boom")
        assert not any(s.reverse for s in error_styles)  # only the current line is marked


async def test_errors_bold_and_warnings_italic_besides_colour(orin_snapshot, fake_logs, tmp_path) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_logs(pilot, app, tmp_path)
        view = screen.query_one(LogView)
        await pilot.press("space")  # pause: nothing is marked
        _, error = row_of(view, "ERROR boom")
        _, warning = row_of(view, "WARNING low disk")
        _, plain = row_of(view, "INFO step 4")
        assert all(s.bold and s.color is not None for s in error)
        assert all(s.italic and s.color is not None for s in warning)
        assert not any(s.bold or s.italic for s in plain)
        assert "\x1b" not in row_of(view, "ERROR boom")[0] and "\x07" not in row_of(view, "ERROR boom")[0]


async def test_timestamps_wrap_and_tail(orin_snapshot, fake_logs, tmp_path) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_logs(pilot, app, tmp_path)
        view = screen.query_one(LogView)
        assert fake_logs.asked == [(2000, True)]  # Docker's own timestamps are always read, shown on t
        assert row_of(view, "INFO step 30")[0].startswith("INFO step 30")
        await pilot.press("t")
        assert row_of(view, "INFO step 30")[0].startswith("2026-01-05T12:00:29.123Z INFO step 30")
        assert "timestamps on: Docker's, UTC" in screen.query_one("#log-status").text
        await pilot.press("t")
        assert row_of(view, "INFO step 30")[0].startswith("INFO step 30")

        assert view.virtual_size.height == 30
        await pilot.press("w")
        width = view.scrollable_content_region.width
        assert view.virtual_size.height == 30 + -(-len(LONG) // width) - 1  # the long line takes rows
        assert sum(text.count("x") for text, _ in visible(view)) == len(LONG)  # all of it, nothing cut
        await pilot.press("w")
        assert view.virtual_size.height == 30

        await pilot.press("T")
        await wait_for(pilot, lambda: fake_logs.asked[-1] == (-1, True) and screen.buffer.total == 30)
        assert "tail all" in screen.query_one("#log-status").text
        await pilot.press("T")
        await wait_for(pilot, lambda: fake_logs.asked[-1] == (100, True))
        assert len(fake_logs.asked) == 3


async def test_save_writes_the_cleaned_lines_with_secrets_masked(orin_snapshot, fake_logs, tmp_path) -> None:
    app = live_app([orin_snapshot])
    notices: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        original = app.notify
        app.notify = lambda message, *a, **kw: (notices.append(message), original(message, *a, **kw))[1]
        await open_logs(pilot, app, tmp_path)
        await pilot.press("t", "ctrl+s")
        await wait_for(pilot, lambda: any(n.startswith("Saved 30 lines to ") for n in notices))
        [saved] = list(tmp_path.glob("web-*.log"))
        assert str(saved) in notices[-1]
        text = saved.read_text(encoding="utf-8")
        lines = text.splitlines()
        assert len(lines) == 30 and lines[0] == "2026-01-05T12:00:00.123Z INFO step 1"
        assert "\x1b" not in text and "\x07" not in text and "ERROR boom" in text
        assert "hf_SECRETSECRET123" not in text and "HF_TOKEN=" in text


async def test_credentials_are_masked_on_screen_and_in_search(orin_snapshot, fake_logs, tmp_path) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_logs(pilot, app, tmp_path)
        view = screen.query_one(LogView)
        await pilot.press("space")  # paused at the top: every line in sight
        shown = "\n".join(text for text, _ in visible(view))
        assert f"'api_key': '{MASK}', 'port': 8000" in shown and f"--api-key {MASK} --port 8000" in shown
        assert f"HF_TOKEN={MASK} set" in shown
        assert KEY not in shown and "sk-abc" not in shown and "hf_SECRET" not in shown
        await pilot.press("slash", *"sk-abc", "enter")
        assert screen.matches == [] and screen.at is None  # the key is not there to be found
        await pilot.press("slash", *"api-key", "enter")
        assert screen.matches == [12] and KEY not in row_of(view, "--api-key")[0]


# ---- a batch costs the view what the batch holds, not the whole buffer (a 10,000 lines/s flood) ----------------
class ViewApp(App[None]):
    CSS = "LogView { height: 10; }"

    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__()
        self.buffer = buffer

    def compose(self) -> ComposeResult:
        yield LogView(self.buffer, id="incremental")
        yield LogView(self.buffer, id="reference")


def batch(start: int, count: int) -> str:
    """``count`` Docker lines from number ``start``: some long (they wrap), a few without a stamp."""
    rows = []
    for n in range(start, start + count):
        text = f"INFO line {n} " + "y" * (n * 37 % 150)
        rows.append(text if n % 7 == 0 else f"2026-01-05T12:00:{n % 60:02d}.123456789Z {text}")
    return "".join(row + "\n" for row in rows)


@pytest.mark.parametrize("wrap", [True, False])
async def test_a_batch_measures_only_its_own_lines(monkeypatch, wrap) -> None:
    buffer = LogBuffer(10_000, timestamps=True)
    app = ViewApp(buffer)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one("#incremental", LogView)
        view.set_options(wrap=wrap, timestamps=True)
        buffer.feed(batch(0, 10_000))
        view.lines_changed()
        await pilot.pause()
        measured: list[str] = []
        copied: list[str] = []
        real_cell_len, real_prefix = logview.cell_len, LogView._prefix
        monkeypatch.setattr(logview, "cell_len", lambda text: measured.append(text) or real_cell_len(text))
        monkeypatch.setattr(LogView, "_prefix", lambda self, i: measured.append(str(i)) or real_prefix(self, i))
        monkeypatch.setattr(LogBuffer, "texts", lambda self: copied.append("texts") or list(self._lines))
        monkeypatch.setattr(LogBuffer, "stamps", lambda self: copied.append("stamps") or list(self._stamps))
        buffer.feed(batch(10_000, 100))  # the buffer is full: 100 old lines go, 100 new come
        view.lines_changed()
        assert len(measured) <= 2 * 100 and copied == []  # the 100 new lines, not the 10,000 kept
        assert view.line_count == 10_000 and view.buffer.first_number == 101


@pytest.mark.parametrize(("wrap", "timestamps"), [(True, True), (True, False), (False, True), (False, False)])
async def test_batch_by_batch_lays_out_as_all_at_once(wrap, timestamps) -> None:
    """Lines appended and old ones cut batch by batch give the rows, widths and drawing of counting all again."""
    buffer = LogBuffer(60, timestamps=True)
    app = ViewApp(buffer)
    async with app.run_test(size=(80, 24)) as pilot:
        view, reference = app.query_one("#incremental", LogView), app.query_one("#reference", LogView)
        view.set_options(wrap=wrap, timestamps=timestamps)
        view.auto_scroll = reference.auto_scroll = False
        buffer.feed(batch(0, 20))  # more rows than the view: the scroll bar is there from now on
        view.lines_changed()
        await pilot.pause()  # laid out at its real width: the batches below are counted one by one
        recounts: list[int] = []
        full_count = view._layout
        view._layout = lambda: (recounts.append(1), full_count())[1]  # type: ignore[method-assign]
        n = 20
        for size in (5, 40, 1, 30, 0, 100, 7, 59):  # within the bound, over it, more than it keeps at once
            buffer.feed(batch(n, size))
            n += size
            view.lines_changed()
        await pilot.pause()
        assert recounts == []  # compared below: what the batches built, not a count of everything again
        assert not wrap or view._base > 0  # wrapped rows of lines cut off the front were taken off
        reference.set_options(wrap=wrap, timestamps=timestamps)
        reference.lines_changed()
        await pilot.pause()
        assert view.line_count == reference.line_count == 60
        assert view.virtual_size.height == reference.virtual_size.height
        if wrap:
            assert view.virtual_size == reference.virtual_size
        else:  # never narrower: the width of lines long gone is kept until the next full count
            assert view.virtual_size.width >= reference.virtual_size.width
        assert [view._row_of(i) for i in range(60)] == [reference._row_of(i) for i in range(60)]
        for top in range(0, view.virtual_size.height, 7):
            view.scroll_to(y=top, animate=False, immediate=True)
            reference.scroll_to(y=top, animate=False, immediate=True)
            assert [view.render_line(y).text for y in range(10)] == [reference.render_line(y).text for y in range(10)]
        view.show_line(buffer.first_number + 30)
        assert any(f"INFO line {buffer.first_number + 30} " in view.render_line(y).text for y in range(10))


async def test_the_width_does_not_follow_each_dropped_line() -> None:
    """A width that shrank whenever the widest line left the buffer laid the whole screen out at each batch of a
    flood (the containers benchmark: 2.6x the terminal output and 1.4x the CPU of the Log widget before)."""
    buffer = LogBuffer(50, timestamps=True)
    app = ViewApp(buffer)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one("#incremental", LogView)
        buffer.feed("x" * 300 + "\n" + batch(0, 49))
        view.lines_changed()
        await pilot.pause()
        wide = view.virtual_size.width
        assert wide >= 300
        buffer.feed(batch(49, 60))  # the 300-cell line leaves the buffer
        view.lines_changed()
        assert view.virtual_size.width == wide and view.buffer.first_number > 1


async def test_wide_characters_count_two_cells_in_the_scroll_width() -> None:
    buffer = LogBuffer(50, timestamps=True)
    app = ViewApp(buffer)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one("#incremental", LogView)
        buffer.feed("日本語" * 40 + "\n")
        view.lines_changed()
        await pilot.pause()
        assert view.virtual_size.width == 240  # 120 characters, two cells each
