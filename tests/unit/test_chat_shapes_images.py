"""Structured output, images and what a server can take: the pure parts (console.chat.shape, images, capability,
wire, stream, session, store). The real server's side is tests/realparts/test_chat_vision.py."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from console.chat import images
from console.chat.capability import capabilities, flags, model_files
from console.chat.endpoints import Endpoint
from console.chat.model import ChatMessage, ImageRef, MessageStats, ShapeCheck, ToolCall
from console.chat.session import ChatSession, ChatSettings
from console.chat.shape import (
    NOT_FIRED,
    Shape,
    ShapeError,
    modern_extra,
    parse_shape,
    shape_of_body,
)
from console.chat.store import SCHEMA_VERSION, ChatStore
from console.chat.stream import parse_data
from console.chat.wire import ChatRequest, request_body, user_content

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}
EP = Endpoint("http://127.0.0.1:8000/v1")


# ---- shapes ----------------------------------------------------------------------------------------------------
def test_a_schema_goes_as_response_format_and_choice_and_regex_as_structured_outputs() -> None:
    schema = parse_shape(json.dumps(PERSON))
    assert schema is not None and schema.kind == "schema"
    assert schema.body() == {
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": PERSON, "strict": True}}
    }
    assert parse_shape("choice: yes, no , maybe").body() == {"structured_outputs": {"choice": ["yes", "no", "maybe"]}}
    assert parse_shape("regex: [0-9]{3}").body() == {"structured_outputs": {"regex": "[0-9]{3}"}}
    assert parse_shape("   ") is None


def test_every_answer_is_checked_with_the_first_error_and_the_constraint_named() -> None:
    shape = Shape("schema", schema=PERSON)
    good = shape.check('{"name": "Ada", "age": 36}')
    assert good.valid and json.loads(good.pretty) == {"name": "Ada", "age": 36} and "\n  " in good.pretty
    bad = shape.check('{"name": "Ada", "age": -1}')
    assert not bad.valid and bad.error.startswith(NOT_FIRED) and "at age" in bad.error and "minimum" in bad.error
    missing = shape.check('{"name": "Ada"}')
    assert not missing.valid and "'age' is a required property" in missing.error
    prose = shape.check("Sure! Here is the JSON you asked for", "stop")
    assert not prose.valid and "not JSON" in prose.error
    cut = shape.check('{"name": "Ad', "length")
    assert "cut at max_tokens" in cut.error
    assert Shape("choice", choices=("yes", "no")).check("yes").valid
    wrong = Shape("choice", choices=("yes", "no")).check("maybe")
    assert not wrong.valid and "'maybe' is none of ['yes', 'no']" in wrong.error
    assert Shape("regex", pattern="[0-9]{3}-[a-z]{2}").check("123-ab").valid
    assert not Shape("regex", pattern="[0-9]{3}-[a-z]{2}").check("123-abc").valid


def test_bad_shapes_say_where(tmp_path: Path) -> None:
    with pytest.raises(ShapeError, match="line 2, column"):
        parse_shape('{"type": "object",\n "properties": }')
    with pytest.raises(ShapeError, match="not a valid JSON schema"):
        parse_shape('{"type": "nonsense"}')
    with pytest.raises(ShapeError, match="at least two"):
        parse_shape("choice: yes")
    with pytest.raises(ShapeError, match="does not compile"):
        parse_shape("regex: [0-9")
    with pytest.raises(ShapeError, match="no such file"):
        parse_shape(f"@{tmp_path / 'none.json'}")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "type": "object",\n  oops\n}')
    with pytest.raises(ShapeError, match=rf"{broken}: not JSON at line 3"):
        parse_shape(f"@{broken}")
    good = tmp_path / "person.json"
    good.write_text(json.dumps(PERSON))
    shape = parse_shape(f"@{good}")
    assert shape is not None and shape.schema == PERSON and shape.spec == f"@{good}"
    with pytest.raises(ShapeError, match="an answer shape is"):
        parse_shape("make it json please")


def test_the_old_guided_fields_are_never_sent() -> None:
    extra = {"guided_json": PERSON, "guided_choice": ["a", "b"], "chat_template_kwargs": {"x": 1}}
    moved, names = modern_extra(extra)
    assert names == ["guided_json", "guided_choice"]
    assert moved == {"chat_template_kwargs": {"x": 1}, "structured_outputs": {"json": PERSON, "choice": ["a", "b"]}}
    body = request_body(ChatRequest(EP, "m", ({"role": "user", "content": "hi"},), extra=extra))
    assert not any(k.startswith("guided_") for k in body) and body["structured_outputs"]["json"] == PERSON
    shape = shape_of_body(body)
    assert shape is not None and shape.kind == "schema" and shape.schema == PERSON


# ---- images ----------------------------------------------------------------------------------------------------
def picture(path: Path, size: tuple[int, int], fmt: str = "JPEG", mode: str = "RGB") -> Path:
    img = Image.new(mode, size, (200, 30, 40, 128) if mode == "RGBA" else (200, 30, 40))
    img.save(path, fmt)
    return path


@pytest.mark.parametrize(
    ("size", "sent", "tokens"),
    [
        ((4000, 3000), (896, 672), 32 * 24 + 2),  # a photo: into the default 768-patch budget
        ((448, 336), (448, 336), 16 * 12 + 2),  # small enough: as it is (multiples of 28 already)
        ((30, 30), (56, 56), 4 + 2),  # too small: up to min_pixels, as the processor does
        ((700, 525), (700, 532), 25 * 19 + 2),  # sides rounded to multiples of 28
    ],
)
def test_downscaled_the_way_qwen2_vl_resizes_and_costed_a_token_a_patch(
    tmp_path: Path, size: tuple[int, int], sent: tuple[int, int], tokens: int
) -> None:
    prepared = images.prepare(picture(tmp_path / "p.jpg", size), images.Budget())
    ref = prepared.ref
    assert (ref.width, ref.height) == sent and (ref.source_width, ref.source_height) == size
    assert ref.tokens == tokens and ref.mime == "image/jpeg" and ref.size == len(prepared.data)
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert img.size == sent and img.format == "JPEG"


def test_the_servers_budget_and_transparency_are_kept(tmp_path: Path) -> None:
    budget = images.Budget(max_pixels=200_704, source="server")
    prepared = images.prepare(picture(tmp_path / "a.png", (1200, 900), "PNG", "RGBA"), budget)
    assert prepared.ref.mime == "image/png" and prepared.ref.width * prepared.ref.height <= 200_704
    assert prepared.ref.file_name.endswith(".png")
    other = images.prepare(picture(tmp_path / "b.jpg", (4000, 3000)), images.Budget(max_pixels=1_000_000, qwen=False))
    assert other.ref.width * other.ref.height <= 1_000_000 and other.ref.tokens is None


def test_stored_once_by_sha256_and_read_back(tmp_path: Path) -> None:
    prepared = images.prepare(picture(tmp_path / "p.jpg", (640, 480)), images.Budget())
    folder = tmp_path / "data" / "images"
    first = images.save(prepared, folder)
    assert first.name == f"{prepared.ref.sha256}.jpg" and images.save(prepared, folder) == first
    assert len(list(folder.iterdir())) == 1
    assert images.load(prepared.ref, folder) == prepared.data
    url = images.data_url(prepared.ref, prepared.data)
    assert url.startswith("data:image/jpeg;base64,") and base64.b64decode(url.split(",", 1)[1]) == prepared.data
    first.write_bytes(b"changed")
    with pytest.raises(images.ImageError, match="changed since it was stored"):
        images.load(prepared.ref, folder)


def test_bad_images_are_named_with_what_to_do(tmp_path: Path) -> None:
    budget = images.Budget()
    with pytest.raises(images.ImageError, match="no such file"):
        images.prepare(tmp_path / "missing.png", budget)
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(images.ImageError, match="not an image this program can read"):
        images.prepare(tmp_path / "notes.txt", budget)
    whole = picture(tmp_path / "whole.jpg", (800, 600)).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    with pytest.raises(images.ImageError, match="damaged or cut short"):
        images.prepare(tmp_path / "cut.jpg", budget)
    huge = tmp_path / "huge.png"
    Image.new("L", (10_000, 10_000)).save(huge, "PNG")  # compresses to ~100 kB: the pixels are the problem
    with pytest.raises(images.ImageError, match=r"10000x10000 is 100 Mpx, over the 64 Mpx"):
        images.prepare(huge, budget)
    big = tmp_path / "big.jpg"
    with big.open("wb") as fh:
        fh.truncate(100 * 1000 * 1000)  # a sparse 100 MB file: refused by its size before any read
    with pytest.raises(images.ImageError, match="100 MB is over the 50 MiB limit"):
        images.prepare(big, budget)
    with pytest.raises(images.ImageError, match="not a file"):
        images.prepare(tmp_path, budget)


def test_cost_lines() -> None:
    a = ImageRef("a" * 64, "image/jpeg", 1036, 784, "cat.jpg", 4000, 3000, 1038, 1)
    b = ImageRef("b" * 64, "image/png", 56, 56, "dot.png", 56, 56, None, 1)
    assert images.ref_line(a, 1) == "[Image #1] cat.jpg 4000x3000 → 1036x784 · ~1,038 tokens"
    assert images.ref_line(b, 2) == "[Image #2] dot.png 56x56"
    assert images.cost_line((a,)) == "1 image · ~1,038 tokens"
    assert images.cost_line((a, b)) == "2 images · ≥ ~1,038 tokens"


# ---- what a server can take ------------------------------------------------------------------------------------
def test_vision_and_tools_from_the_launch_line_the_architecture_and_the_name() -> None:
    line = (
        "vllm serve Qwen/Qwen2.5-VL-3B-Instruct --limit-mm-per-prompt '{\"image\": 2}' "
        "--mm-processor-kwargs '{\"max_pixels\": 401408}' --enable-auto-tool-choice --tool-call-parser hermes"
    )
    caps = capabilities("Qwen/Qwen2.5-VL-3B-Instruct", command=line)
    assert caps.vision and caps.max_images == 2 and caps.budget.max_pixels == 401_408 and caps.budget.qwen
    assert caps.tools and caps.tool_parser == "hermes" and "hermes" in caps.tools_line()
    assert caps.budget.source == "server" and "server" in caps.budget.line()
    text_only = capabilities("tiny", arches=("LlamaForCausalLM",), command="vllm serve tiny --port 8000")
    assert text_only.vision is False and "LlamaForCausalLM" in text_only.vision_line()
    assert not text_only.tools and "--enable-auto-tool-choice" in text_only.tools_why
    assert capabilities("tiny", arches=("Qwen2VLForConditionalGeneration",)).vision
    assert capabilities("llava-hf/llava-1.5-7b-hf").vision and not capabilities("llava-hf/llava-1.5-7b-hf").budget.qwen
    assert capabilities("meta-llama/Llama-3.1-8B").vision is None
    assert capabilities("x", command="vllm serve x --limit-mm-per-prompt image=0").vision is False
    assert capabilities("x", command="vllm serve x --enable-auto-tool-choice").tools is False
    assert flags("a --x=1 --y 2 --z --w") == {"--x": "1", "--y": "2", "--z": "", "--w": ""}


# ---- the wire ---------------------------------------------------------------------------------------------------
def test_images_go_as_content_parts_with_data_urls_read_when_sent() -> None:
    ref = ImageRef("c" * 64, "image/png", 56, 56, "dot.png")
    req = ChatRequest(EP, "m", ({"role": "user", "content": user_content("what is it?", (ref,))},))
    asked: list[ImageRef] = []

    def load(r: ImageRef) -> str:
        asked.append(r)
        return "data:image/png;base64,AAAA"

    body = request_body(req, load)
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "what is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    assert asked == [ref] and req.images == (ref,) and req.path == "/chat/completions"
    assert user_content("plain", ()) == "plain"


def test_a_completion_is_a_prompt_to_v1_completions_with_the_shape() -> None:
    req = ChatRequest(EP, "m", (), 0.0, None, 8, shape=Shape("choice", choices=("a", "b")), prompt="Once upon")
    body = request_body(req)
    assert req.path == "/completions" and "messages" not in body and body["prompt"] == "Once upon"
    assert body["structured_outputs"] == {"choice": ["a", "b"]} and body["stream_options"] == {"include_usage": True}


def test_streamed_tool_calls_and_completion_text_are_events() -> None:
    first = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": ""},
                        }
                    ]
                },
            }
        ]
    }
    piece = {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city"'}}]}}]}
    (a,) = parse_data(json.dumps(first))
    (b,) = parse_data(json.dumps(piece))
    assert (a.kind, a.name, a.call_id, a.text, a.call) == ("tool", "weather", "call_1", "", 0)
    assert (b.kind, b.name, b.text) == ("tool", "", '{"city"')
    (c,) = parse_data(json.dumps({"choices": [{"index": 0, "text": "upon a time"}]}))
    assert (c.kind, c.text) == ("content", "upon a time")


# ---- the session and the store ---------------------------------------------------------------------------------
def test_the_session_sends_earlier_images_again_and_keeps_completions_out_of_the_conversation() -> None:
    ref = ImageRef("d" * 64, "image/jpeg", 56, 56, "a.jpg")
    s = ChatSession(EP, ChatSettings(system_prompt="be brief"), model="m")
    s = s.begin("look", 1, (ref,)).add_text("a cat", "").end("done", MessageStats())
    s = s.begin("Once upon", 2, mode="completion").add_text(" a time", "").end("done", MessageStats())
    assert s.messages[-1].mode == "completion" and s.messages[-2].mode == "completion"
    req = s.request("and now?")
    contents = [m["content"] for m in req.messages]
    assert contents[0] == "be brief" and contents[1][1] == {"type": "image_ref", "ref": ref}
    assert len(req.messages) == 4 and req.images == (ref,)
    completion = ChatSession(EP, ChatSettings(mode="completion"), model="m").request("Once")
    assert completion.prompt == "Once" and completion.messages == ()


def test_settings_keep_the_shape_and_mode() -> None:
    settings = ChatSettings(shape=Shape("regex", pattern="[a-z]+", spec="regex: [a-z]+"), mode="completion")
    back = ChatSettings.from_dict(json.loads(json.dumps(settings.to_dict())), ChatSettings())
    assert back.shape == settings.shape and back.mode == "completion"
    assert ChatSettings.from_dict({"shape": {"kind": "evil"}}, ChatSettings()).shape is None


def test_the_store_keeps_references_never_bytes_and_migrates_a_version_1_store(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with sqlite3.connect(path) as old:  # a version-1 store, as the last release wrote it
        old.executescript(
            "CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, "
            "updated REAL NOT NULL, endpoint TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', "
            "settings TEXT NOT NULL DEFAULT '{}');"
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL, role TEXT NOT NULL, "
            "content TEXT NOT NULL DEFAULT '', reasoning TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT "
            "'done', stats TEXT, created REAL NOT NULL);"
            "CREATE TABLE chunks (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL, kind TEXT NOT NULL, "
            "text TEXT NOT NULL);"
            "INSERT INTO conversations VALUES (1, 'old', 1, 1, '', 'm', '{}');"
            "INSERT INTO messages VALUES (1, 1, 'user', 'kept', '', 'done', NULL, 1);"
            "PRAGMA user_version = 1;"
        )
    ref = ImageRef("e" * 64, "image/jpeg", 56, 56, "a.jpg", 56, 56, 6, 100)
    with ChatStore(path) as store:
        assert store.load(1).messages[0].content == "kept"
        user = ChatMessage("user", "look", images=(ref,))
        store.add_message(1, "user", "look", extra=user.extra())
        mid = store.start_message(1)
        store.append_many(mid, [("content", '{"a": 1}')])
        store.finish_message(mid, "done", MessageStats())
        answer = ChatMessage(
            "assistant", "", tool_calls=(ToolCall("f", '{"x": 1}', "c1"),), check=ShapeCheck("schema", True)
        )
        store.set_extra(mid, answer.extra())
        loaded = store.load(1).messages
    assert loaded[1].images == (ref,) and loaded[2].tool_calls == (ToolCall("f", '{"x": 1}', "c1"),)
    assert loaded[2].check == ShapeCheck("schema", True)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        raw = " ".join(str(r) for r in conn.execute("SELECT * FROM messages"))
    assert "base64" not in raw and "e" * 64 in raw


def test_a_local_model_folder_tells_its_architecture_and_caps_the_budget(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["Qwen2_5_VLForConditionalGeneration"]}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"size": {"longest_edge": 200_704}}))
    files = model_files(str(tmp_path))
    caps = capabilities("tiny", str(tmp_path), files=files)
    assert caps.vision and caps.budget.max_pixels == 200_704 and caps.budget.source == "model"
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"max_pixels": 12_845_056}))  # the 16k trap
    assert capabilities("tiny", str(tmp_path), files=model_files(str(tmp_path))).budget.max_pixels == 602_112
    assert model_files("Qwen/Qwen2.5-VL-3B-Instruct").architectures == ()  # a repo id: nothing is read


def test_exports_link_or_name_images_and_keep_calls_and_checks() -> None:
    from console.chat import export
    from console.chat.model import Conversation

    ref = ImageRef("f" * 64, "image/jpeg", 896, 672, "cat\x1b[31m.jpg", 4000, 3000, 770, 1234)
    conv = Conversation(
        1,
        "cats",
        1.0,
        2.0,
        messages=(
            ChatMessage("user", "what is it?", images=(ref,)),
            ChatMessage(
                "assistant", '{"a": 1}', tool_calls=(ToolCall("f", "{}", "c"),), check=ShapeCheck("schema", True)
            ),
        ),
    )
    md = export.to_markdown(conv)
    assert f"![Image #1: cat␛[31m.jpg (896x672, ~770 tokens)](../images/{'f' * 64}.jpg)" in md
    assert "Tool call: `f({})`" in md and "*✓ valid (JSON schema)*" in md and "base64" not in md
    back = export.from_json(export.to_json(conv))
    assert back.messages[0].images[0].sha256 == "f" * 64 and back.messages[1].tool_calls == (ToolCall("f", "{}", "c"),)
    assert back.messages[1].check == ShapeCheck("schema", True) and "\x1b" not in export.to_json(conv)


def test_a_sideways_phone_photo_is_sent_upright(tmp_path: Path) -> None:
    img = Image.new("RGB", (400, 300), (10, 10, 10))
    img.paste((250, 250, 250), (0, 0, 400, 100))  # the top band of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    img.save(tmp_path / "phone.jpg", exif=exif)
    prepared = images.prepare(tmp_path / "phone.jpg", images.Budget())
    assert (prepared.ref.source_width, prepared.ref.source_height) == (300, 400)  # as it is seen
    with Image.open(io.BytesIO(prepared.data)) as sent:
        assert sent.height > sent.width
        right = sent.getpixel((sent.width - 5, sent.height // 2))
        assert isinstance(right, tuple) and right[0] > 200  # the stored top band is now on the right


def test_earlier_images_past_the_servers_limit_and_lost_files_go_as_notes() -> None:
    old = ImageRef("1" * 64, "image/jpeg", 56, 56, "old.jpg")
    new = ImageRef("2" * 64, "image/jpeg", 56, 56, "new.jpg")
    s = (
        ChatSession(EP, ChatSettings(), model="m")
        .begin("first", 1, (old,))
        .add_text("a", "")
        .end("done", MessageStats())
    )
    req = s.request("second", (new,), max_images=1)
    assert req.images == (new,)
    assert req.messages[0]["content"][1] == {"type": "text", "text": "[image old.jpg: sent in an earlier turn]"}
    body = request_body(s.request("second", (new,)), lambda r: None if r is old else "data:image/jpeg;base64,AA")
    parts = [p for m in body["messages"] for p in m["content"]]
    assert {"type": "text", "text": "[image old.jpg: no longer stored]"} in parts
    assert {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA"}} in parts


def test_small_judgements_of_the_review() -> None:
    from console.chat.capability import is_sglang
    from console.chat.endpoints import is_local
    from console.chat.session import _shape_from
    from console.ui.widgets.chat_image import Guarded

    assert is_local("http://127.0.0.1:8000/v1") and is_local("http://[::1]:8000") and is_local("http://localhost:1")
    assert is_local("http://0.0.0.0:8000") and not is_local("http://10.0.0.5:8000") and not is_local("http://thor:8000")
    assert is_sglang("python3 -m sglang.launch_server --model-path m --tool-call-parser qwen25")
    assert not is_sglang("vllm serve /models/sglang-tuned --port 8000")
    sg = capabilities("m", command="python3 -m sglang.launch_server --model-path m --tool-call-parser qwen25")
    assert sg.tools and not capabilities("m", command="vllm serve /models/sglang-x --tool-call-parser h").tools
    assert _shape_from({"kind": "schema"}) is None and _shape_from({"kind": "choice", "schema_json": "[1]"}) is None
    assert _shape_from({"kind": "schema", "schema_json": '{"type": "object"}'}) is not None
    (c,) = parse_data(json.dumps({"choices": [{"index": 0, "delta": "odd", "text": "t"}]}))
    assert (c.kind, c.text) == ("content", "t")

    class Broken:
        def __rich_console__(self, console, options):
            raise OSError("no terminal")
            yield  # pragma: no cover

    from rich.console import Console

    console = Console(width=40, record=True, file=io.StringIO())
    console.print(Guarded(Broken()))
    assert "not drawn: no terminal" in console.export_text()
