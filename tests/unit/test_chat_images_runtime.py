"""The chat service with images, shapes and tool calls, through the runtime, against the replay server: what is
sent, what the state and the store keep, and the ways it must not go wrong (a question sent while its image is
still being read, a retry that takes the next question's images, a schema that cannot be checked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from console.chat.shape import Shape
from console.config import Config
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.runtime import Runtime
from console.runtime.services.headless import no_telemetry, wait_for
from tests.replay import MODEL, ReplayServer, Script, chunk, token_frames

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def runtime(srv: ReplayServer, tmp_path: Path) -> Iterator[Runtime]:
    config = Config(servers=(srv.url,), chat_store=str(tmp_path / "data" / "chats.sqlite3"))
    rt = Runtime(config, discover_fn=no_telemetry, watch_docker=False, poll_servers=False, hud_sources=False)
    rt.start()
    rt.send(cmd.FetchModels())
    assert wait_for(rt, lambda s: s.chat.model == MODEL, 10)
    yield rt
    rt.stop(2)


def picture(folder: Path, name: str = "p.png", size: tuple[int, int] = (300, 200)) -> str:
    path = folder / name
    Image.new("RGB", size, (20, 120, 200)).save(path)
    return str(path)


def answered(rt: Runtime, count: int) -> bool:
    return wait_for(rt, lambda s: len(s.chat.messages) >= count and s.chat.answering is None, 20)


def sent_images(body: dict) -> list[str]:
    return [
        p["image_url"]["url"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p.get("type") == "image_url"
    ]


def test_an_image_goes_inline_once_stored_and_the_store_keeps_its_reference(
    runtime: Runtime, srv: ReplayServer, tmp_path: Path
) -> None:
    runtime.send(cmd.AttachImage(picture(tmp_path)))
    assert wait_for(runtime, lambda s: len(s.chat.draft_images) == 1 and not s.chat.attaching, 10)
    ref = runtime.state.chat.draft_images[0]
    assert runtime.send(cmd.SendChat("what is it?"))
    assert answered(runtime, 2)
    (url,) = sent_images(srv.requests[-1])
    assert url.startswith("data:image/jpeg;base64,") and not runtime.state.chat.draft_images
    assert (tmp_path / "data" / "images" / ref.file_name).is_file()
    conv = runtime.state.chat.conversation_id
    assert conv is not None and runtime.idle(10)
    from console.chat.store import ChatStore

    with ChatStore(tmp_path / "data" / "chats.sqlite3") as store:
        assert store.load(conv).messages[0].images == (ref,)
    runtime.send(cmd.SendChat("and now?"))  # the earlier image goes again, from the disk
    assert answered(runtime, 4)
    assert sent_images(srv.requests[-1]) == [url]


def test_a_question_waits_for_an_image_still_being_read(runtime: Runtime, tmp_path: Path) -> None:
    runtime.emit(ev.ChatImageAttaching("/slow.png"))  # as attach does before its thread reads the file
    notices: list[str] = []
    runtime.subscribe(lambda _s, e: notices.append(e.text) if isinstance(e, ev.Notice) else None)
    assert runtime.send(cmd.SendChat("look")) is False
    assert any("still being read" in n for n in notices) and runtime.state.chat.messages == ()
    runtime.emit(ev.ChatImageFailed("/slow.png", "gone"))
    assert runtime.send(cmd.SendChat("look")) is True


def test_a_refused_image_says_why_and_the_question_can_go(runtime: Runtime, tmp_path: Path) -> None:
    failed: list[str] = []
    runtime.subscribe(lambda _s, e: failed.append(e.why) if isinstance(e, ev.ChatImageFailed) else None)
    runtime.send(cmd.AttachImage(str(tmp_path / "missing.png")))
    assert wait_for(runtime, lambda s: not s.chat.attaching, 10) and runtime.idle(10)
    assert failed and "no such file" in failed[0] and runtime.state.chat.draft_images == ()


def test_the_same_image_twice_is_attached_once(runtime: Runtime, tmp_path: Path) -> None:
    path = picture(tmp_path)
    runtime.send(cmd.AttachImage(path))
    runtime.send(cmd.AttachImage(path))
    assert wait_for(runtime, lambda s: not s.chat.attaching and s.chat.draft_images, 10) and runtime.idle(10)
    assert len(runtime.state.chat.draft_images) == 1


def test_a_server_limit_holds_a_question_with_too_many_images(runtime: Runtime, tmp_path: Path) -> None:
    from console.chat.capability import capabilities

    for name, size in (("a.png", (300, 200)), ("b.png", (200, 300))):
        runtime.send(cmd.AttachImage(picture(tmp_path, name, size)))
    assert wait_for(runtime, lambda s: len(s.chat.draft_images) == 2 and not s.chat.attaching, 10)
    assert runtime.idle(10)
    # as a container's launch line tells it (this runtime watches no Docker)
    caps = capabilities("m", command="vllm serve m --limit-mm-per-prompt '{\"image\": 1}'")
    chat = runtime.state.chat
    assert chat.endpoint is not None
    runtime.emit(ev.ChatCapabilities(chat.endpoint.url, chat.model or "", caps))
    assert runtime.send(cmd.SendChat("two?")) is False and len(runtime.state.chat.draft_images) == 2


def test_a_retry_after_a_trim_sends_its_own_images_and_leaves_the_draft(
    runtime: Runtime, srv: ReplayServer, tmp_path: Path
) -> None:
    runtime.send(cmd.SendChat("hello"))  # an earlier turn: what the trim takes off
    assert answered(runtime, 2)
    runtime.send(cmd.AttachImage(picture(tmp_path, "first.png")))
    assert wait_for(runtime, lambda s: len(s.chat.draft_images) == 1 and not s.chat.attaching, 10)
    first = runtime.state.chat.draft_images[0]
    too_long = (
        "This model's maximum context length is 1024 tokens. However, you requested 2000 tokens "
        "(1500 in the messages, 500 in the completion)."
    )
    srv.script = Script(status=400, body=json.dumps({"error": {"message": too_long, "type": "BadRequestError"}}))
    runtime.send(cmd.SendChat("too long"))
    assert answered(runtime, 4) and runtime.state.chat.overflow is not None
    runtime.send(cmd.AttachImage(picture(tmp_path, "next.png", (200, 300))))
    assert wait_for(runtime, lambda s: len(s.chat.draft_images) == 1 and not s.chat.attaching, 10)
    following = runtime.state.chat.draft_images[0]
    srv.script = Script(frames=token_frames(["ok"]))
    runtime.send(cmd.TrimChat())
    assert answered(runtime, 6)
    retried = runtime.state.chat.messages[-2]
    assert retried.content == "too long" and retried.images == (first,)
    assert runtime.state.chat.draft_images == (following,)  # kept for the next question


def test_a_schema_that_cannot_be_checked_ends_the_answer_all_the_same(runtime: Runtime, srv: ReplayServer) -> None:
    unresolvable = Shape("schema", schema={"$ref": "#/definitions/missing"})
    runtime.send(cmd.ChooseSettings(replace(runtime.state.chat.settings, shape=unresolvable)))
    srv.script = Script(frames=token_frames(['{"a": 1}']))
    runtime.send(cmd.SendChat("json?"))
    assert answered(runtime, 2)
    check = runtime.state.chat.messages[-1].check
    assert check is not None and not check.valid and check.error.startswith("the answer could not be checked")
    assert runtime.send(cmd.SendChat("again?"))  # nothing is left "answering"


def test_streamed_tool_calls_become_whole_calls(runtime: Runtime, srv: ReplayServer) -> None:
    def call(index: int, **fields: object) -> str:
        return chunk({"tool_calls": [{"index": index, **fields}]})

    srv.script = Script(
        frames=[
            chunk({"role": "assistant", "content": ""}),
            call(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""}),
            call(0, function={"arguments": '{"city": '}),
            call(0, function={"arguments": '"Paris"}'}),
            call(1, id="call_b", type="function", function={"name": "get\x1b[2Jtime", "arguments": "{}"}),
            chunk({}, finish="tool_calls"),
            "[DONE]",
        ]
    )
    runtime.send(cmd.SendChat("weather and time?"))
    assert answered(runtime, 2)
    answer = runtime.state.chat.messages[-1]
    assert [(c.name, c.arguments, c.id) for c in answer.tool_calls] == [
        ("get_weather", '{"city": "Paris"}', "call_a"),
        ("get␛[2Jtime", "{}", "call_b"),  # the server's text, cleaned where it enters
    ]
    assert answer.status == "done" and answer.stats is not None and answer.stats.finish_reason == "tool_calls"
    runtime.send(cmd.SendChat("next"))
    assert answered(runtime, 4)
    contents = [m["content"] for m in srv.requests[-1]["messages"]]
    assert "weather and time?" not in contents  # a tool-only answer's pair is not sent again
