"""A conversation as Markdown (to read or share) or JSON (everything, loads back with :func:`from_json`).

Both mask every credential first (:func:`masked`): a store written before they were masked on the way
in, or a conversation that never went through the store, exports none.  Both go through the sanitiser
too: a control character an answer held (ESC, NUL, C1, DEL) is written as the picture the chat pane
shows (``␛``), so ``cat export.md`` prints text and never drives the terminal.  A finish reason reads
as the pane words it (``abort``: "stopped (Esc)").  Images are never inlined: the Markdown links each stored
file (``../images/<sha256>.jpg``), the JSON names it with its sha256.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import replace
from datetime import datetime
from typing import Any

from console.chat.model import ChatMessage, Conversation, MessageStats, extra_fields
from console.runtime.sanitise import clean, clean_text, clean_tree, json_text
from console.runtime.secrets import mask_data, mask_prose, mask_url

JSON_FORMAT = "jetconsole-chat"
JSON_VERSION = 1
FILENAME_STEM_MAX = 60
IMAGES = "../images/"  # the stored images, as seen from exports/ (both beside the store)


# What the chat pane shows for a finish reason other than its own word (console/chat/session.py's stats line).
FINISH_WORDS = {"abort": "stopped (Esc)"}


def finish_words(reason: str) -> str:
    """A finish reason as the chat pane words it: ``abort`` -> ``stopped (Esc)``; ``stop``, ``length`` as they are."""
    return FINISH_WORDS.get(reason, reason)


def _text(text: str) -> str:
    """Untrusted multi-line text as exported: controls made visible, then credentials masked."""
    return mask_prose(clean_text(text))


def _masked_message(msg: ChatMessage) -> ChatMessage:
    stats = msg.stats
    if stats is not None and (stats.error or stats.finish_reason):
        stats = replace(
            stats,
            error=_text(stats.error) if stats.error else stats.error,
            finish_reason=clean(stats.finish_reason) if stats.finish_reason else stats.finish_reason,
        )
    return replace(msg, content=_text(msg.content), reasoning=_text(msg.reasoning), stats=stats)


def masked(conv: Conversation) -> Conversation:
    """``conv`` as exported: the control characters in its title, model, endpoint, settings and messages made
    visible (the sanitiser) and the credentials in them masked."""
    return replace(
        conv,
        title=mask_prose(clean_text(conv.title)),
        endpoint=mask_url(clean(conv.endpoint)),
        model=clean(conv.model),
        settings=mask_data(clean_tree(conv.settings), mask_prose),
        messages=tuple(_masked_message(m) for m in conv.messages),
    )


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).astimezone().strftime("%Y-%m-%d %H:%M %Z").strip() if stamp else ""


def _setting(value: Any) -> str:
    return value if isinstance(value, str) and "\n" not in value and len(value) <= 80 else json_text(value)


def _code(text: str) -> str:
    """Inline code that survives backticks inside ``text``."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def stats_line(stats: MessageStats) -> str:
    """One line of what is known: TTFT, decode rate, total time, token counts, finish reason, error."""
    parts = []
    if stats.ttft is not None:
        parts.append(f"TTFT {stats.ttft * 1000:.0f} ms")
    if stats.decode_tps is not None:
        parts.append(f"decode {stats.decode_tps:.1f} tok/s")
    if stats.total is not None:
        parts.append(f"total {stats.total:.2f} s")
    if stats.prompt_tokens is not None:
        parts.append(f"prompt {stats.prompt_tokens} tokens")
    if stats.completion_tokens is not None:
        parts.append(f"completion {stats.completion_tokens} tokens")
    if stats.finish_reason is not None:
        parts.append(f"finish: {finish_words(stats.finish_reason)}")
    if stats.error:
        parts.append(f"error: {_one_line(stats.error)}")
    return " · ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _message_markdown(msg: ChatMessage) -> str:
    heading = f"## {msg.role.capitalize() or 'Message'}"
    if msg.status != "done":
        heading += f" ({msg.status})"
    blocks = [heading]
    if msg.reasoning:
        body = msg.reasoning.strip("\n").replace("</details>", "&lt;/details&gt;")
        blocks.append(f"<details><summary>Reasoning</summary>\n\n{body}\n\n</details>")
    if msg.content:
        blocks.append(msg.content.strip("\n"))
    for number, ref in enumerate(msg.images, 1):  # the stored file, linked from exports/ beside the store
        size = f"{ref.width}x{ref.height}" + (f", ~{ref.tokens} tokens" if ref.tokens is not None else "")
        name = _one_line(clean_text(ref.name)) or ref.sha256[:12]
        blocks.append(f"![Image #{number}: {name} ({size})]({IMAGES}{ref.file_name})")
    for call in msg.tool_calls:
        blocks.append(f"Tool call: {_code(_one_line(clean_text(call.line())))}")
    if msg.check is not None:
        blocks.append(f"*{_one_line(clean_text(msg.check.line()))}*")
    if msg.role == "assistant" and msg.stats is not None:
        line = stats_line(msg.stats)
        if line:
            blocks.append(f"*{line}*")
    return "\n\n".join(blocks)


def to_markdown(conv: Conversation) -> str:
    """Title heading, a line of model, endpoint, date and settings, then every message under a role heading.

    Reasoning goes in a collapsed ``<details>`` block; assistant answers end with their stats line; a status
    other than ``done`` is shown next to the role. Credentials are masked (:func:`masked`).
    """
    conv = masked(conv)
    meta = []
    if conv.model:
        meta.append(f"**Model:** {_code(conv.model)}")
    if conv.endpoint:
        meta.append(f"**Endpoint:** {_code(conv.endpoint)}")
    if conv.created:
        meta.append(f"**Created:** {_when(conv.created)}")
    if conv.settings:
        meta.append(
            "**Settings:** " + ", ".join(f"{key} = {_code(_setting(value))}" for key, value in conv.settings.items())
        )
    blocks = [f"# {_one_line(conv.title) or 'Untitled chat'}"]
    if meta:
        blocks.append(" · ".join(meta))
    blocks.extend(_message_markdown(msg) for msg in conv.messages)
    return "\n\n".join(blocks) + "\n"


def to_json(conv: Conversation) -> str:
    """Everything in the conversation, stats included, as indented JSON that :func:`from_json` reads back;
    credentials masked (:func:`masked`)."""
    conv = masked(conv)
    data = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "id": conv.id,
        "title": conv.title,
        "created": conv.created,
        "updated": conv.updated,
        "endpoint": conv.endpoint,
        "model": conv.model,
        "settings": conv.settings,
        "messages": [
            {
                "id": msg.id,
                "role": msg.role,
                "content": msg.content,
                "reasoning": msg.reasoning,
                "status": msg.status,
                "created": msg.created,
                "stats": msg.stats.to_dict() if msg.stats is not None else None,
                **clean_tree(msg.extra()),  # images by reference (file and sha256), tool calls, the check, the mode
            }
            for msg in conv.messages
        ],
    }
    return json_text(data, indent=2)


def from_json(text: str) -> Conversation:
    """The conversation written by :func:`to_json`; ValueError if ``text`` is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
        raise ValueError(f"not a {JSON_FORMAT} export")
    if not isinstance(data.get("version"), int) or data["version"] > JSON_VERSION:
        raise ValueError(f"{JSON_FORMAT} export version {data.get('version')!r} is newer than this jetconsole reads")
    try:
        messages = tuple(
            ChatMessage(
                role=str(msg["role"]),
                content=str(msg.get("content", "")),
                reasoning=str(msg.get("reasoning", "")),
                status=str(msg.get("status", "done")),
                stats=MessageStats.from_dict(msg["stats"]) if msg.get("stats") is not None else None,
                id=msg.get("id"),
                created=float(msg.get("created", 0.0)),
                **extra_fields(msg),
            )
            for msg in data.get("messages", [])
        )
        return Conversation(
            id=int(data["id"]),
            title=str(data.get("title", "")),
            created=float(data.get("created", 0.0)),
            updated=float(data.get("updated", 0.0)),
            endpoint=str(data.get("endpoint", "")),
            model=str(data.get("model", "")),
            settings=dict(data.get("settings") or {}),
            messages=messages,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed {JSON_FORMAT} export: {exc!r}") from exc


def export_filename(conv: Conversation, ext: str) -> str:
    """A safe file name from the title: no separators or control characters, at most ~60 characters of title,
    then the conversation id and ``ext`` (``"md"`` or ``".md"``), e.g. ``"Why-is-the-sky-blue-12.md"``."""
    title = unicodedata.normalize("NFKC", conv.title)
    title = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in title)
    stem = re.sub(r"[^\w\s.-]", "", title)  # keeps letters/digits of any script, "_", ".", "-", spaces
    stem = re.sub(r"\s+", "-", stem).strip(".- ")
    stem = re.sub(r"-{2,}", "-", stem)[:FILENAME_STEM_MAX].rstrip(".- ") or "chat"
    suffix = re.sub(r"[^A-Za-z0-9]", "", ext)
    return f"{stem}-{conv.id}" + (f".{suffix}" if suffix else "")
