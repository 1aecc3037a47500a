"""Markdown and JSON export of a conversation, JSON round trip, safe file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.chat.export import export_filename, from_json, to_json, to_markdown
from console.chat.model import ChatMessage, Conversation, MessageStats
from console.chat.store import ChatStore

STATS = MessageStats(
    ttft=0.2345, total=3.5, prompt_tokens=17, completion_tokens=120, decode_tps=36.789, finish_reason="stop"
)


def _conv(**kw) -> Conversation:
    base = dict(
        id=7,
        title="Why is the sky blue?",
        created=1_700_000_000.25,
        updated=1_700_000_100.5,
        endpoint="http://spark:8000/v1",
        model="Qwen/Qwen3-8B",
        settings={"system_prompt": "Be brief.\nUse SI units.", "temperature": 0.6, "extra_body": {"top_k": 20}},
        messages=(
            ChatMessage("system", "Be brief.", id=1, created=1_700_000_000.5),
            ChatMessage("user", "Why is the sky blue?", id=2, created=1_700_000_001.0),
            ChatMessage(
                "assistant",
                "Rayleigh scattering.",
                reasoning="Short wavelengths scatter more.",
                stats=STATS,
                id=3,
                created=1_700_000_002.0,
            ),
            ChatMessage("user", "And sunsets?", id=4, created=1_700_000_050.0),
            ChatMessage("assistant", "Longer path thro", status="interrupted", id=5, created=1_700_000_051.0),
            ChatMessage(
                "assistant",
                "",
                status="error",
                id=6,
                created=1_700_000_060.0,
                stats=MessageStats(ttft=None, finish_reason="error", error="CUDA out of memory"),
            ),
        ),
    )
    base.update(kw)
    return Conversation(**base)


def test_markdown_layout() -> None:
    md = to_markdown(_conv())
    lines = md.splitlines()
    assert lines[0] == "# Why is the sky blue?"
    meta = lines[2]
    assert "`Qwen/Qwen3-8B`" in meta and "`http://spark:8000/v1`" in meta
    assert "temperature = `0.6`" in meta and 'extra_body = `{"top_k": 20}`' in meta
    assert '"Be brief.\\nUse SI units."' in meta  # a multi-line setting stays on the line
    assert [ln for ln in lines if ln.startswith("## ")] == [
        "## System",
        "## User",
        "## Assistant",
        "## User",
        "## Assistant (interrupted)",
        "## Assistant (error)",
    ]
    assert "<details><summary>Reasoning</summary>\n\nShort wavelengths scatter more.\n\n</details>" in md
    assert md.index("</details>") < md.index("Rayleigh scattering.")
    stats = next(ln for ln in lines if "TTFT" in ln)
    for part in ("TTFT 234 ms", "decode 36.8 tok/s", "prompt 17 tokens", "completion 120 tokens", "finish: stop"):
        assert part in stats
    assert stats.startswith("*") and stats.endswith("*")
    assert "error: CUDA out of memory" in md and "finish: error" in md
    assert md.count("TTFT") == 1  # messages without a ttft do not invent one
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_markdown_minimal_and_hostile_text() -> None:
    conv = _conv(
        title="",
        endpoint="",
        model="",
        settings={},
        messages=(ChatMessage("assistant", "ok", reasoning="a </details> inside"),),
    )
    md = to_markdown(conv)
    assert md.startswith("# Untitled chat\n\n") and "Model" not in md
    assert md.count("</details>") == 1 and "&lt;/details&gt;" in md
    assert "**Model:** ``a`b``" in to_markdown(_conv(model="a`b"))


def test_json_round_trip_keeps_everything() -> None:
    conv = _conv()
    text = to_json(conv)
    data = json.loads(text)
    assert text.startswith('{\n  "format": "jetconsole-chat"')  # indent 2
    assert data["messages"][2]["stats"]["decode_tps"] == 36.789 and data["messages"][0]["stats"] is None
    assert from_json(text) == conv
    assert "Übersetzung" in to_json(_conv(title="Übersetzung"))  # not \u-escaped


def test_json_round_trip_from_the_store(tmp_path: Path) -> None:
    with ChatStore(tmp_path / "c.sqlite3") as store:
        cid = store.new_conversation("stored", model="m", settings={"temperature": 0.1})
        store.add_message(cid, "user", "q")
        mid = store.start_message(cid)
        store.append(mid, "reasoning", "r")
        store.append(mid, "content", "a")
        store.finish_message(mid, "done", STATS)
        conv = store.load(cid)
    assert from_json(to_json(conv)) == conv


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"format": "something"}',
        '{"format": "jetconsole-chat", "version": 99, "id": 1}',
        '{"format": "jetconsole-chat", "version": 1}',
        '{"format": "jetconsole-chat", "version": 1, "id": 1, "messages": [{}]}',
    ],
)
def test_from_json_rejects_what_is_not_an_export(text: str) -> None:
    with pytest.raises(ValueError):
        from_json(text)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Why is the sky blue?", "Why-is-the-sky-blue-7.md"),
        ("../../etc/passwd", "etcpasswd-7.md"),
        ('a/b\\c:d*e"f<g>h|i\x00j\x1bk\nl', "abcdefghi-j-k-l-7.md"),
        ("", "chat-7.md"),
        ("...", "chat-7.md"),
        ("Übersetzung – 日本語", "Übersetzung-日本語-7.md"),
    ],
)
def test_export_filename_is_safe(title: str, expected: str) -> None:
    assert export_filename(_conv(title=title), "md") == expected


def test_export_filename_is_bounded_and_takes_dotted_ext() -> None:
    name = export_filename(_conv(title="word " * 100), ".json")
    assert name.endswith("-7.json") and len(name) <= 60 + len("-7.json")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert all(ch.isprintable() for ch in name)
