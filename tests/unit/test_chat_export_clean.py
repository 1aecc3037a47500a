"""Chat exports carry no terminal control (issue 15 item 3): what the pane shows as pictures (ESC as ␛, NUL as ␀)
the Markdown and JSON exports write as the same pictures, never raw, and a finish reason reads as the pane's."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from console.chat.export import from_json, to_json, to_markdown
from console.chat.model import ChatMessage, Conversation, MessageStats
from console.chat.session import stats_line
from console.runtime.sanitise import CONTROLS, clean_text

# an OSC title, a clear screen, an OSC 52 clipboard write, NUL, BEL, DEL, an 8-bit CSI, a lone CR
HOSTILE = "ok\x1b]0;pwned\x07 \x1b[2J\x1b]52;c;ZXZpbA==\x07 nul\x00 bel\x07 del\x7f c1\x9b31m cr\rover"


def _conv() -> Conversation:
    return Conversation(
        id=3,
        title=f"title {HOSTILE}",
        created=1_700_000_000.0,
        updated=1_700_000_001.0,
        endpoint="http://spark:8000/v1",
        model=f"qwen{HOSTILE}",
        settings={"system_prompt": f"sys {HOSTILE}", f"key{HOSTILE}": 1},
        messages=(
            ChatMessage("user", f"ask {HOSTILE}", id=1),
            ChatMessage(
                "assistant",
                f"answer {HOSTILE}\nsecond line\tafter a tab",
                reasoning=f"think {HOSTILE}",
                status="stopped",
                id=2,
                stats=MessageStats(ttft=0.1, finish_reason="abort", error=f"cut {HOSTILE}"),
            ),
        ),
    )


def _no_controls(text: str) -> None:
    assert not CONTROLS.search(text), [m.group() for m in CONTROLS.finditer(text)]
    assert "\x1b" not in text and "\r" not in text


def test_markdown_export_shows_controls_as_the_pane_does() -> None:
    md = to_markdown(_conv())
    _no_controls(md)
    assert clean_text(f"answer {HOSTILE}") in md  # the pane's own rendering of the same text: ␛]0;pwned␇ …
    assert "␛]0;pwned␇" in md and "nul␀" in md and "\\x9b31m" in md
    assert "second line\tafter a tab" in md  # newlines and tabs are text, kept


def test_json_export_holds_no_control_even_escaped() -> None:
    text = to_json(_conv())
    _no_controls(text)
    assert "\\u001b" not in text and "\\u0000" not in text  # `jq -r` would print these raw
    data = json.loads(text)
    _no_controls(json.dumps(data, ensure_ascii=False))
    assert data["messages"][1]["stats"]["finish_reason"] == "abort"  # the data keeps the server's word
    assert from_json(text).messages[1].content.startswith("answer ok␛]0;pwned␇")


@pytest.mark.parametrize("reason", ["abort", "stop", "length"])
def test_markdown_finish_reason_reads_as_the_panes(reason: str) -> None:
    stats = MessageStats(ttft=0.1, finish_reason=reason)
    md = to_markdown(replace(_conv(), messages=(ChatMessage("assistant", "a", stats=stats, id=2),)))
    pane = stats_line(stats).split(" · ")[-1]  # what the pane says for it: "stopped (Esc)" for abort
    assert f"finish: {pane}" in md and "finish: abort" not in md
