"""The context window (issue 15): the gauge, the servers' "too long" errors, what a trim drops, and the
settings checked against the model's context, every bad field named at once."""

from __future__ import annotations

import pytest

from console.chat.context import Overflow, gauge, overflow, to_drop
from console.chat.endpoints import Endpoint
from console.chat.model import ChatMessage, Conversation, MessageStats
from console.chat.session import ChatSession, ChatSettings, SettingsError, parse_settings
from console.chat.wire import ModelInfo

EP = Endpoint("http://h:8000/v1", None, "config")
VLLM_OLD = (
    "This model's maximum context length is 1024 tokens. However, you requested 1100 tokens "
    "(600 in the messages, 500 in the completion). Please reduce the length of the messages or completion."
)
VLLM_032 = (
    "This model's maximum context length is 1024 tokens. However, your prompt contains at least 1025 input "
    "tokens, which exceeds this limit even without any output tokens. Please reduce the length of the input "
    "prompt. (parameter=input_tokens, value=1025) (BadRequestError)"
)
VLLM_011 = (
    "'max_tokens' or 'max_completion_tokens' is too large: 500. This model's maximum context length is 1024 "
    "tokens and your request has 600 input tokens (500 > 1024 - 600). (BadRequestError)"
)
SGLANG = (
    "Requested token count exceeds the model's maximum context length of 1024 tokens. You requested a total "
    "of 1100 tokens: 600 tokens from the input messages and 500 tokens for the completion."
)
SGLANG_INPUT = "The input (1100 tokens) is longer than the model's context length (1024 tokens)."
SETTING = "max_tokens=5000 cannot be greater than max_model_len=1024. Please request fewer output tokens."


@pytest.mark.parametrize(
    ("error", "want"),
    [
        (VLLM_OLD, Overflow(1024, 600, 1100)),
        (VLLM_032, Overflow(1024, 1025, None)),
        (VLLM_011, Overflow(1024, 600, 1100)),
        (SGLANG, Overflow(1024, 600, 1100)),
        (SGLANG_INPUT, Overflow(1024, 1100, None)),
        (SETTING, Overflow(1024, setting=True)),
    ],
)
def test_the_servers_too_long_errors_are_recognised(error: str, want: Overflow) -> None:
    assert overflow(error) == want


@pytest.mark.parametrize(
    "error",
    [
        None,
        "",
        "The model `nope` does not exist. Valid aliases: tiny. (NotFoundError)",
        "EngineCore encountered an issue. See stack trace (above) for the root cause. (InternalServerError)",
        "cannot reach http://h:8000/v1/chat/completions: Connection refused.",
    ],
)
def test_other_errors_are_not_overflows(error: str | None) -> None:
    assert overflow(error) is None


def test_gauge_text_and_level() -> None:
    assert gauge(812, 1024) == ("ctx 812/1024", "")  # 79 %
    assert gauge(700, 1024) == ("ctx 700/1024", "")
    assert gauge(820, 1024) == ("ctx 820/1024", "warn")
    assert gauge(990, 1024) == ("ctx 990/1024", "full")
    assert gauge(1100, 1024) == ("ctx 1100/1024", "full")
    assert gauge(None, 1024) == ("ctx ?/1024", "")
    assert gauge(None, 1024, empty=True) == ("ctx 0/1024", "")
    assert gauge(10, None) == ("", "")


def test_to_drop_frees_what_went_over_by_length_and_never_the_last_turn() -> None:
    roles = ["user", "assistant"] * 4
    sizes = [100] * 8  # 800 characters for 600 prompt tokens
    # 1100 asked of 1024: 76 tokens over, ~101 characters: the first turn (200 characters) is enough
    assert to_drop(sizes, roles, Overflow(1024, 600, 1100), room=256) == 2
    # 0.32 gives the prompt only: 1025 - 1024 + 256 room = 257 tokens, 200.6 of its 800 characters: two turns
    assert to_drop(sizes, roles, Overflow(1024, 1025, None), room=256) == 4
    assert to_drop(sizes, roles, Overflow(1024, 1025, None), room=200) == 2
    assert to_drop(sizes, roles, Overflow(1024, 3000, None), room=256) == 6  # all but the last turn
    assert to_drop(sizes, roles, None, room=256) == 2  # no figures: one turn
    assert to_drop([100, 0], ["user", "assistant"], Overflow(1024, 2000, None), room=256) == 0  # one turn left


def a(content: str, status: str = "done", **stats: object) -> ChatMessage:
    return ChatMessage("assistant", content, status=status, stats=MessageStats(**stats) if stats else None)


def u(content: str) -> ChatMessage:
    return ChatMessage("user", content)


def chat(**kw: object) -> ChatSession:
    models = (ModelInfo("m", 1024),)
    return ChatSession(EP, kw.pop("settings", ChatSettings()), model="m", models=models, **kw)  # type: ignore[arg-type]


def test_the_gauge_follows_the_answers_usage_and_a_too_long_error() -> None:
    s = chat()
    assert s.gauge() == ("ctx 0/1024", "")
    s = s.begin("q1", 1).end("done", MessageStats(prompt_tokens=300, completion_tokens=200))
    assert s.context_tokens == 500 and s.gauge() == ("ctx 500/1024", "")
    s = s.begin("q2", 2).end("error", MessageStats(error=VLLM_OLD))
    assert s.gauge() == ("ctx 1100/1024", "full") and s.overflow == Overflow(1024, 600, 1100)
    s = s.begin("q3", 3).end("error", MessageStats(error="connection refused"))
    assert s.context_tokens == 1100 and s.overflow is None  # an answer that tells nothing keeps the figure


def test_trim_stops_sending_the_oldest_turns_keeps_them_and_the_system_prompt() -> None:
    messages = (u("q1" * 50), a("a1" * 50), u("q2" * 50), a("a2" * 50), u("q3"), a("", "error", error=VLLM_OLD))
    s = chat(messages=messages, settings=ChatSettings(system_prompt="Be brief."))
    assert s.overflow is not None
    count = s.trim_count()
    assert count == 2
    trimmed = s.trim(count)
    assert trimmed.messages == messages and trimmed.trimmed == 2 and trimmed.context_tokens is None
    sent = trimmed.request("q3").messages
    # the system prompt stays; the refused question is not sent twice (asking again sends it anew)
    assert [m["content"] for m in sent] == ["Be brief.", "q2" * 50, "a2" * 50, "q3"]
    assert trimmed.gauge() == ("ctx ?/1024", "")
    assert trimmed.saved_settings()["trimmed"] == 2 and "trimmed" not in s.saved_settings()
    assert trimmed.trim(trimmed.trim_count()).trim_count() == 0  # the last turn is never trimmed


def test_a_trim_is_kept_with_the_conversation() -> None:
    messages = (u("q1"), a("a1"), u("q2"), a("a2", prompt_tokens=40, completion_tokens=2))
    conv = Conversation(1, "t", 0.0, 0.0, model="m", settings={"max_tokens": 64, "trimmed": 2}, messages=messages)
    s = chat().load(conv, ChatSettings())
    assert s.trimmed == 2 and s.settings.max_tokens == 64 and s.context_tokens == 42
    assert [m["content"] for m in s.request("q3").messages] == ["q2", "a2", "q3"]
    assert s.clear().trimmed == 0


def test_settings_name_every_bad_field_at_once_with_its_label() -> None:
    with pytest.raises(SettingsError) as err:
        parse_settings("", "5", "2", "99999", "{broken", max_model_len=1024)
    assert err.value.fields == ("temperature", "top_p", "max_tokens", "extra_body")
    lines = str(err.value).splitlines()
    assert lines[0] == "Temperature: must be between 0 and 2"
    assert lines[1] == "top_p: must be between 0 and 1"
    assert lines[2].startswith("max_tokens: must be less than the model's context (1024 tokens)")
    assert lines[3].startswith("Extra body fields: not JSON")


def test_max_tokens_is_checked_against_the_models_context() -> None:
    assert parse_settings("", "", "", "1023", "", max_model_len=1024).max_tokens == 1023
    with pytest.raises(SettingsError, match="less than the model's context"):
        parse_settings("", "", "", "1024", "", max_model_len=1024)
    assert parse_settings("", "", "", "99999", "").max_tokens == 99999  # no model known: the server says
