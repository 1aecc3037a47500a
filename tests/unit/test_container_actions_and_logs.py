"""Pure parts of issue 15's containers and logs items: pending actions in the state, Docker's
timestamps kept apart, error/warning levels, and the saved log file."""

from __future__ import annotations

import os

from console.containers.logbuffer import LogBuffer, level, split_stamp
from console.containers.logsave import file_name, save_log
from console.runtime import events as ev
from console.runtime.reducer import reduce
from console.runtime.state import ConsoleState


def test_an_action_is_pending_from_sent_until_settled() -> None:
    s = reduce(ConsoleState(), ev.ContainerActionSent("abc", "stop"))
    assert s.docker.pending == {"abc": "stop"} and s.docker.pending_word("abc") == "stopping…"
    s = reduce(s, ev.ContainerActionSent("def", "remove"))
    assert s.docker.pending_word("def") == "removing…"
    s = reduce(s, ev.ContainerActionSettled("abc"))
    assert dict(s.docker.pending) == {"def": "remove"} and s.docker.pending_word("abc") is None
    assert reduce(s, ev.ContainerActionSettled("abc")) is s  # nothing pending for it: the same state


def test_docker_timestamps_are_kept_apart_and_shortened() -> None:
    assert split_stamp("2026-01-05T12:00:01.123456789Z hello world") == ("2026-01-05T12:00:01.123Z", "hello world")
    assert split_stamp("2026-01-05T12:00:01Z x") == ("2026-01-05T12:00:01Z", "x")
    assert split_stamp("no stamp here") == ("", "no stamp here")
    buf = LogBuffer(max_lines=2, timestamps=True)
    buf.feed("2026-01-05T12:00:01.5Z one\n2026-01-05T12:00:02.5Z \x1b[31mtwo\x1b[0m\n2026-01-05T12:00:03.5Z three\n")
    assert buf.texts() == ["two", "three"] and buf.stamps() == ["2026-01-05T12:00:02.5Z", "2026-01-05T12:00:03.5Z"]
    assert [(ln.number, ln.text, ln.stamp) for ln in buf.lines()] == [
        (2, "two", "2026-01-05T12:00:02.5Z"),
        (3, "three", "2026-01-05T12:00:03.5Z"),
    ]
    assert buf.search("three") == [3]


def test_levels() -> None:
    assert level("ERROR boom") == "error" and level("Traceback (most recent call last):") == "error"
    assert level("WARNING low disk") == "warning" and level("W0105 12:00 grpc") == "warning"
    assert level("INFO fine") is None and level("warnings_count=0") is None


def test_saved_log_is_new_private_and_masked(tmp_path) -> None:
    lines = ["INFO ok", "args: --api-key sk-verysecretvalue123 --port 8000"]
    first = save_log(tmp_path / "logs", "vllm/../x", lines, 1_800_000_000.0)
    second = save_log(tmp_path / "logs", "vllm/../x", lines, 1_800_000_000.0)
    assert first != second and first.parent == second.parent == tmp_path / "logs"
    assert first.name == file_name("vllm/../x", 1_800_000_000.0) and "/" not in first.name[:-4]
    assert (first.stat().st_mode & 0o777) == 0o600
    text = first.read_text(encoding="utf-8")
    assert text.startswith("INFO ok\n") and "sk-verysecretvalue123" not in text and "--port 8000" in text


def test_a_log_folder_made_for_saving_is_private_and_an_existing_one_keeps_its_mode(tmp_path) -> None:
    umask = os.umask(0o022)  # the usual one: a folder made without asking would be 0755, readable by all
    try:
        made = save_log(tmp_path / "data" / "logs", "web", ["INFO ok"], 1_800_000_000.0).parent
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o750)
        save_log(shared, "web", ["INFO ok"], 1_800_000_000.0)
    finally:
        os.umask(umask)
    assert (made.stat().st_mode & 0o777) == 0o700
    assert (shared.stat().st_mode & 0o777) == 0o750
