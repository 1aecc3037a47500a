"""Secrets are never written (issue 13): plant a credential everywhere jetconsole can meet one, run what
writes files, and scan every file written for it.

The secret is planted as a served model's ``--api-key`` (a real process on a loopback port whose argv
holds it: the bench reads its launch line from /proc as it does for any local server), as the password of
an endpoint URL, as a key in config ``[endpoints] api_keys``, in a chat's settings (``extra_body``, the
system prompt), its endpoint URL and messages, in a remembered setting, and in a doctor audit line. Every
file under the test's own folder (HOME and the XDG dirs point there) is then read whole.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from console import cli
from console import config as cfg
from console.chat import export
from console.chat.model import ChatMessage, Conversation, MessageStats
from console.chat.store import ChatStore, default_path
from console.doctor.audit import audit, audit_path
from console.runtime.secrets import MASK

SECRET = "sk-PLANTED-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]

# The replay server in a process of its own, so that its command line is a real one to look up.
SERVE = (
    "import sys\n"
    "from tests.replay import ReplayServer, Script, token_frames\n"
    "srv = ReplayServer()\n"
    "srv.script = Script(frames=token_frames(['x', 'y', 'z']))\n"
    "srv.__enter__()\n"
    "print(srv.port, flush=True)\n"
    "sys.stdin.read()\n"  # serves until the test closes its stdin
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and every XDG dir inside ``tmp_path/home``: whatever jetconsole writes by default lands there."""
    root = tmp_path / "home"
    monkeypatch.setenv("HOME", str(root))
    for name, sub in (
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ):
        (root / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(root / sub))
    monkeypatch.delenv("JETCONSOLE_CONFIG", raising=False)
    return root


@pytest.fixture
def planted_server() -> Iterator[int]:
    """A loopback server whose command line carries ``--api-key SECRET``; yields its port."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--api-key", SECRET, "--port", "0"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the socket listens
        assert line.strip().isdigit(), f"the planted server did not start (exit {proc.poll()})"
        yield int(line)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _forms(secret: str) -> list[bytes]:
    """The secret as bytes, and its trivial encodings (URL-quoted, base64, JSON-escaped)."""
    raw = secret.encode()
    return [raw, quote(secret, safe="").encode(), base64.b64encode(raw), json.dumps(secret).encode()[1:-1]]


def _written(root: Path, skip: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and skip not in p.parents}


def test_a_planted_secret_is_written_nowhere(
    tmp_path: Path, home: Path, planted_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{planted_server}/v1"
    inputs = tmp_path / "in"  # what the test itself writes: the user's own files, not scanned
    inputs.mkdir()
    config_file = inputs / "config.toml"
    config_file.write_text(f'[endpoints]\nservers = ["{url}"]\napi_keys = {{ "{url}" = "{SECRET}" }}\n')
    prompts = inputs / "prompts.jsonl"
    prompts.write_text('{"prompt": "one", "output_tokens": 3}\n')

    # 1. bench: the server's launch line holds --api-key; the config holds its key; a URL holds a password
    code = cli.main(
        [
            "--config",
            str(config_file),
            "--source",
            "procfs",
            "bench",
            "--endpoint",
            f"KEYED={url}",
            "--endpoint",
            f"http://bench:{SECRET}@127.0.0.1:{planted_server}/v1",
            "--trials",
            "1",
            "--concurrency",
            "1",
            "--warmups",
            "0",
            "--prompts",
            str(prompts),
            "--out",
            str(tmp_path / "bench"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    saved = sorted((tmp_path / "bench").glob("bench-*"))
    assert [p.suffix for p in saved] == [".csv", ".json"]
    report = json.loads(saved[1].read_text())
    assert MASK in saved[1].read_text(encoding="utf-8")  # the mask's own characters, not \u2022 escapes
    servers = [r["server"] for r in report["results"]]
    # the launch line was found (the planted process) and kept, with its key masked
    assert all(s["launched_by"].startswith("process ") for s in servers), servers
    assert all(f"--api-key {MASK}" in s["launch"].replace("'", "") for s in servers), servers
    assert "--port 0" in servers[0]["launch"]
    assert servers[1]["url"] == f"http://bench:{MASK}@127.0.0.1:{planted_server}/v1"
    assert SECRET not in out and SECRET not in err  # nor shown

    # 2. the chat store and its exports
    store = ChatStore(default_path())
    conv = store.new_conversation(
        f"deploy with HF_TOKEN={SECRET}",
        f"https://me:{SECRET}@llm.example/v1?api_key={SECRET}",
        "tiny",
        {"system_prompt": f"The key is {SECRET}.", "extra_body": {"hf_token": SECRET, "top_k": 5}},
    )
    store.add_message(conv, "user", f"run vllm serve m --api-key {SECRET} for me")
    answer = store.start_message(conv)
    store.append(answer, "content", "Done: vllm serve m --api-key sk-PLANTED-0123")  # split across two chunks
    store.append(answer, "content", "456789abcdef is running.")
    store.finish_message(answer, "done", MessageStats(error=f"401: bad key {SECRET}"))
    store.update_settings(conv, settings={"system_prompt": "", "extra_body": {"api_key": SECRET}})
    assert store.load(conv).messages[-1].content == f"Done: vllm serve m --api-key {MASK} is running."
    exports = tmp_path / "exports"
    exports.mkdir()
    loaded = store.load(conv)
    (exports / "saved.md").write_text(export.to_markdown(loaded), encoding="utf-8")
    (exports / "saved.json").write_text(export.to_json(loaded), encoding="utf-8")
    store.close()
    # a conversation that never went through the store (or came from one written before masking)
    raw = Conversation(
        id=7,
        title=f"OPENAI_API_KEY={SECRET}",
        created=time.time(),
        updated=time.time(),
        endpoint=f"http://u:{SECRET}@h:1/v1",
        model="tiny",
        settings={"extra_body": {"api_key": SECRET}},
        messages=(ChatMessage("user", f"my key: {SECRET}", reasoning=f"token={SECRET}"),),
    )
    (exports / "raw.md").write_text(export.to_markdown(raw), encoding="utf-8")
    (exports / "raw.json").write_text(export.to_json(raw), encoding="utf-8")

    # 3. remembered settings: a literal key, a launch line
    remembered = cfg.remember(cfg.Config(), "endpoints", "api_keys", {url: SECRET, "http://h:2/v1": "env:VLLM_API_KEY"})
    cfg.remember(cfg.Config(), "ui", "last_launch", f"HF_TOKEN={SECRET} vllm serve m --api-key={SECRET}")

    # 4. the doctor's audit log: a fix whose command carries the token
    audit(
        "memory.action",
        {
            "command": ["docker", "run", "-e", f"HF_TOKEN={SECRET}", "vllm/vllm-openai", "--api-key", SECRET],
            "line": f"ended pid 42 (vllm serve m --api-key={SECRET})",
            "token": SECRET,
        },
    )

    written = _written(tmp_path, skip=inputs)
    db = default_path()
    expected = {saved[0], saved[1], audit_path(), remembered, db, *exports.iterdir()}
    assert expected <= set(written), sorted(map(str, expected - set(written)))
    leaks = [(str(path), form) for path, data in written.items() for form in _forms(SECRET) if form in data]
    assert not leaks, leaks
    mask = MASK.encode()
    for path in expected - {db}:
        assert mask in written[path] or json.dumps(MASK).encode()[1:-1] in written[path], f"{path}: no mask"
    assert any(mask in data for p, data in written.items() if p.name.startswith(db.name)), "the store: no mask"
    # and what was kept is still there: the masking hid the values, not the records
    assert "env:VLLM_API_KEY" in remembered.read_text()
    lines = [json.loads(line) for line in audit_path().read_text().splitlines()]
    assert lines[-1]["command"] == ["docker", "run", "-e", f"HF_TOKEN={MASK}", "vllm/vllm-openai", "--api-key", MASK]
    assert lines[-1]["token"] == MASK
    assert os.path.getsize(config_file) and SECRET in config_file.read_text()  # the user's own file is theirs


def test_the_launch_line_read_from_proc_is_masked_and_shows_no_control() -> None:
    """The bench's lookup itself (not only the writers' guard): a real listening process whose argv holds a
    key and an OSC title sequence."""
    from console.bench.context import launch_from_process

    listen = "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    listen += "print(s.getsockname()[1], flush=True); sys.stdin.read()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            listen,
            "--title",
            "\x1b]0;pwned\x07",
            f"--api-key={SECRET}",
            "-e",
            f"HF_TOKEN={SECRET}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        line, by = launch_from_process(f"http://127.0.0.1:{port}/v1")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    assert by == f"process {proc.pid}"
    assert line.endswith(f"--title '␛]0;pwned␇' '--api-key={MASK}' -e 'HF_TOKEN={MASK}'"), line
    assert SECRET not in line and "\x1b" not in line
