"""The bounded log buffer: splitting, cleaning, bounds, search and error jumps."""

from __future__ import annotations

import pytest

from console.containers.logbuffer import MAX_LINE, LogBuffer, clean, might_hold_secret
from console.runtime.secrets import MASK, mask_prose


def test_lines_split_across_chunks_and_flush() -> None:
    buf = LogBuffer()
    assert buf.feed("hel") == []
    assert buf.feed("lo\nwor") == ["hello"]
    assert buf.feed("ld\n\n") == ["world", ""]
    buf.feed("tail without newline")
    assert buf.flush() == ["tail without newline"]
    assert [ln.number for ln in buf.lines()] == [1, 2, 3, 4]


def test_control_characters_never_reach_the_terminal() -> None:
    dirty = "\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 nul\x00 esc\x1b unit\x1f del\x7f csi\x9b"
    text = clean(dirty)
    assert "red" in text and "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert all(ch == "\n" or ch >= " " for ch in text) and "\x7f" not in text and "\x9b" not in text


def test_bounded_in_lines_and_length_with_absolute_numbers() -> None:
    buf = LogBuffer(max_lines=100)
    for i in range(10):
        buf.feed("".join(f"line {i * 1000 + j}\n" for j in range(1000)))
    assert len(buf) == 100 and buf.total == 10_000
    assert buf.first_number == 9901 and buf.lines()[-1].text == "line 9999"
    buf.feed("x" * (MAX_LINE * 3))  # a runaway line without newline is cut, not kept growing
    assert len(buf.lines()[-1].text) == MAX_LINE


def test_one_huge_chunk_keeps_only_the_newest() -> None:
    buf = LogBuffer(max_lines=10)
    buf.feed("".join(f"{i}\n" for i in range(1000)))
    assert [ln.text for ln in buf.lines()] == [str(i) for i in range(990, 1000)]
    assert buf.total == 1000 and buf.first_number == 991


def test_search_and_error_jumps() -> None:
    buf = LogBuffer()
    buf.feed("INFO start\nERROR boom\nINFO Loading weights\nTraceback (most recent call last):\nINFO ok\n")
    assert buf.search("loading") == [3]
    assert buf.search(r"ERR\w+", regex=True) == [2]
    with pytest.raises(ValueError, match="bad search pattern"):
        buf.search("(", regex=True)
    assert buf.next_error(0) == 2 and buf.next_error(2) == 4 and buf.next_error(4) == 2  # wraps
    assert buf.prev_error(4) == 2 and buf.prev_error(1) == 4
    assert LogBuffer().next_error(0) is None


# ---- credentials are masked as lines come in (issue 15): the screen, a search and a saved file see the same text
SECRETS = ("sk-abc123def456ghi789jkl", "hf_AbCdEf0123456789XyZaBc", "tok3n-Secret-Value9", "supersecretvalue")
VLLM_LINES = (
    "2026-01-05T12:00:00.1Z (APIServer pid=1) INFO 01-05 12:00:00 [utils.py:233] non-default args: "
    "{'model_tag': 'Qwen/Qwen3-0.6B', 'api_key': ['sk-abc123def456ghi789jkl'], 'model': 'Qwen/Qwen3-0.6B'}\n"
    "2026-01-05T12:00:01.1Z non-default args: {'api_key': 'supersecretvalue', 'port': 8000}\n"
    "2026-01-05T12:00:02.1Z launching: vllm serve m --api-key tok3n-Secret-Value9 --port 8000\n"
    "2026-01-05T12:00:03.1Z env HF_TOKEN=hf_AbCdEf0123456789XyZaBc set\n"
    "2026-01-05T12:00:04.1Z server_args=ServerArgs(model_path='m', api_key='supersecretvalue', port=30000)\n"
    "2026-01-05T12:00:05.1Z INFO Avg prompt throughput: 512.3 tokens/s, Running: 8 reqs\n"
)


def test_credentials_are_masked_as_lines_come_in_and_searches_see_the_masked_text() -> None:
    buf = LogBuffer(timestamps=True)
    added = buf.feed(VLLM_LINES)
    assert added == buf.texts() and len(added) == 6
    for text in added:
        assert not any(secret in text for secret in SECRETS), text
    assert added[0].endswith(f"'api_key': ['{MASK}'], 'model': 'Qwen/Qwen3-0.6B'}}")
    assert f"--api-key {MASK} --port 8000" in added[2] and f"HF_TOKEN={MASK} set" in added[3]
    assert f"api_key='{MASK}', port=30000" in added[4]
    assert added[5] == "INFO Avg prompt throughput: 512.3 tokens/s, Running: 8 reqs"  # nothing to mask: as it came
    assert buf.stamps()[0] == "2026-01-05T12:00:00.1Z"
    assert all(buf.search(secret) == [] for secret in SECRETS) and buf.search("sk-abc") == []
    assert buf.search("api_key") == [1, 2, 5]


def test_a_key_at_the_cut_is_masked_whole_not_half_shown() -> None:
    buf = LogBuffer()
    [text] = buf.feed("x" * (MAX_LINE - 15) + " hf_AbCdEf0123456789XyZaBc\n")  # cut first, 13 of its characters
    assert text == "x" * (MAX_LINE - 15) + f" {MASK}"  # would be left: too short for a token's shape


def test_only_a_line_that_could_hold_a_credential_is_masked() -> None:
    """``might_hold_secret`` is the cheap test that spares ordinary lines the masking: it must let through every
    line ``mask_prose`` changes, one rule of it at a time, and may turn away a model server's usual lines."""
    for line in (
        "--api-key abc123def456", "--hf-token=abc", "--password abc123def456", "--auth abc123def456",
        "HF_TOKEN=x1", "NGC_API_KEY=abc", "DB_PASSWD=abc", "MY_SECRET=abc", "GCP_CREDENTIALS=abc", "STRIPE_KEY=abc",
        "{'api_key': 'x'}", '{"hf_token": "x"}', "{'password': 'x'}", "{'api_key': ['x']}", "api_key='x'",
        "see https://user:pass@host/x", "https://TOKEN@host", "GET /x?sig=abc", "GET /x?signature=abc",
        "GET /x?code=abc", "GET /x?access_token=abc", "GET /x?key=abc",
        "Authorization: Bearer abc123def456", "Basic abc123def456", "Token abc123def456",
        "hf_" + "a" * 24, "sk-" + "a" * 20, "nvapi-" + "a" * 24, "ghp_" + "a" * 24, "github_pat_" + "a" * 24,
        "xoxb-" + "a" * 12, "AKIA" + "A" * 16, f"{MASK}abc123",
    ):  # fmt: skip
        assert mask_prose(line) != line, line  # a rule masks something in it ...
        assert might_hold_secret(line), line  # ... so the cheap test must let it through
    for line in (
        "(APIServer pid=1) INFO 01-05 12:00:00 [loggers.py:123] Engine 000: Avg prompt throughput: 512.3 tokens/s, "
        "Avg generation throughput: 1024.7 tokens/s, Running: 8 reqs, Waiting: 0 reqs, GPU KV cache usage: 12.5%",
        '(APIServer pid=1) INFO:     172.17.0.1:45678 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
        "(EngineCore_0 pid=80) INFO 01-05 12:00:01 [gpu_model_runner.py:1953] Model loading took 1.12 GiB",
        "INFO Using max_num_batched_tokens=2048, tokenizer_mode=auto",
    ):
        assert not might_hold_secret(line), line


def test_newest_gives_the_last_lines_and_their_stamps() -> None:
    buf = LogBuffer(max_lines=3, timestamps=True)
    buf.feed("".join(f"2026-01-05T12:00:0{i}.5Z l{i}\n" for i in range(5)))
    assert buf.newest(2) == (["l3", "l4"], ["2026-01-05T12:00:03.5Z", "2026-01-05T12:00:04.5Z"])
    assert buf.newest(10) == (buf.texts(), buf.stamps()) and buf.newest(0) == ([], [])
    plain = LogBuffer()
    plain.feed("a\nb\n")
    assert plain.newest(1) == (["b"], [""])


def test_start_up_lines_of_vllm_and_sglang_mask_their_keys_and_nothing_else() -> None:
    assert (
        mask_prose("{'api_key': ['k1secret', \"k2\"], 'allowed': ['*']}")
        == f"{{'api_key': ['{MASK}', \"{MASK}\"], 'allowed': ['*']}}"
    )
    assert mask_prose("{'api_key': [], 'api_keys': ['']}") == "{'api_key': [], 'api_keys': ['']}"  # nothing to hide
    assert mask_prose("ServerArgs(api_key='k', hf_token=\"t\", admin_api_key=None)") == (
        f"ServerArgs(api_key='{MASK}', hf_token=\"{MASK}\", admin_api_key=None)"
    )
    for kept in ("ServerArgs(sort_key='name', tokenizer='t')", "{'tokens': ['a', 'b']}", "password=input()"):
        assert mask_prose(kept) == kept


def test_the_rest_of_a_cut_line_is_dropped_not_shown_as_a_line() -> None:
    """A key split by the cut showed its tail, unmasked, as the start of the next line."""
    from console.containers.logbuffer import MAX_LINE

    buf = LogBuffer(100)
    head = "x" * (MAX_LINE - 20) + " --api-key sk-abc123456"
    assert buf.feed(head[: MAX_LINE + 1]) != []  # cut here: no end in sight
    assert buf.feed(head[MAX_LINE + 1 :] + "789xyz --port 1") == []  # the rest of that line: dropped
    assert buf.feed(" more\nnext line\n") == ["next line"]
    assert all("789xyz" not in line for line in buf.texts())
