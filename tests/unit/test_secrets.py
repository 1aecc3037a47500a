"""Masking credentials in argv lists, command lines, URLs, prose and JSON-like data (console/runtime/secrets.py)."""

from __future__ import annotations

import pytest

from console.runtime.secrets import MASK, is_secret_flag, mask_argv, mask_command, mask_data, mask_prose, mask_url

KEY = "Zq9Xw7Vt5Ru3Sp1"  # no run of 4 of its characters occurs in any other word below


def _kept_nothing(text: str) -> None:
    """A masked value keeps none of its characters: not the whole, not a prefix or suffix of 4."""
    pieces = {KEY[i : i + 4] for i in range(len(KEY) - 3)}
    assert not [p for p in pieces if p in text], text


@pytest.mark.parametrize(
    ("argv", "masked"),
    [
        (["vllm", "serve", "m", "--api-key", KEY], ["vllm", "serve", "m", "--api-key", MASK]),
        (
            ["vllm", "serve", "m", f"--api-key={KEY}", "--port", "8000"],
            ["vllm", "serve", "m", f"--api-key={MASK}", "--port", "8000"],
        ),
        (["vllm", "serve", "m", "--hf-token", KEY], ["vllm", "serve", "m", "--hf-token", MASK]),
        (["huggingface-cli", "login", "--token", KEY], ["huggingface-cli", "login", "--token", MASK]),
        (["docker", "login", "--password", KEY, "-u", "me"], ["docker", "login", "--password", MASK, "-u", "me"]),
        (["docker", "run", "-e", f"HF_TOKEN={KEY}", "img"], ["docker", "run", "-e", f"HF_TOKEN={MASK}", "img"]),
        (["docker", "run", "--env", f"OPENAI_API_KEY={KEY}"], ["docker", "run", "--env", f"OPENAI_API_KEY={MASK}"]),
        (["docker", "run", f"--env=NGC_API_KEY={KEY}"], ["docker", "run", f"--env=NGC_API_KEY={MASK}"]),
        (["env", f"HF_TOKEN={KEY}", "vllm", "serve", "m"], ["env", f"HF_TOKEN={MASK}", "vllm", "serve", "m"]),
        (["bash", "-c", f"vllm serve m --api-key {KEY}"], ["bash", "-c", f"vllm serve m --api-key {MASK}"]),
        (["curl", f"https://me:{KEY}@h/v1"], ["curl", f"https://me:{MASK}@h/v1"]),
        (["vllm", "serve", "m", f"--openai-api-key={KEY}"], ["vllm", "serve", "m", f"--openai-api-key={MASK}"]),
    ],
)
def test_argv_masks_the_credential_and_keeps_the_rest(argv: list[str], masked: list[str]) -> None:
    assert mask_argv(argv) == masked
    _kept_nothing(" ".join(mask_argv(argv)))
    assert mask_argv(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    "argv",
    [
        ["vllm", "serve", "m", "--max-tokens", "512", "--tokenizer", "t", "--max-num-batched-tokens", "8192"],
        ["vllm", "serve", "m", "--hf-token", "--port", "8000"],  # --hf-token as a switch: the saved login
        ["docker", "login", "--password-stdin", "registry.example"],
        ["docker", "run", "-e", "HF_TOKEN", "-e", "HOME=/root", "-e", "HF_HUB_DISABLE_IMPLICIT_TOKEN=1", "img"],
        ["vllm", "serve", "/models/tok-123", "--served-model-name", "api-key-demo"],
        ["python", "-m", "sglang.launch_server", "--model-path", "m", "--port", "30000"],
    ],
)
def test_argv_without_a_credential_is_unchanged(argv: list[str]) -> None:
    assert mask_argv(argv) == argv
    assert mask_command(" ".join(argv)) == " ".join(argv)


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (f"vllm serve m --api-key {KEY} --port 8000", f"vllm serve m --api-key {MASK} --port 8000"),
        (f"vllm serve m --api-key={KEY}", f"vllm serve m --api-key={MASK}"),
        (f"vllm serve m --api-key '{KEY} two words'", f"vllm serve m --api-key '{MASK}'"),
        (f'vllm serve m --api-key "{KEY}"', f'vllm serve m --api-key "{MASK}"'),
        (f"HF_TOKEN={KEY} vllm serve m", f"HF_TOKEN={MASK} vllm serve m"),
        (
            f"docker run -e HF_TOKEN={KEY} --env OPENAI_API_KEY={KEY} img",
            f"docker run -e HF_TOKEN={MASK} --env OPENAI_API_KEY={MASK} img",
        ),
        (f"vllm serve m --hf-token {KEY} --port 1", f"vllm serve m --hf-token {MASK} --port 1"),
        (f"login --password={KEY} --token {KEY}", f"login --password={MASK} --token {MASK}"),
        (f"curl -H 'Authorization: Bearer {KEY}' h", f"curl -H 'Authorization: Bearer {MASK}' h"),
        (f"""--override '{{"api_key": "{KEY}", "n": 1}}'""", f"""--override '{{"api_key": "{MASK}", "n": 1}}'"""),
        (f"export password={KEY}", f"export password={MASK}"),
    ],
)
def test_command_line_masks_the_credential_and_keeps_the_rest(line: str, masked: str) -> None:
    assert mask_command(line) == masked
    _kept_nothing(mask_command(line))
    assert mask_command(masked) == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (f"https://user:{KEY}@host:8000/v1", f"https://user:{MASK}@host:8000/v1"),
        (f"https://{KEY}@github.com/org/repo.git", f"https://{MASK}@github.com/org/repo.git"),
        (f"http://h:1/v1?api_key={KEY}", f"http://h:1/v1?api_key={MASK}"),
        (f"http://h:1/v1?model=m&token={KEY}&n=2", f"http://h:1/v1?model=m&token={MASK}&n=2"),
        (f"https://h/x?key={KEY}#top", f"https://h/x?key={MASK}#top"),
        (f"https://h/x?access_token={KEY}", f"https://h/x?access_token={MASK}"),
        (f"wss://u:{KEY}@h/ws?apiKey={KEY}", f"wss://u:{MASK}@h/ws?apiKey={MASK}"),
    ],
)
def test_url_credentials_are_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_command(f"curl {url} -s") == f"curl {masked} -s"
    _kept_nothing(mask_url(url))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "https://huggingface.co/org/model?revision=main&max_tokens=5",
        "http://[::1]:8000/v1/models",
    ],
)
def test_a_url_without_credentials_is_unchanged(url: str) -> None:
    assert mask_url(url) == url


def test_known_token_shapes_are_masked_wherever_they_stand() -> None:
    hf, sk = "hf_" + "aB3" * 10, "sk-proj-" + "x9Y" * 8
    assert mask_prose(f"my token is {hf}, and {sk}.") == f"my token is {MASK}, and {MASK}."
    assert mask_command(f"echo {hf}") == f"echo {MASK}"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("pass --api-key to vllm serve", "pass --api-key to vllm serve"),  # a word, not a key
        (f"start it with --api-key {KEY}", f"start it with --api-key {MASK}"),
        ("password = input(); token=get()", "password = input(); token=get()"),  # code, not a credential
        (f"then HF_TOKEN={KEY} vllm serve", f"then HF_TOKEN={MASK} vllm serve"),
        ("set max_tokens=512 and --max-tokens 512", "set max_tokens=512 and --max-tokens 512"),
    ],
)
def test_prose_masks_credentials_without_garbling_words(text: str, masked: str) -> None:
    assert mask_prose(text) == masked


def test_a_value_cut_across_two_pieces_is_masked_whole_when_joined() -> None:
    first, second = mask_prose(f"--api-key {KEY[:9]}"), mask_prose(f"{KEY[9:]} done")
    assert mask_prose(first + second) == f"--api-key {MASK} done"


def test_data_masks_secret_keys_argv_lists_and_strings() -> None:
    data = {
        "command": ["vllm", "serve", "m", "--api-key", KEY],
        "extra_body": {"hf_token": KEY, "top_k": 5, "chat_template_kwargs": {"enable_thinking": True}},
        "Authorization": f"Bearer {KEY}",
        "api_key": "",  # empty: nothing to hide, worth seeing
        "line": f"ended pid 42 (HF_TOKEN={KEY} vllm serve m)",
        "max_tokens": 512,
        "steps": [{"password": KEY}, 3, None],
    }
    assert mask_data(data) == {
        "command": ["vllm", "serve", "m", "--api-key", MASK],
        "extra_body": {"hf_token": MASK, "top_k": 5, "chat_template_kwargs": {"enable_thinking": True}},
        "Authorization": f"Bearer {MASK}",
        "api_key": "",
        "line": f"ended pid 42 (HF_TOKEN={MASK} vllm serve m)",
        "max_tokens": 512,
        "steps": [{"password": MASK}, 3, None],
    }
    assert data["command"][-1] == KEY  # a copy: the caller's data is left as it is


@pytest.mark.parametrize(
    ("flag", "secret"),
    [
        ("--api-key", True),
        ("--hf-token", True),
        ("--token", True),
        ("--password", True),
        ("--openai-api-key", True),
        ("--api-keys", True),
        ("--password-stdin", False),
        ("--max-tokens", False),
        ("--tokenizer", False),
        ("--ssl-keyfile", False),
        ("-p", False),
        ("api-key", False),
    ],
)
def test_secret_flags(flag: str, secret: bool) -> None:
    assert is_secret_flag(flag) is secret


def test_the_quick_check_skips_only_text_the_rules_leave_alone() -> None:
    """mask_prose and mask_command skip text with no trigger (one search, not nine substitutions, per streamed
    chunk): over random text built from the rules' own pieces, the answer is the full rules' answer every time."""
    import random

    from console.runtime import secrets

    pieces = [
        "--api-key", "--token", " ", "=", ":", "@", "://", "hf_", "sk-", "nvapi-", "ghp_", "xoxb-", "AKIA",
        "Bearer ", "token", "HF_TOKEN", "password", "a1b2c3d4e5f6g7h8i9j0", "ABCDEFGHIJKLMNOP", "\"", "'",
        "?key", "&sig", "https", "user", "••••", "•", "-", "_", "x", "9", "\n", "é",
        "DB_PASSWD=", "?sig=", '"password": "', "'secret':'",
    ]  # fmt: skip
    rng = random.Random(13)
    masked = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        full_prose = secrets._mask_common(secrets._mask_flags(text, prose=True), prose=True)
        full_command = secrets._mask_common(secrets._mask_flags(text, prose=False), prose=False)
        assert secrets.mask_prose(text) == full_prose, text
        assert secrets.mask_command(text) == full_command, text
        masked += full_command != text
    assert masked > 1000  # the sample does exercise the rules


def test_prose_keeps_scheme_words_that_lead_no_key() -> None:
    """In a chat answer "Basic questions" and "Token counting" are phrases; a scheme word followed by something
    shaped like a key is still masked (and a command line masks any value after it)."""
    text = "Basic questions about Token counting, then Bearer abc123def456ghi"
    assert mask_prose(text) == f"Basic questions about Token counting, then Bearer {MASK}"
    assert mask_command("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA'") == (
        f"curl -H 'Authorization: Basic {MASK}'"
    )


def test_a_presets_env_setting_is_masked_and_code_is_left_alone() -> None:
    from console.runtime.secrets import mask_command, mask_prose

    line = (
        "jetconsole launch vllm-orin --set env.HF_TOKEN=hf_abcdefghijklmnopqrs --set=env.NGC_API_KEY=x1 --set env.FOO=1"
    )
    assert (
        mask_command(line)
        == "jetconsole launch vllm-orin --set env.HF_TOKEN=•••• --set=env.NGC_API_KEY=•••• --set env.FOO=1"
    )
    quoted = "jetconsole launch vllm-orin --set 'env.HF_TOKEN=hf_abc$defghijklmnopqrs' --set \"env.X_TOKEN=a b\""
    assert mask_command(quoted) == "jetconsole launch vllm-orin --set 'env.HF_TOKEN=••••' --set \"env.X_TOKEN=••••\""
    code = "if (process.env.TOKEN==undefined) { env.password=input() }"
    assert mask_prose(code) == code and mask_command(code) == code
