"""The SQLite chat store: round trips, search, streaming chunks, crash recovery, threads, refusing bad files."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console.chat.model import MessageStats
from console.chat.store import SCHEMA_VERSION, ChatStore, StoreError, default_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path):
    s = ChatStore(tmp_path / "nested" / "dir" / "chats.sqlite3")
    yield s
    s.close()


def test_creates_parents_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "chats.sqlite3"
    ChatStore(path).close()
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ChatStore(path).close()  # reopening an existing store is fine


def test_default_path_is_in_the_user_data_dir() -> None:
    path = default_path()
    assert path.name == "chats.sqlite3" and "jetconsole" in path.parts


def test_round_trip(store: ChatStore) -> None:
    settings = {"system": "Be brief.\nVery.", "temperature": 0.7, "extra": {"top_k": 20}}
    cid = store.new_conversation("First", endpoint="http://h:8000/v1", model="qwen", settings=settings)
    store.add_message(cid, "system", "Be brief.")
    store.add_message(cid, "user", "Hi ✓")
    stats = MessageStats(
        ttft=0.123, total=2.5, prompt_tokens=12, completion_tokens=40, decode_tps=16.1, finish_reason="stop"
    )
    aid = store.add_message(cid, "assistant", "Hello!", reasoning="think", stats=stats)
    conv = store.load(cid)
    assert (conv.id, conv.title, conv.endpoint, conv.model, conv.settings) == (
        cid,
        "First",
        "http://h:8000/v1",
        "qwen",
        settings,
    )
    assert [(m.role, m.content, m.status) for m in conv.messages] == [
        ("system", "Be brief.", "done"),
        ("user", "Hi ✓", "done"),
        ("assistant", "Hello!", "done"),
    ]
    answer = conv.messages[-1]
    assert answer.id == aid and answer.reasoning == "think" and answer.stats == stats
    assert conv.messages[0].stats is None
    assert conv.created <= conv.messages[0].created <= answer.created <= conv.updated


def test_load_unknown_raises_keyerror(store: ChatStore) -> None:
    with pytest.raises(KeyError):
        store.load(999)
    with pytest.raises(KeyError):
        store.add_message(999, "user", "x")
    with pytest.raises(KeyError):
        store.rename(999, "x")


def test_update_settings_changes_only_what_is_given(store: ChatStore) -> None:
    cid = store.new_conversation("c", endpoint="e1", model="m1", settings={"a": 1})
    store.update_settings(cid, model="m2")
    conv = store.load(cid)
    assert (conv.endpoint, conv.model, conv.settings) == ("e1", "m2", {"a": 1})
    store.update_settings(cid, endpoint="e2", settings={"b": [1, 2]})
    conv = store.load(cid)
    assert (conv.endpoint, conv.model, conv.settings) == ("e2", "m2", {"b": [1, 2]})
    with pytest.raises(KeyError):
        store.update_settings(12345, model="x")


def test_rename_and_delete(store: ChatStore) -> None:
    keep = store.new_conversation("keep")
    gone = store.new_conversation("gone")
    store.add_message(gone, "user", "bye")
    mid = store.start_message(gone)
    store.append(mid, "content", "partial")
    store.rename(keep, "kept ✓")
    assert store.load(keep).title == "kept ✓"
    store.delete(gone)
    assert [c.id for c in store.conversations()] == [keep]
    with pytest.raises(KeyError):
        store.load(gone)
    with pytest.raises(KeyError):
        store.delete(gone)
    with pytest.raises(KeyError):
        store.append(mid, "content", "after delete")
    with sqlite3.connect(store.path) as conn:  # nothing of it is left behind
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0


def test_newest_first_by_last_message(store: ChatStore) -> None:
    a = store.new_conversation("a")
    b = store.new_conversation("b")
    c = store.new_conversation("c")
    assert [s.id for s in store.conversations()] == [c, b, a]
    store.add_message(a, "user", "bump")
    assert [s.id for s in store.conversations()] == [a, c, b]
    mid = store.start_message(b)
    assert [s.id for s in store.conversations()] == [b, a, c]
    store.add_message(c, "user", "bump")
    store.finish_message(mid, "done")
    assert [s.id for s in store.conversations()] == [b, c, a]
    store.rename(a, "renamed")  # renaming does not reorder
    summaries = store.conversations()
    assert [s.id for s in summaries] == [b, c, a]
    assert {s.id: s.message_count for s in summaries} == {a: 1, b: 1, c: 1}


def test_summary_snippet_defaults_to_first_user_message(store: ChatStore) -> None:
    cid = store.new_conversation("t", model="llama")
    store.add_message(cid, "system", "system text")
    store.add_message(cid, "user", "What   is\nthe airspeed velocity of an unladen swallow, African or European?")
    (summary,) = store.conversations()
    assert summary.model == "llama" and summary.message_count == 2
    assert summary.snippet.startswith("What is the airspeed") and "\n" not in summary.snippet
    assert len(summary.snippet) <= 61 and summary.snippet.endswith("…")


def test_search_title_body_reasoning_case_insensitive(store: ChatStore) -> None:
    t = store.new_conversation("Kubernetes notes")
    store.add_message(t, "user", "nothing here")
    b = store.new_conversation("other")
    store.add_message(b, "user", "intro")
    store.add_message(b, "assistant", "x" * 200 + " the ÜBERSETZUNG of the word " + "y" * 200)
    r = store.new_conversation("third")
    store.add_message(r, "assistant", "answer", reasoning="hidden Übersetzung thought")
    store.new_conversation("unrelated")

    assert [s.id for s in store.conversations("kubernetes")] == [t]
    assert store.conversations("KUBERNETES")[0].snippet == "nothing here"
    hits = store.conversations("übersetzung")
    assert [s.id for s in hits] == [r, b]
    body = hits[1].snippet
    assert "ÜBERSETZUNG" in body and body.startswith("…") and body.endswith("…") and len(body) <= 62
    assert "Übersetzung" in hits[0].snippet
    assert store.conversations("no such text") == []
    assert store.conversations("100%") == [] and store.conversations("_") == []  # no LIKE wildcards
    assert len(store.conversations("")) == 4


def test_search_finds_unfinished_streamed_text_across_chunks(store: ChatStore) -> None:
    cid = store.new_conversation("streaming")
    store.add_message(cid, "user", "go")
    mid = store.start_message(cid)
    for piece in ["The answer ", "is forty", "-two, said Deep", " Thought"]:
        store.append(mid, "content", piece)
    hits = store.conversations("FORTY-TWO")  # split over two chunks
    assert [h.id for h in hits] == [cid] and "forty-two" in hits[0].snippet
    assert store.load(cid).messages[-1].status == "streaming"  # still ours, not interrupted
    store.finish_message(mid, "done")
    assert [h.id for h in store.conversations("deep thought")] == [cid]


def test_streaming_folds_chunks_in_order(store: ChatStore) -> None:
    cid = store.new_conversation("s")
    mid = store.start_message(cid)
    partial = store.load(cid).messages[0]
    assert (partial.id, partial.role, partial.status, partial.content) == (mid, "assistant", "streaming", "")
    for i in range(50):
        store.append(mid, "reasoning" if i < 10 else "content", f"[{i}]")
    store.append(mid, "content", "")  # nothing to store
    mid_way = store.load(cid).messages[0]
    assert mid_way.reasoning == "".join(f"[{i}]" for i in range(10))
    assert mid_way.content == "".join(f"[{i}]" for i in range(10, 50))
    stats = MessageStats(ttft=0.05, completion_tokens=50, finish_reason="length")
    store.finish_message(mid, "stopped", stats)
    done = store.load(cid).messages[0]
    assert (done.content, done.reasoning, done.status, done.stats) == (
        mid_way.content,
        mid_way.reasoning,
        "stopped",
        stats,
    )
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
        assert conn.execute("SELECT content FROM messages WHERE id = ?", (mid,)).fetchone()[0] == done.content
    with pytest.raises(ValueError):
        store.append(mid, "content", "after finish")
    with pytest.raises(ValueError):
        store.append(mid, "tool", "x")
    with pytest.raises(ValueError):
        store.finish_message(mid, "streaming", None)
    with pytest.raises(ValueError):
        store.add_message(cid, "user", "x", status="bogus")


def test_append_many_is_one_commit_with_runs_of_a_kind_joined(store: ChatStore) -> None:
    cid = store.new_conversation("s")
    mid = store.start_message(cid)
    store.append_many(
        mid,
        [
            ("reasoning", "a"),
            ("reasoning", "b"),
            ("content", "c"),
            ("content", ""),
            ("content", "d"),
            ("reasoning", "e"),
        ],
    )
    store.append_many(mid, [])
    store.append_many(mid, [("content", "")])
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT kind, text FROM chunks WHERE message_id = ? ORDER BY id", (mid,)).fetchall()
    assert rows == [("reasoning", "ab"), ("content", "cd"), ("reasoning", "e")]
    with pytest.raises(ValueError):
        store.append_many(mid, [("content", "x"), ("tool", "y")])  # refused whole: nothing of it is written
    store.finish_message(mid, "done")
    done = store.load(cid).messages[0]
    assert (done.reasoning, done.content) == ("abe", "cd")


def test_other_process_leftover_is_interrupted_and_can_be_closed(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = ChatStore(path)
    cid = first.new_conversation("x")
    mid = first.start_message(cid)
    first.append(mid, "reasoning", "hmm ")
    first.append(mid, "content", "half an ans")
    # a second store on the same file (as after a restart) did not start that message
    with ChatStore(path) as second:
        msg = second.load(cid).messages[0]
        assert (msg.status, msg.content, msg.reasoning) == ("interrupted", "half an ans", "hmm ")
        second.finish_message(mid, "interrupted", None)
        msg = second.load(cid).messages[0]
        assert (msg.status, msg.content, msg.reasoning) == ("interrupted", "half an ans", "hmm ")
    first.close()


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    s = ChatStore(tmp_path / "c.sqlite3")
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.conversations()


def test_newer_schema_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE conversations (id INTEGER PRIMARY KEY, future_column TEXT)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        ChatStore(path)
    assert str(path) in str(err.value) and "newer" in str(err.value) and "Upgrade jetconsole" in str(err.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "payload",
    [
        b"this is my shopping list, not a database\n" * 100,
        b"SQLite format 3\x00" + bytes(range(256)) * 64,  # the right magic, garbage after it
    ],
)
def test_corrupt_file_is_refused_and_byte_identical(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "chats.sqlite3"
    path.write_bytes(payload)
    with pytest.raises(StoreError) as err:
        ChatStore(path)
    assert str(path) in str(err.value)
    assert path.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chats.sqlite3"]  # no -wal / -shm / journal either


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="something else"):
        ChatStore(path)
    assert path.read_bytes() == before


def test_threads_append_concurrently(store: ChatStore) -> None:
    n_threads, n_chunks = 8, 300
    cids = [store.new_conversation(f"t{i}") for i in range(n_threads)]
    mids = [store.start_message(cid) for cid in cids]
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(n_chunks):
                store.append(mids[k], "content", f"{k}:{i};")
                if i % 50 == 0:
                    store.add_message(cids[(k + 1) % n_threads], "user", f"from {k} at {i}")
                    store.conversations("from")
            store.finish_message(mids[k], "done", MessageStats(completion_tokens=n_chunks))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for k, cid in enumerate(cids):
        messages = store.load(cid).messages
        answer = next(m for m in messages if m.id == mids[k])
        assert answer.content == "".join(f"{k}:{i};" for i in range(n_chunks)) and answer.status == "done"
        assert sum(m.role == "user" for m in messages) == n_chunks // 50


CRASH_SCRIPT = """
import sys
from pathlib import Path
from console.chat.store import ChatStore
store = ChatStore(Path(sys.argv[1]))
cid = store.new_conversation("doomed")
store.add_message(cid, "user", "count for me")
mid = store.start_message(cid)
print("started", cid, mid, flush=True)
i = 0
while True:
    store.append(mid, "reasoning" if i % 7 == 0 else "content", f"<{i}>")
    print(i, flush=True)
    i += 1
"""


def test_kill_9_while_streaming_keeps_every_acknowledged_chunk(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[:1] == ["started"], proc.stderr.read() if proc.stderr else first
        cid, mid = int(first[1]), int(first[2])
        acknowledged = -1
        while acknowledged < 250:
            line = proc.stdout.readline()
            assert line, "the writer stopped early"
            acknowledged = int(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with ChatStore(path) as store:
        (summary,) = store.conversations()
        assert summary.id == cid and summary.message_count == 2
        assert [s.id for s in store.conversations("<250>")] == [cid]  # unfinished text is searchable
        user, answer = store.load(cid).messages
        assert user.content == "count for me" and answer.id == mid and answer.status == "interrupted"
        # everything acknowledged is there, in order; it may have got further before the kill, never less
        n = answer.content.count("<") + answer.reasoning.count("<")
        assert n > acknowledged
        assert answer.content == "".join(f"<{i}>" for i in range(n) if i % 7)
        assert answer.reasoning == "".join(f"<{i}>" for i in range(n) if i % 7 == 0)
