"""Conversations on disk: one SQLite file, safe to call from worker threads, crash-tolerant while streaming.

Streamed answers go in as append-only rows of a ``chunks`` table, committed as each chunk of the HTTP
stream brings them (:meth:`ChatStore.append_many`), so a token costs a small insert however long the
answer grows. :meth:`ChatStore.finish_message` folds the chunks into the message row and drops them.
If the process dies mid-answer the chunks stay on disk and :meth:`ChatStore.load` returns the message
rebuilt from them with status ``interrupted``.

WAL with ``synchronous=NORMAL``: a commit survives the process being killed (the OS has the pages); only a
power loss may drop the last few commits.

Credentials are never written: every text a write brings (titles, messages, streamed chunks, settings
such as ``extra_body``, the endpoint URL, an error in the stats) is masked on its way in
(``console.runtime.secrets``). A secret split across two streamed chunks is masked when they are folded.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from console.chat.model import ChatMessage, Conversation, ConversationSummary, MessageStats, extra_fields
from console.runtime.secrets import mask_data, mask_prose, mask_url

SCHEMA_VERSION = 2  # 2: messages.extra (images, tool calls, the shape's check, the mode)
STATUSES = frozenset({"done", "streaming", "stopped", "error", "interrupted"})
KINDS = frozenset({"content", "reasoning"})
SNIPPET_LEN = 60
_SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE conversations (
    id       INTEGER PRIMARY KEY,
    title    TEXT NOT NULL,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    endpoint TEXT NOT NULL DEFAULT '',
    model    TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX conversations_updated ON conversations(updated);
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL DEFAULT '',
    reasoning       TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'done',
    stats           TEXT,
    created         REAL NOT NULL,
    extra           TEXT
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
-- Streamed pieces not yet folded into their message. Transient (emptied by finish_message), so it has neither
-- an index nor a foreign key: each append is a single b-tree insert, twice as fast as with them. The store
-- checks the message itself and deletes chunks by hand. A new row id is above every row present, so "ORDER BY id"
-- is stream order.
CREATE TABLE chunks (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    text       TEXT NOT NULL
);
"""


class StoreError(Exception):
    """The chat store cannot be used: unreadable, foreign, too new or closed. The message says which file."""


def default_path() -> Path:
    """Where the chats live by default: ``<user data dir>/jetconsole/chats.sqlite3``."""
    import platformdirs

    return platformdirs.user_data_path("jetconsole") / "chats.sqlite3"


@functools.lru_cache(maxsize=64)
def _pattern(needle: str) -> re.Pattern[str]:
    return re.compile(re.escape(needle), re.IGNORECASE)


def _matches(text: str | None, needle: str) -> int:
    """SQL function ``jc_match(text, needle)``: case-insensitive (Unicode) containment."""
    return int(text is not None and _pattern(needle).search(text) is not None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _snippet(text: str, needle: str = "") -> str:
    """About SNIPPET_LEN characters of ``text`` on one line, around the first match of ``needle`` if given."""
    match = _pattern(needle).search(text) if needle else None
    if match is None:
        flat = _one_line(text[: SNIPPET_LEN * 4])
        return flat if len(flat) <= SNIPPET_LEN else flat[: SNIPPET_LEN - 1].rstrip() + "…"
    lead = max(0, (SNIPPET_LEN - len(needle)) // 3)
    start = max(0, match.start() - lead)
    end = start + SNIPPET_LEN
    if end > len(text):
        end, start = len(text), max(0, len(text) - SNIPPET_LEN)
    piece = _one_line(text[start:end])
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def _settings_blob(settings: dict[str, Any]) -> str:
    return json.dumps(mask_data(settings, mask_prose), ensure_ascii=False)


def _extra_blob(extra: dict[str, Any] | None) -> str | None:
    """A message's ``extra`` (image references, tool calls, the check): masked as everything written is."""
    return json.dumps(mask_data(extra, mask_prose), ensure_ascii=False) if extra else None


def _json_or_none(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _stats_blob(stats: MessageStats | None) -> str | None:
    return json.dumps(mask_data(stats.to_dict(), mask_prose)) if stats is not None else None


class ChatStore:
    """Conversations and their messages in one SQLite file. Every method may be called from any thread."""

    def __init__(self, path: Path) -> None:
        """Open (or create, parent folders included) the store at ``path``.

        Raises :class:`StoreError` naming the file if it is not a SQLite database, is damaged, belongs to
        something else, or was written by a newer jetconsole. The file is never modified or removed then.
        """
        self.path = Path(path).expanduser()
        self._lock = threading.RLock()
        self._live: set[int] = set()  # messages this instance started and has not finished
        self._last_time = 0.0
        self._conn: sqlite3.Connection | None = self._open()

    # -- opening -----------------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for the chat store {where}: {exc}") from exc
        if self.path.exists():
            try:
                with self.path.open("rb") as fh:
                    head = fh.read(len(_SQLITE_HEADER))
            except OSError as exc:
                raise StoreError(f"cannot read the chat store {where}: {exc}") from exc
            if head and head != _SQLITE_HEADER:
                raise StoreError(
                    f"{where} is not a SQLite database, so it cannot hold chats. It was left as it is: "
                    "move or rename it, or pass another path, and jetconsole starts a new store."
                )
        try:
            conn = sqlite3.connect(where, check_same_thread=False, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the chat store {where}: {exc}") from exc
        try:
            self._check_and_migrate(conn, where)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_and_migrate(self, conn: sqlite3.Connection, where: str) -> None:
        try:  # read-only probes first: a damaged or foreign file raises here, before anything is written
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the chat store {where} is damaged or not a database ({exc}). It was left as it is: "
                "move it aside (keep it if its chats matter) and jetconsole starts a new store."
            ) from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the chat store {where} has schema version {version}, newer than this jetconsole knows "
                f"({SCHEMA_VERSION}). Upgrade jetconsole, or use another path; the file was left as it is."
            )
        if version == 0 and tables:
            raise StoreError(
                f"{where} is a SQLite database of something else (tables: {', '.join(sorted(tables))}). "
                "It was left as it is: pass another path for the chat store."
            )
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.create_function("jc_match", 2, _matches, deterministic=True)
            if version == 0:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            elif version == 1:  # a store of before images: one column more, nothing rewritten
                conn.execute("BEGIN IMMEDIATE")
                try:  # another process may have migrated it since the version was read: looked at again, locked
                    columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
                    if "extra" not in columns:
                        conn.execute("ALTER TABLE messages ADD COLUMN extra TEXT")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot set up the chat store {where}: {exc}") from exc

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the chat store {self.path} is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; sqlite trouble other than a broken constraint -> StoreError."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"chat store {self.path}: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise StoreError(f"chat store {self.path}: {exc}") from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN")  # one snapshot for all the reads of a call
            except sqlite3.Error as exc:
                raise StoreError(f"chat store {self.path}: {exc}") from exc
            try:
                yield conn
            except sqlite3.Error as exc:
                raise StoreError(f"chat store {self.path}: {exc}") from exc
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _now(self) -> float:
        """Wall-clock time, strictly increasing within this store so "newest first" never ties."""
        now = max(time.time(), self._last_time + 1e-6)
        self._last_time = now
        return now

    @staticmethod
    def _need_conversation(conn: sqlite3.Connection, conv_id: int) -> None:
        if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conv_id,)).fetchone() is None:
            raise KeyError(f"no conversation {conv_id}")

    def _touch(self, conn: sqlite3.Connection, conv_id: int) -> None:
        conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (self._now(), conv_id))

    # -- conversations -----------------------------------------------------------------------------------------

    def new_conversation(
        self, title: str, endpoint: str = "", model: str = "", settings: dict[str, Any] | None = None
    ) -> int:
        """Create an empty conversation and return its id."""
        blob = _settings_blob(settings or {})
        with self._tx() as conn:
            now = self._now()
            cur = conn.execute(
                "INSERT INTO conversations (title, created, updated, endpoint, model, settings) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (mask_prose(title), now, now, mask_url(endpoint), model, blob),
            )
            return int(cur.lastrowid or 0)

    def update_settings(
        self,
        conv_id: int,
        *,
        endpoint: str | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Change what is given (``settings`` replaces the whole dict); KeyError for an unknown id.

        Does not move the conversation in the newest-first list: only messages do.
        """
        changes: dict[str, Any] = {}
        if endpoint is not None:
            changes["endpoint"] = mask_url(endpoint)
        if model is not None:
            changes["model"] = model
        if settings is not None:
            changes["settings"] = _settings_blob(settings)
        with self._tx() as conn:
            self._need_conversation(conn, conv_id)
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                conn.execute(f"UPDATE conversations SET {assignments} WHERE id = ?", (*changes.values(), conv_id))

    def rename(self, conv_id: int, title: str) -> None:
        """Set the title; KeyError for an unknown id. Does not move it in the newest-first list."""
        with self._tx() as conn:
            if (
                conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (mask_prose(title), conv_id)).rowcount
                == 0
            ):
                raise KeyError(f"no conversation {conv_id}")

    def delete(self, conv_id: int) -> None:
        """Remove a conversation with its messages and any unfinished chunks; KeyError for an unknown id."""
        with self._tx() as conn:
            self._need_conversation(conn, conv_id)
            gone = {mid for (mid,) in conn.execute("SELECT id FROM messages WHERE conversation_id = ?", (conv_id,))}
            conn.execute(
                "DELETE FROM chunks WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = ?)", (conv_id,)
            )
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conv_id,))
            conn.execute("DELETE FROM conversations WHERE id = ?", (conv_id,))
            self._live -= gone

    def conversations(self, search: str = "") -> list[ConversationSummary]:
        """All conversations, newest first; with ``search``, only those whose title or any message text
        (reasoning and unfinished streamed text included) contains it, case-insensitively.

        ``snippet``: about 60 characters around the first match in the messages, else the start of the
        first user message.
        """
        needle = search.strip()
        with self._read() as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.updated, c.model, "
                "  (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id), "
                "  (SELECT substr(m.content, 1, ?) FROM messages m "
                "     WHERE m.conversation_id = c.id AND m.role = 'user' ORDER BY m.id LIMIT 1) "
                "FROM conversations c ORDER BY c.updated DESC, c.id DESC",
                (SNIPPET_LEN * 4,),
            ).fetchall()
            if not needle:
                return [
                    ConversationSummary(
                        id=cid,
                        title=title,
                        updated=updated,
                        model=model,
                        message_count=count,
                        snippet=_snippet(first or ""),
                    )
                    for cid, title, updated, model, count, first in rows
                ]
            # the first matching message of each conversation: finished text in SQL, unfinished from its chunks
            first_hit: dict[int, tuple[int, str]] = {}
            for cid, mid, content, reasoning in conn.execute(
                "SELECT conversation_id, id, content, reasoning FROM messages "
                "WHERE id IN (SELECT min(id) FROM messages "
                "             WHERE jc_match(content, ?1) OR jc_match(reasoning, ?1) "
                "             GROUP BY conversation_id)",
                (needle,),
            ):
                first_hit[cid] = (mid, content if _matches(content, needle) else reasoning)
            for cid, mid, text in self._unfinished_texts(conn):  # content before reasoning, per message
                if _matches(text, needle) and (cid not in first_hit or mid < first_hit[cid][0]):
                    first_hit[cid] = (mid, text)
        result = []
        for cid, title, updated, model, count, first in rows:
            if cid in first_hit:
                snippet = _snippet(first_hit[cid][1], needle)
            elif _matches(title, needle):
                snippet = _snippet(first or "")
            else:
                continue
            result.append(
                ConversationSummary(
                    id=cid, title=title, updated=updated, model=model, message_count=count, snippet=snippet
                )
            )
        return result

    @staticmethod
    def _unfinished_texts(conn: sqlite3.Connection) -> Iterator[tuple[int, int, str]]:
        """(conversation id, message id, text) of chunks not yet folded in: content, then reasoning."""
        texts: dict[tuple[int, int, str], list[str]] = {}
        for cid, mid, kind, text in conn.execute(
            "SELECT m.conversation_id, k.message_id, k.kind, k.text FROM chunks k "
            "JOIN messages m ON m.id = k.message_id ORDER BY k.id"
        ):
            texts.setdefault((cid, mid, kind), []).append(text)
        for (cid, mid, _kind), parts in sorted(texts.items(), key=lambda item: item[0][2] != "content"):
            yield cid, mid, "".join(parts)

    def load(self, conv_id: int) -> Conversation:
        """The conversation with its messages in order; KeyError for an unknown id.

        A message still being streamed by this store comes back as ``streaming`` with the text so far; one
        left ``streaming`` by a process that died comes back rebuilt from its chunks as ``interrupted``.
        """
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, title, created, updated, endpoint, model, settings FROM conversations WHERE id = ?",
                (conv_id,),
            ).fetchone()
            if row is None:
                raise KeyError(f"no conversation {conv_id}")
            rows = conn.execute(
                "SELECT id, role, content, reasoning, status, stats, created, extra FROM messages "
                "WHERE conversation_id = ? ORDER BY id",
                (conv_id,),
            ).fetchall()
            pending: dict[int, dict[str, list[str]]] = {}
            for mid, kind, text in conn.execute(
                "SELECT message_id, kind, text FROM chunks WHERE message_id IN "
                "(SELECT id FROM messages WHERE conversation_id = ?) ORDER BY id",
                (conv_id,),
            ):
                pending.setdefault(mid, {"content": [], "reasoning": []}).setdefault(kind, []).append(text)
            live = set(self._live)
        messages = []
        for mid, role, content, reasoning, status, stats, created, extra in rows:
            parts = pending.get(mid)
            if parts:
                content += "".join(parts.get("content", ()))
                reasoning += "".join(parts.get("reasoning", ()))
            if status == "streaming" and mid not in live:
                status = "interrupted"
            messages.append(
                ChatMessage(
                    role=role,
                    content=content,
                    reasoning=reasoning,
                    status=status,
                    stats=MessageStats.from_dict(json.loads(stats)) if stats else None,
                    id=mid,
                    created=created,
                    **extra_fields(_json_or_none(extra)),
                )
            )
        cid, title, created, updated, endpoint, model, settings = row
        return Conversation(
            id=cid,
            title=title,
            created=created,
            updated=updated,
            endpoint=endpoint,
            model=model,
            settings=json.loads(settings or "{}"),
            messages=tuple(messages),
        )

    # -- messages ----------------------------------------------------------------------------------------------

    def add_message(
        self,
        conv_id: int,
        role: str,
        content: str,
        reasoning: str = "",
        status: str = "done",
        stats: MessageStats | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Store a complete message (user, system, or a whole assistant answer) and return its id.

        KeyError for an unknown conversation; ValueError for an unknown status or ``streaming`` (use
        :meth:`start_message` for that).
        """
        if status not in STATUSES or status == "streaming":
            raise ValueError(f"status must be one of {sorted(STATUSES - {'streaming'})}, not {status!r}")
        blob = _stats_blob(stats)
        with self._tx() as conn:
            self._need_conversation(conn, conv_id)
            now = self._now()
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, reasoning, status, stats, created, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (conv_id, role, mask_prose(content), mask_prose(reasoning), status, blob, now, _extra_blob(extra)),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conv_id))
            return int(cur.lastrowid or 0)

    def start_message(self, conv_id: int, role: str = "assistant") -> int:
        """Create an empty message with status ``streaming`` for :meth:`append` to fill; returns its id."""
        with self._tx() as conn:
            self._need_conversation(conn, conv_id)
            now = self._now()
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, role, status, created) VALUES (?, ?, 'streaming', ?)",
                (conv_id, role, now),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conv_id))
            message_id = int(cur.lastrowid or 0)
            self._live.add(message_id)
            return message_id

    def append(self, message_id: int, kind: str, text: str) -> None:
        """Add streamed ``text`` (``kind``: content | reasoning) to a streaming message, committed at once.

        One small insert per call whatever the message length. ValueError for another kind or a message that
        is not streaming; KeyError for an unknown message.
        """
        self.append_many(message_id, [(kind, text)])

    def append_many(self, message_id: int, parts: list[tuple[str, str]]) -> None:
        """:meth:`append` for everything one streamed chunk brought: one commit, runs of a kind joined in a row."""
        rows: list[tuple[int, str, str]] = []
        for kind, text in parts:
            if kind not in KINDS:
                raise ValueError(f"kind must be 'content' or 'reasoning', not {kind!r}")
            if not text:
                continue
            text = mask_prose(text)
            if rows and rows[-1][1] == kind:
                rows[-1] = (message_id, kind, rows[-1][2] + text)
            else:
                rows.append((message_id, kind, text))
        if not rows:
            return
        with self._lock:
            conn = self._db()
            if message_id not in self._live:
                row = conn.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
                if row is None:
                    raise KeyError(f"no message {message_id}")
                if row[0] != "streaming":
                    raise ValueError(f"message {message_id} is {row[0]}, not streaming")
            try:  # autocommit: one statement, one transaction (and one release of the GIL, not three)
                values = ", ".join(["(?, ?, ?)"] * len(rows))
                conn.execute(
                    f"INSERT INTO chunks (message_id, kind, text) VALUES {values}", [v for row in rows for v in row]
                )
            except sqlite3.Error as exc:
                raise StoreError(f"chat store {self.path}: {exc}") from exc

    def finish_message(self, message_id: int, status: str, stats: MessageStats | None = None) -> None:
        """End a streamed message: fold its chunks into the message text, set ``status`` (done, stopped, error,
        interrupted) and ``stats``, drop the chunks, all in one transaction. Also closes a message left
        ``streaming`` by a process that died. KeyError for an unknown message.
        """
        if status not in STATUSES or status == "streaming":
            raise ValueError(f"status must be one of {sorted(STATUSES - {'streaming'})}, not {status!r}")
        blob = _stats_blob(stats)
        with self._tx() as conn:
            row = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                self._live.discard(message_id)
                raise KeyError(f"no message {message_id}")
            parts: dict[str, list[str]] = {"content": [], "reasoning": []}
            for kind, text in conn.execute(
                "SELECT kind, text FROM chunks WHERE message_id = ? ORDER BY id", (message_id,)
            ):
                parts.setdefault(kind, []).append(text)
            conn.execute(
                "UPDATE messages SET content = content || ?, reasoning = reasoning || ?, status = ?, "
                "stats = ? WHERE id = ?",
                (
                    mask_prose("".join(parts["content"])),
                    mask_prose("".join(parts["reasoning"])),
                    status,
                    blob,
                    message_id,
                ),
            )
            conn.execute("DELETE FROM chunks WHERE message_id = ?", (message_id,))
            self._touch(conn, row[0])
            self._live.discard(message_id)

    def set_extra(self, message_id: int, extra: dict[str, Any]) -> None:
        """What a message carries beside its text (``ChatMessage.extra``), replacing what it had."""
        with self._tx() as conn:
            if (
                conn.execute("UPDATE messages SET extra = ? WHERE id = ?", (_extra_blob(extra), message_id)).rowcount
                == 0
            ):
                raise KeyError(f"no message {message_id}")

    # -- lifetime ----------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database; later calls raise StoreError. Closing twice is harmless."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ChatStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
