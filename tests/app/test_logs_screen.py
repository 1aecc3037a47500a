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

from console.runtime.services import docker as docker_service
from console.ui.screens.logs import LogsScreen
from console.ui.widgets.logview import LogView
from tests.app.helpers import live_app, wait_for

CID = "d" * 64
LONG = "x" * 300


def raw_log() -> bytes:
    lines = [f"INFO step {i}" for i in range(1, 31)]
    lines[4] = "WARNING low disk space"
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


class FakeLogs:
    asked: list[tuple[int, bool]] = []

    def __init__(self, url: str) -> None:
        self.url = url

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

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
