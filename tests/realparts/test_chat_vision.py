"""Images, structured output, tool calls and the completions API against the real vLLM CPU server.

The vision server (``vllm_vision_endpoint``) serves the tiny random vision-language model of tiny_vlm.py
(PaddleOCR-VL: Qwen2-VL's image arithmetic; Qwen2-VL itself cannot run on this CPU build, tiny_vlm.py says
why) with two images a prompt, the hermes tool parser and xgrammar. Its answers are gibberish; what is
checked is what the server counts and what the constraint makes of them. Every question goes the way a
user's goes: ``jetconsole chat`` (in process: the runtime, its chat service, the client) or the chat pane.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from console.chat import images
from console.chat.command import EXIT_SERVER_ERROR, Ask, chat
from console.config import Config
from tests.app.helpers import wait_for
from tests.realparts.vllm_server import SERVED_NAME, read_counters

pytestmark = pytest.mark.timeout(240)

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 8},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def ask(url: str, prompt: str = "What is in the picture?", config: dict[str, Any] | None = None, **kw: Any):
    """``jetconsole chat --json`` against ``url``: (exit code, the JSON line or None, stderr)."""
    out, err = StringIO(), StringIO()
    settings = {"chat_temperature": 0.0, "chat_max_tokens": 4, **(config or {})}
    code = chat(Config(servers=(f"{url}/v1",), **settings), Ask(prompt, as_json=True, **kw), out=out, err=err)
    lines = out.getvalue().strip().splitlines()
    return code, (json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None), err.getvalue()


def picture(folder: Path, name: str, size: tuple[int, int], mode: str = "RGB") -> Path:
    """A picture with some structure (a gradient and a block), saved in the format its name says."""
    img = Image.linear_gradient("L").resize(size).convert(mode)
    img.paste(
        (30, 160, 90) if mode == "RGB" else (30, 160, 90, 128), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2)
    )
    path = folder / name
    img.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "size", "mode"),
    [
        ("tiny.png", (56, 56), "RGB"),
        ("small.png", (448, 336), "RGB"),
        ("wide.png", (1000, 100), "RGB"),
        ("photo.png", (1000, 750), "RGB"),
        ("photo.jpg", (4000, 3000), "RGB"),
        ("clear.png", (640, 480), "RGBA"),
        ("photo.webp", (800, 600), "RGB"),
        ("anim.gif", (300, 200), "RGB"),
        ("scan.bmp", (320, 240), "RGB"),
    ],
)
def test_an_image_costs_what_the_pane_estimates_by_the_servers_own_count(
    vllm_vision_endpoint, tmp_path: Path, name: str, size: tuple[int, int], mode: str
) -> None:
    url = vllm_vision_endpoint.url
    code, text_only, _ = ask(url)
    assert code == 0 and text_only is not None
    before = read_counters(url)
    prompt_before = _prompt_tokens(url)
    code, answer, err = ask(url, images=(str(picture(tmp_path, name, size, mode)),))
    assert code == 0, err
    assert answer is not None and answer["status"] == "done" and len(answer["images"]) == 1
    sent = answer["images"][0]
    estimate = images.estimate_tokens(sent["height"], sent["width"], images.Budget())
    assert sent["tokens"] == estimate and f"~{estimate:,} tokens" in err  # said before sending
    # the server's usage and its own /metrics counter: the image cost exactly what was estimated
    assert answer["prompt_tokens"] - text_only["prompt_tokens"] == estimate
    assert _prompt_tokens(url) - prompt_before == answer["prompt_tokens"]
    assert read_counters(url).handled == before.handled + 1
    if size[0] * size[1] > images.DEFAULT_MAX_PIXELS:
        assert sent["width"] * sent["height"] <= images.DEFAULT_MAX_PIXELS  # downscaled here, not by the server


def _prompt_tokens(url: str) -> float:
    from tests.realparts.vllm_server import _series

    return _series(httpx.get(f"{url}/metrics", timeout=30).text, "vllm:prompt_tokens_total")


def test_two_images_in_one_question_and_a_third_refused_in_the_servers_words(vllm_vision_endpoint, tmp_path) -> None:
    url = vllm_vision_endpoint.url
    _, text_only, _ = ask(url)
    paths = [str(picture(tmp_path, f"p{i}.png", (224 * (i + 1), 224))) for i in range(3)]
    code, two, err = ask(url, images=tuple(paths[:2]))
    assert code == 0, err
    assert two["prompt_tokens"] - text_only["prompt_tokens"] == sum(i["tokens"] for i in two["images"])
    code, _, err = ask(url, images=tuple(paths))
    assert code == EXIT_SERVER_ERROR and "At most 2 image(s) may be provided in one prompt" in err


def test_a_text_only_server_is_warned_of_and_its_refusal_shown(vllm_endpoint, tmp_path) -> None:
    code, answer, err = ask(vllm_endpoint.url, images=(str(picture(tmp_path, "p.png", (224, 224))),))
    assert "looks text-only (LlamaForCausalLM is not a vision architecture); sending anyway" in err
    assert code == EXIT_SERVER_ERROR and "tiny is not a multimodal model" in err
    assert answer is not None and answer["status"] == "error"


def test_bad_images_are_refused_before_anything_is_sent(vllm_vision_endpoint, tmp_path) -> None:
    before = read_counters(vllm_vision_endpoint.url)
    (tmp_path / "notes.png").write_text("not a picture")
    for path, words in [(tmp_path / "missing.png", "no such file"), (tmp_path / "notes.png", "not an image")]:
        code, answer, err = ask(vllm_vision_endpoint.url, images=(str(path),))
        assert code == 2 and words in err and answer is None
    assert read_counters(vllm_vision_endpoint.url).handled == before.handled  # nothing reached the server


# ---- structured output ------------------------------------------------------------------------------------------
def test_a_json_schema_answer_is_valid_and_parsed(vllm_vision_endpoint, tmp_path) -> None:
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(PERSON))
    code, answer, err = ask(vllm_vision_endpoint.url, "Who?", {"chat_max_tokens": 64}, schema=str(schema))
    assert code == 0, err
    assert answer["valid"] is True and answer["check_error"] is None, answer
    assert set(answer["parsed"]) == {"name", "age"} and 0 <= answer["parsed"]["age"] <= 150
    assert "✓ valid (JSON schema)" in err


def test_a_choice_and_a_regex_answer_comply(vllm_vision_endpoint) -> None:
    code, answer, err = ask(vllm_vision_endpoint.url, "Yes or no?", {"chat_max_tokens": 8}, choice="yes,no")
    assert code == 0 and answer["valid"] is True and answer["answer"] in ("yes", "no"), (answer, err)
    code, answer, err = ask(vllm_vision_endpoint.url, "A code?", {"chat_max_tokens": 16}, regex="[0-9]{3}-[a-z]{2}")
    assert code == 0 and answer["valid"] is True, (answer, err)
    assert len(answer["answer"]) == 6 and answer["answer"][3] == "-"


def test_the_old_guided_json_field_is_never_sent_which_is_why_it_is_moved(vllm_vision_endpoint) -> None:
    """The server ignores ``guided_json`` (200, unconstrained) and logs it; the client moves it into
    ``structured_outputs``, so the server never sees it and the constraint fires."""
    url = vllm_vision_endpoint.url
    warned = "removed guided-decoding field"
    logged = vllm_vision_endpoint.log_text().count(warned)
    body = {
        "model": SERVED_NAME,
        "messages": [{"role": "user", "content": "Who?"}],
        "max_tokens": 24,
        "temperature": 0.0,
        "guided_json": PERSON,
    }
    raw = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=120)
    assert raw.status_code == 200  # the trap: a 200 ...
    text = raw.json()["choices"][0]["message"]["content"] or ""
    with pytest.raises(ValueError):
        json.loads(text)  # ... with text no constraint shaped
    assert vllm_vision_endpoint.log_text().count(warned) == logged + 1
    code, answer, err = ask(url, "Who?", {"chat_max_tokens": 64, "chat_extra_body": {"guided_json": PERSON}})
    assert code == 0 and answer["valid"] is True and set(answer["parsed"]) == {"name", "age"}, (answer, err)
    assert vllm_vision_endpoint.log_text().count(warned) == logged + 1  # the client's request had no guided_*


# ---- tool calls and completions ---------------------------------------------------------------------------------
def test_a_tool_calling_answer_is_shown_as_calls_with_arguments(vllm_vision_endpoint) -> None:
    extra = {"tools": [WEATHER_TOOL], "tool_choice": "required", "seed": 3}
    code, answer, err = ask(
        vllm_vision_endpoint.url,
        "Weather in Paris?",
        {"chat_max_tokens": 400, "chat_temperature": 1.0, "chat_extra_body": extra},
    )
    assert code == 0, err
    assert answer["finish_reason"] == "tool_calls" and answer["tool_calls"], answer
    assert {c["name"] for c in answer["tool_calls"]} == {"get_weather"}
    assert all(c["arguments"] for c in answer["tool_calls"]) and all(c["id"] for c in answer["tool_calls"])


def test_tool_choice_auto_needs_the_launch_flags_in_the_servers_words(vllm_endpoint) -> None:
    extra = {"tools": [WEATHER_TOOL], "tool_choice": "auto"}
    code, _answer, err = ask(vllm_endpoint.url, "Weather?", {"chat_extra_body": extra})
    assert code == EXIT_SERVER_ERROR
    assert '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set' in err


def test_the_completions_api_streams_with_usage(vllm_vision_endpoint) -> None:
    url = vllm_vision_endpoint.url
    before = _handled(url, "/v1/completions")
    code, answer, err = ask(url, "Once upon a time", {"chat_max_tokens": 8}, completion=True)
    assert code == 0, err
    assert answer["mode"] == "completion" and answer["completion_tokens"] == 8 and answer["prompt_tokens"] > 0
    assert answer["ttft_s"] is not None and answer["finish_reason"] == "length"
    assert _handled(url, "/v1/completions") == before + 1
    code, answer, err = ask(url, "Pick", {"chat_max_tokens": 8}, completion=True, choice="red,green")
    assert code == 0 and answer["valid"] is True and answer["answer"] in ("red", "green"), (answer, err)


def _handled(url: str, handler: str) -> float:
    from tests.realparts.vllm_server import _series

    return _series(httpx.get(f"{url}/metrics", timeout=30).text, "http_requests_total", handler=handler)


# ---- the pane ---------------------------------------------------------------------------------------------------
async def test_the_pane_attaches_costs_sends_and_checks(vllm_vision_endpoint, orin_snapshot, tmp_path) -> None:
    """F9 picks an image (its cost shown before sending), Enter sends it; F7 shapes the next answer, which is
    checked under it. The store keeps the image's reference and its bytes once, by sha256."""
    from tests.app.helpers import live_app

    photo = picture(tmp_path, "photo.jpg", (4000, 3000))
    store = tmp_path / "data" / "chats.sqlite3"
    config = Config(
        refresh_interval=0.5,
        servers=(f"{vllm_vision_endpoint.url}/v1",),
        chat_max_tokens=8,
        chat_temperature=0.0,
        chat_store=str(store),
    )
    app = live_app([orin_snapshot], config, poll_servers=True)
    async with app.run_test(size=(140, 50)) as pilot:
        chat_state = lambda: app.chat_control.chat  # noqa: E731
        await wait_for(pilot, lambda: chat_state().caps is not None and chat_state().caps.vision, timeout=30)
        await pilot.press("a", "f9")
        await wait_for(pilot, lambda: app.screen.query("#image-path"), timeout=5)
        await pilot.press(*str(photo), "enter")
        await wait_for(pilot, lambda: chat_state().draft_images, timeout=30)
        shown = str(app.screen.query_one(".chat-attached").render())
        assert "[Image #1] photo.jpg 4000x3000 → 896x672 · ~770 tokens" in shown and "1 image · ~770 tokens" in shown
        await pilot.press(*"what is it?", "enter")
        await wait_for(pilot, lambda: len(chat_state().messages) == 2 and chat_state().answering is None, 120)
        asked, answer = chat_state().messages
        assert asked.images[0].tokens == 770 and answer.status == "done" and not chat_state().draft_images
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.screen.query("#shape-spec"), timeout=5)
        await pilot.press(*"choice: yes, no", "ctrl+s")
        await wait_for(pilot, lambda: chat_state().settings.shape is not None, timeout=10)
        await pilot.press(*"yes?", "enter")
        await wait_for(pilot, lambda: len(chat_state().messages) == 4 and chat_state().answering is None, 120)
        checked = chat_state().messages[-1]
        assert checked.check is not None and checked.check.valid and checked.content in ("yes", "no")
        calls = " ".join(str(w.render()) for w in app.screen.query(".chat-calls"))
        assert "✓ valid (choice)" in calls
    stored = (store.parent / "images" / f"{asked.images[0].sha256}.jpg").read_bytes()
    assert len(stored) == asked.images[0].size
    raw = store.read_bytes() + b"".join(p.read_bytes() for p in store.parent.glob("chats.sqlite3-*"))
    assert b"base64" not in raw and asked.images[0].sha256.encode() in raw
