"""The chat session (what is sent, turns, titles, figures), the settings form, endpoints and keys, [chat] config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from console import config as cfg
from console.chat.endpoints import Endpoint, endpoints, resolve_key, root_url, v1_url
from console.chat.model import ChatMessage, Conversation, MessageStats
from console.chat.session import (
    MAX_TITLE,
    ChatSession,
    ChatSettings,
    SettingsError,
    parse_settings,
    stats_line,
    title_from,
)
from console.chat.wire import ChatRequest, ModelInfo

ROOT = Path(__file__).resolve().parents[2]
EP = Endpoint("http://h:8000/v1", "sk-very-secret", "config")


def session(**kw) -> ChatSession:
    return ChatSession(EP, kw.pop("settings", ChatSettings()), model=kw.pop("model", "m"), **kw)


def a(content: str, status: str = "done") -> ChatMessage:
    return ChatMessage("assistant", content, status=status)


def u(content: str) -> ChatMessage:
    return ChatMessage("user", content)


# ---- what is sent ---------------------------------------------------------------------------------------------


def test_request_puts_the_system_prompt_first_and_the_new_question_last() -> None:
    s = session(
        settings=ChatSettings(
            system_prompt="Be brief.", temperature=0.3, top_p=0.8, max_tokens=99, extra_body={"top_k": 5}
        )
    )
    s = dataclasses.replace(s, messages=(u("q1"), a("a1")))
    r = s.request("q2")
    assert isinstance(r, ChatRequest)
    assert r.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    )
    assert (r.endpoint, r.model, r.temperature, r.top_p, r.max_tokens, r.extra) == (EP, "m", 0.3, 0.8, 99, {"top_k": 5})


def test_request_without_system_prompt_has_no_system_turn() -> None:
    s = session()
    assert s.request("hi").messages == ({"role": "user", "content": "hi"},)
    assert s.request().messages == ()


def test_request_leaves_out_failed_and_empty_answers_keeps_stopped_ones() -> None:
    s = session(
        messages=(
            u("q1"),
            a("half an answer", "error"),
            u("q2"),
            a("", "done"),
            u("q3"),
            a("partial", "stopped"),
            u("q4"),
            a("left by a crash", "interrupted"),
            u("q5"),
            a("full", "done"),
        )
    )
    sent = s.request("q6").messages
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "q1"),
        ("user", "q2"),
        ("user", "q3"),
        ("assistant", "partial"),
        ("user", "q4"),
        ("user", "q5"),
        ("assistant", "full"),
        ("user", "q6"),
    ]


def test_request_extra_is_a_copy() -> None:
    s = session(settings=ChatSettings(extra_body={"chat_template_kwargs": {"enable_thinking": False}}))
    r = s.request("x")
    r.extra["added"] = 1
    assert s.settings.extra_body == {"chat_template_kwargs": {"enable_thinking": False}}


def test_request_needs_endpoint_and_model() -> None:
    with pytest.raises(AssertionError):
        ChatSession(None, ChatSettings(), "m").request("x")
    with pytest.raises(AssertionError):
        ChatSession(EP, ChatSettings(), None).request("x")


# ---- turns ------------------------------------------------------------------------------------------------------


def test_begin_add_text_end() -> None:
    s0 = session()
    s = s0.begin("  What is   Thor?  ", 7)
    assert s0.messages == () and s0.answering is None  # immutable: the old session is unchanged
    assert s.answering == 7 and s.title == "What is Thor?"
    assert s.messages == (ChatMessage("user", "  What is   Thor?  "),)
    s = s.add_text("Thor", "think").add_text("", " more").add_text(" is big.", "")
    assert s.answer_content == ("Thor", " is big.") and s.answer_reasoning == ("think", " more")
    stats = MessageStats(ttft=0.1, finish_reason="stop")
    s = s.end("done", stats)
    assert s.messages[-1] == ChatMessage("assistant", "Thor is big.", "think more", "done", stats)
    assert s.answering is None and (s.answer_content, s.answer_reasoning) == ((), ())
    s = s.begin("second question", 8)
    assert s.title == "What is Thor?"  # the first question names the conversation
    assert s.answer_content == ()


def test_begin_clears_text_left_from_an_earlier_answer() -> None:
    s = session().begin("q", 1).add_text("stale", "stale").begin("q again", 2)
    assert s.end("stopped", MessageStats()).messages[-1].content == ""


def test_load_drops_system_turns_and_takes_the_conversation_settings() -> None:
    conv = Conversation(
        5,
        "T",
        0.0,
        0.0,
        model="other",
        settings={"temperature": 0.1, "unknown": 1},
        messages=(ChatMessage("system", "S"), u("q"), a("x")),
    )
    s = session().load(conv, ChatSettings(top_p=0.5))
    assert (s.conversation_id, s.title, s.model) == (5, "T", "other")
    assert [m.role for m in s.messages] == ["user", "assistant"]
    assert s.settings == ChatSettings(temperature=0.1, top_p=0.5)
    s = s.clear()
    assert (s.conversation_id, s.title, s.messages) == (None, "", ())


def test_models_listed_keep_the_chosen_model_while_it_is_listed() -> None:
    s = session(model="b").with_models((ModelInfo("a"), ModelInfo("b")))
    assert s.model == "b"
    assert s.with_models((ModelInfo("c"),)).model == "c"
    assert s.with_models(()).model is None


def test_max_model_len_is_the_chosen_models() -> None:
    s = session(models=(ModelInfo("a", 1024), ModelInfo("m", 32768)))
    assert s.max_model_len == 32768
    s = dataclasses.replace(s, model="zzz")
    assert s.max_model_len is None


def test_title_from() -> None:
    assert title_from("  hello\n\tworld  ") == "hello world"
    exact = "x" * MAX_TITLE
    assert title_from(exact) == exact
    long = " ".join(["word"] * 40)
    t = title_from(long)
    assert len(t) == MAX_TITLE and t.endswith("…") and long.startswith(t[:-1])


# ---- stats_line -------------------------------------------------------------------------------------------------


def test_stats_line_everything_known() -> None:
    s = MessageStats(
        ttft=0.0414, total=2.0, prompt_tokens=19, completion_tokens=40, decode_tps=35.24, finish_reason="length"
    )
    assert stats_line(s) == "TTFT 41 ms · 35.2 tok/s · 19+40 tokens · length"


def test_stats_line_partial_and_statuses() -> None:
    assert stats_line(None) == "done"
    assert stats_line(None, "streaming") == "streaming"
    assert stats_line(MessageStats()) == "done"
    assert stats_line(MessageStats(), "error") == "error"
    assert stats_line(MessageStats(completion_tokens=5)) == "?+5 tokens"
    assert stats_line(MessageStats(prompt_tokens=7)) == "7+? tokens"
    assert stats_line(MessageStats(ttft=1.2, finish_reason="abort"), "stopped") == "TTFT 1200 ms · stopped (Esc)"
    assert stats_line(MessageStats(ttft=0.5, error="cut"), "error") == "TTFT 500 ms · error"


# ---- the settings form ------------------------------------------------------------------------------------------


def test_parse_settings_valid_and_empty_means_server_default() -> None:
    s = parse_settings("Be brief.", "0.2", "0.95", "128", '{"chat_template_kwargs": {"enable_thinking": false}}')
    assert s == ChatSettings("Be brief.", 0.2, 0.95, 128, {"chat_template_kwargs": {"enable_thinking": False}})
    assert isinstance(s.max_tokens, int)
    assert parse_settings("", " ", "", "", "  ") == ChatSettings("", None, None, None, {})
    assert parse_settings("", "0", "0", "1e3", "{}").max_tokens == 1000
    assert parse_settings("", "2", "1", "1", "").temperature == 2.0  # bounds included


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"temperature": "hot"}, "Temperature: not a number: 'hot'"),
        ({"temperature": "2.5"}, "Temperature: must be between 0 and 2"),
        ({"temperature": "-0.1"}, "Temperature: must be between 0 and 2"),
        ({"temperature": "nan"}, "Temperature: must be between 0 and 2"),
        ({"top_p": "1.01"}, "top_p: must be between 0 and 1"),
        ({"top_p": "x"}, "top_p: not a number: 'x'"),
        ({"max_tokens": "0"}, "max_tokens: must be between 1 and"),
        ({"max_tokens": "12.5"}, "max_tokens: must be a whole number"),
        ({"max_tokens": "many"}, "max_tokens: not a number: 'many'"),
        ({"max_tokens": "inf"}, "max_tokens: must be between 1 and"),
        ({"extra_body": "{broken"}, "Extra body fields: not JSON"),
        ({"extra_body": "[1, 2]"}, "Extra body fields: must be a JSON object"),
        ({"extra_body": '"text"'}, "Extra body fields: must be a JSON object"),
    ],
)
def test_parse_settings_errors_name_the_field(fields: dict[str, str], words: str) -> None:
    values = {"system_prompt": "", "temperature": "0.7", "top_p": "1", "max_tokens": "512", "extra_body": ""}
    values.update(fields)
    with pytest.raises(SettingsError) as err:
        parse_settings(**values)
    assert str(err.value).startswith(words)
    assert isinstance(err.value, ValueError)


def test_settings_round_trip_through_dict() -> None:
    s = ChatSettings("sys", 0.1, None, 64, {"top_k": 3})
    assert ChatSettings.from_dict(s.to_dict(), ChatSettings()) == s
    assert ChatSettings.from_dict({"max_tokens": 9, "junk": True}, s) == dataclasses.replace(s, max_tokens=9)


# ---- endpoints and keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "v1", "root"),
    [
        ("http://h:8000", "http://h:8000/v1", "http://h:8000"),
        ("http://h:8000/", "http://h:8000/v1", "http://h:8000"),
        ("http://h:8000/v1", "http://h:8000/v1", "http://h:8000"),
        ("http://h:8000/v1/", "http://h:8000/v1", "http://h:8000"),
        ("https://proxy.example/llm/v1", "https://proxy.example/llm/v1", "https://proxy.example/llm"),
    ],
)
def test_v1_and_root_urls(url: str, v1: str, root: str) -> None:
    assert v1_url(url) == v1
    assert root_url(url) == root
    assert root_url(v1_url(url)) == root and v1_url(root_url(url)) == v1


def test_resolve_key() -> None:
    env = {"VLLM_API_KEY": "sk-from-env", "EMPTY": ""}
    assert resolve_key("env:VLLM_API_KEY", env) == "sk-from-env"
    assert resolve_key("env:MISSING", env) is None
    assert resolve_key("env:EMPTY", env) is None
    assert resolve_key("sk-literal", env) == "sk-literal"
    assert resolve_key("", env) is None and resolve_key(None, env) is None


def test_resolve_key_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JC_TEST_KEY", "sk-process")
    assert resolve_key("env:JC_TEST_KEY") == "sk-process"
    monkeypatch.delenv("JC_TEST_KEY")
    assert resolve_key("env:JC_TEST_KEY") is None


def test_endpoints_with_keys_by_url_with_or_without_v1() -> None:
    env = {"K1": "sk-one"}
    keys = {"http://a:8000": "env:K1", "http://b:8000/v1": "sk-literal-two", "http://c:8000/v1": "env:NOPE"}
    eps = endpoints(
        ("http://a:8000/v1", "http://b:8000", "http://c:8000/v1/", "http://d:8000", "http://a:8000"), keys, env
    )
    assert [e.url for e in eps] == ["http://a:8000/v1", "http://b:8000/v1", "http://c:8000/v1", "http://d:8000/v1"]
    assert [(e.api_key, e.key_source) for e in eps] == [
        ("sk-one", "env:K1"),
        ("sk-literal-two", "config"),
        (None, "env:NOPE"),
        (None, ""),
    ]
    assert eps[0].headers() == {"Authorization": "Bearer sk-one"}
    assert eps[2].headers() == {} and eps[3].headers() == {}
    assert eps[0].label == "http://a:8000/v1 (key: env:K1)" and eps[3].label == "http://d:8000/v1"
    assert eps[1].root == "http://b:8000"


def test_key_never_in_repr_or_str() -> None:
    eps = endpoints(
        ("http://a:8000/v1", "http://b:8000/v1"),
        {"http://a:8000/v1": "env:K", "http://b:8000/v1": "sk-literal-in-config"},
        {"K": "sk-from-env-var"},
    )
    s = dataclasses.replace(session(), endpoint=eps[1])
    shown = " ".join([repr(eps), str(eps[0]), str(eps[1]), eps[0].label, eps[1].label, repr(s), repr(s.request("q"))])
    assert eps[0].api_key == "sk-from-env-var" and eps[1].api_key == "sk-literal-in-config"
    assert "sk-from-env-var" not in shown and "sk-literal-in-config" not in shown
    assert "http://a:8000/v1" in shown  # the rest of it is shown


# ---- [chat] and [endpoints] in config ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("[chat]\nsystem_prompt = 3\n", 2, "chat.system_prompt", "expected a string"),
        ("[chat]\ntemperature = 2.5\n", 2, "chat.temperature", "between 0 and 2"),
        ('[chat]\ntemperature = "warm"\n', 2, "chat.temperature", "expected a number"),
        ("[chat]\n# sampling\ntop_p = 1.5\n", 3, "chat.top_p", "between 0 and 1"),
        ("[chat]\nmax_tokens = 0\n", 2, "chat.max_tokens", "between 1 and 1000000"),
        ("[chat]\nmax_tokens = 12.5\n", 2, "chat.max_tokens", "expected an integer"),
        ("[chat]\nmax_tokens = true\n", 2, "chat.max_tokens", "expected an integer"),
        ('[chat]\nextra_body = "enable_thinking=false"\n', 2, "chat.extra_body", "expected a table"),
        ("[chat]\nstore = 5\n", 2, "chat.store", "expected a string"),
        ("[chat]\ntemperature = 0.5\nseed = 1\n", 3, "chat.seed", "unknown key"),
        ('[endpoints]\napi_keys = "env:VLLM_API_KEY"\n', 2, "endpoints.api_keys", "expected a table"),
        ('[endpoints]\napi_keys = { "http://h:8000/v1" = 42 }\n', 2, "endpoints.api_keys", "expected a table"),
        (
            '[endpoints]\nservers = []\napi_keys = { "h:8000" = "sk" }\n',
            3,
            "endpoints.api_keys",
            "not an http(s) URL: 'h:8000'",
        ),
    ],
)
def test_chat_and_api_key_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, path)
    e = err.value
    assert (e.path, e.line, e.key) == (path, line, key)
    assert str(e).startswith(f"{path}:{line}: {key}: ") and words in str(e)


def test_chat_and_api_keys_valid(tmp_path: Path) -> None:
    text = (
        '[endpoints]\nservers = ["http://a:8000/v1"]\n'
        'api_keys = { "http://a:8000/v1" = "env:VLLM_API_KEY" }\n'
        '[chat]\nsystem_prompt = "Be brief."\ntemperature = 0\ntop_p = 0.9\nmax_tokens = 64\n'
        'extra_body = { chat_template_kwargs = { enable_thinking = false } }\nstore = "~/chats.sqlite3"\n'
    )
    c = cfg.parse(text, tmp_path / "c.toml")
    assert c.api_keys == {"http://a:8000/v1": "env:VLLM_API_KEY"}
    assert (c.chat_system_prompt, c.chat_temperature, c.chat_top_p, c.chat_max_tokens) == ("Be brief.", 0, 0.9, 64)
    assert c.chat_extra_body == {"chat_template_kwargs": {"enable_thinking": False}}
    assert c.chat_store == "~/chats.sqlite3"
    assert endpoints(c.servers, c.api_keys, {"VLLM_API_KEY": "sk-x"})[0].api_key == "sk-x"


def test_api_keys_written_as_a_sub_table_error_has_a_line(tmp_path: Path) -> None:
    text = '[endpoints]\nservers = ["http://a:8000/v1"]\n\n[endpoints.api_keys]\n"a:8000" = "sk"\n'
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, tmp_path / "config.toml")
    assert err.value.key == "endpoints.api_keys"
    assert err.value.line in (4, 5)  # the sub-table's header or the bad entry


def test_shipped_config_gives_the_default_chat_settings() -> None:
    from console.runtime.services.chat import settings_from_config

    path = ROOT / "config.toml"
    c = cfg.parse(path.read_text(encoding="utf-8"), path)
    assert dataclasses.replace(c, path=None) == cfg.Config()
    assert c.path == path
    assert (c.api_keys, c.chat_system_prompt, c.chat_extra_body, c.chat_store) == ({}, "", {}, "")
    assert settings_from_config(c) == ChatSettings()
    assert [e.url for e in endpoints(c.servers, c.api_keys)] == ["http://127.0.0.1:8000/v1"]
