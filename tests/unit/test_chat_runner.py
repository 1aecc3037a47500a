"""run_answer: a real stream from the replay server into a real store, text in batches, every way it ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.chat.client import ChatRequest, ChatStream
from console.chat.endpoints import Endpoint
from console.chat.model import MessageStats
from console.chat.runner import (
    BATCH_S,
    FAST_BATCH_S,
    FAST_CHARS_PER_S,
    SAVE_EVERY_S,
    hand_over_interval,
    run_answer,
)
from console.chat.store import ChatStore
from tests.replay import MODEL, ReplayServer, Script, token_frames, transcript


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    s = ChatStore(tmp_path / "chats.sqlite3")
    yield s
    s.close()


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[str, str, float]] = []
        self.ended: list[tuple[str, MessageStats]] = []
        self.first = threading.Event()

    def text(self, content: str, reasoning: str) -> None:
        self.batches.append((content, reasoning, time.monotonic()))
        self.first.set()

    def end(self, status: str, stats: MessageStats) -> None:
        self.ended.append((status, stats))

    @property
    def content(self) -> str:
        return "".join(b[0] for b in self.batches)

    @property
    def reasoning(self) -> str:
        return "".join(b[1] for b in self.batches)


def stream_for(srv: ReplayServer) -> ChatStream:
    return ChatStream(ChatRequest(Endpoint(srv.url), MODEL, ({"role": "user", "content": "hi"},)))


def new_answer(store: ChatStore) -> tuple[int, int]:
    conv = store.new_conversation("t", model=MODEL)
    store.add_message(conv, "user", "hi")
    return conv, store.start_message(conv)


def wait_until(check, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_whole_answer_in_batches_saved_and_timed(srv: ReplayServer, store: ChatStore) -> None:
    tokens = [f" t{i}" for i in range(80)]
    thoughts = [f"r{i}" for i in range(20)]
    srv.script = Script(frames=token_frames(tokens, reasoning=thoughts, prompt_tokens=13), rate=250)
    conv, mid = new_answer(store)
    rec = Recorder()
    run_answer(stream_for(srv), rec.text, rec.end, store, mid, batch_s=0.05)
    assert rec.content == "".join(tokens) and rec.reasoning == "".join(thoughts)
    assert 3 <= len(rec.batches) < len(tokens) / 2  # batched: neither one call per token nor one at the end
    gaps = [b[2] - a[2] for a, b in zip(rec.batches, rec.batches[1:], strict=False)]
    assert min(gaps[:-1]) >= 0.04  # at most one call per batch_s (the last comes when the stream ends)
    assert all(c or r for c, r, _ in rec.batches)  # never an empty call
    assert len(rec.ended) == 1
    status, stats = rec.ended[0]
    assert status == "done"
    assert (stats.finish_reason, stats.prompt_tokens, stats.completion_tokens, stats.error) == ("stop", 13, 100, None)
    assert stats.ttft is not None and stats.total is not None and stats.ttft < stats.total
    assert stats.decode_tps == pytest.approx(99 / (99 / 250), rel=0.35)  # 100 tokens at 250 frames/s
    saved = store.load(conv).messages[-1]
    assert (saved.id, saved.role, saved.content, saved.reasoning, saved.status) == (
        mid,
        "assistant",
        "".join(tokens),
        "".join(thoughts),
        "done",
    )
    assert saved.stats == stats


def test_without_a_store(srv: ReplayServer) -> None:
    rec = Recorder()
    run_answer(stream_for(srv), rec.text, rec.end)
    assert rec.content == "Hello!" and [s for s, _ in rec.ended] == ["done"]


def test_cut_stream_ends_error_with_the_partial_text_saved(srv: ReplayServer, store: ChatStore) -> None:
    srv.script = Script(frames=token_frames(["Par", "tial", " never"]), cut_after=3)
    conv, mid = new_answer(store)
    rec = Recorder()
    run_answer(stream_for(srv), rec.text, rec.end, store, mid)
    assert rec.content == "Partial"
    status, stats = rec.ended[0]
    assert status == "error"
    assert stats.error is not None and stats.error.startswith("the stream was cut after 2 chunks")
    assert stats.finish_reason is None
    saved = store.load(conv).messages[-1]
    assert (saved.content, saved.status, saved.stats) == ("Partial", "error", stats)


def test_error_frame_ends_error_with_the_servers_message(srv: ReplayServer, store: ChatStore) -> None:
    srv.script = Script(frames=transcript("vllm-0.32-error-midstream.sse"))
    conv, mid = new_answer(store)
    rec = Recorder()
    run_answer(stream_for(srv), rec.text, rec.end, store, mid)
    status, stats = rec.ended[0]
    assert (status, rec.content) == ("error", "Partial answer kept")
    assert stats.error == (
        "EngineCore encountered an issue. See stack trace (above) for the root cause. (InternalServerError)"
    )
    assert store.load(conv).messages[-1].content == "Partial answer kept"


class FailingStore(ChatStore):
    """A real store whose chunk writes fail after ``ok`` of them (the disk filled up)."""

    ok = 2
    written = ""

    def append_many(self, message_id: int, parts: list[tuple[str, str]]) -> None:
        if self.ok <= 0:
            raise OSError(28, "No space left on device")
        self.ok -= 1
        super().append_many(message_id, parts)
        self.written += "".join(text for _, text in parts)


def test_store_failure_ends_the_answer_with_the_saving_error(srv: ReplayServer, tmp_path: Path) -> None:
    srv.script = Script(frames=token_frames([f" w{i}" for i in range(200)]), rate=100)
    store = FailingStore(tmp_path / "c.sqlite3")
    try:
        conv, mid = new_answer(store)
        rec = Recorder()
        started = time.monotonic()
        run_answer(stream_for(srv), rec.text, rec.end, store, mid)
        assert time.monotonic() - started < 1.5  # stopped, not read to the end (2 s of frames)
        status, stats = rec.ended[0]
        assert status == "error"
        assert stats.error == "saving failed, answer stopped: [Errno 28] No space left on device"
        assert rec.content.startswith(" w0 w1 w2") and len(rec.content) < len("".join(f" w{i}" for i in range(200)))
        saved = store.load(conv).messages[-1]
        assert store.written.startswith(" w0") and rec.content.startswith(store.written)
        assert (saved.status, saved.content, saved.stats) == ("error", store.written, stats)  # what was saved
    finally:
        store.close()


class UnfinishableStore(ChatStore):
    def finish_message(self, message_id: int, status: str, stats: MessageStats | None = None) -> None:
        raise OSError(30, "Read-only file system")


def test_finish_failure_keeps_the_status_and_says_the_answer_was_not_saved(srv: ReplayServer, tmp_path: Path) -> None:
    store = UnfinishableStore(tmp_path / "c.sqlite3")
    try:
        _, mid = new_answer(store)
        rec = Recorder()
        run_answer(stream_for(srv), rec.text, rec.end, store, mid)
    finally:
        store.close()
    status, stats = rec.ended[0]
    assert (rec.content, status, stats.finish_reason) == ("Hello!", "done", "stop")
    assert stats.error == "the answer was not saved: [Errno 30] Read-only file system"


def test_deleted_conversation_stops_the_answer(srv: ReplayServer, store: ChatStore) -> None:
    srv.script = Script(frames=token_frames([f" d{i}" for i in range(100)]), rate=100)
    conv, mid = new_answer(store)
    store.delete(conv)  # deleted from the Conversations screen while the answer streamed
    rec = Recorder()
    run_answer(stream_for(srv), rec.text, rec.end, store, mid)
    status, stats = rec.ended[0]
    assert status == "error"
    assert stats.error == f"the answer was not saved: 'no message {mid}'"  # the append failed, then the finish
    assert stats.finish_reason == "abort"  # the stream was stopped at the first failed append
    assert len(rec.content) < len("".join(f" d{i}" for i in range(100)))


def test_cancel_from_another_thread_stops_and_the_server_sees_it(srv: ReplayServer, store: ChatStore) -> None:
    srv.script = Script(frames=token_frames([f" s{i}" for i in range(300)]), rate=40)
    before = srv.disconnects
    conv, mid = new_answer(store)
    stream = stream_for(srv)
    rec = Recorder()
    worker = threading.Thread(target=run_answer, args=(stream, rec.text, rec.end, store, mid))
    worker.start()
    assert rec.first.wait(5.0)
    stream.cancel()
    worker.join(5.0)
    assert not worker.is_alive()
    status, stats = rec.ended[0]
    assert status == "stopped" and stats.finish_reason == "abort" and stats.error is None
    assert rec.content.startswith(" s0") and len(rec.content) < len("".join(f" s{i}" for i in range(300)))
    assert wait_until(lambda: srv.disconnects == before + 1, 3.0), srv.disconnects
    saved = store.load(conv).messages[-1]
    assert (saved.status, saved.stats.finish_reason) == ("stopped", "abort")
    assert saved.content == rec.content  # every chunk shown was saved first


def test_hand_overs_slow_down_only_for_a_stream_faster_than_reading() -> None:
    assert hand_over_interval(300, 0.1) == BATCH_S  # 3,000 chars/s: 10 frames a second
    assert hand_over_interval(0, 0.0) == BATCH_S
    assert hand_over_interval(int(FAST_CHARS_PER_S * 0.1) + 1, 0.1) == FAST_BATCH_S
    assert hand_over_interval(5000, 0.25) == FAST_BATCH_S  # stays slow while the stream stays fast
    assert hand_over_interval(100, 0.25) == BATCH_S  # and comes back when it calms down
    assert hand_over_interval(5000, 0.1, batch_s=0.5) == 0.5  # never faster than asked


class CountingStore(ChatStore):
    commits = 0

    def append_many(self, message_id: int, parts: list[tuple[str, str]]) -> None:
        self.commits += 1
        super().append_many(message_id, parts)


def test_a_fast_stream_is_saved_whole_in_a_commit_every_50_ms_not_one_a_token(
    srv: ReplayServer, tmp_path: Path
) -> None:
    """A commit a token cost a fast stream a third of its speed: what arrives is committed at most SAVE_EVERY_S
    apart and when the answer ends, and nothing of it is lost."""
    tokens = [f" w{i}" for i in range(3000)]
    srv.script = Script(frames=token_frames(tokens))  # as fast as the socket takes them
    store = CountingStore(tmp_path / "c.sqlite3")
    try:
        conv, mid = new_answer(store)
        rec = Recorder()
        started = time.monotonic()
        run_answer(stream_for(srv), rec.text, rec.end, store, mid)
        took = time.monotonic() - started
        assert rec.ended[0][0] == "done" and store.load(conv).messages[-1].content == "".join(tokens)
        assert 1 <= store.commits <= took / SAVE_EVERY_S + 2 < len(tokens)
    finally:
        store.close()
