"""The installed ``jetconsole agent`` as a real process (issue 16), on the emulated Orin's jtop service and a
private dockerd: its ``/metrics`` read with prometheus_client's parser, its ``/v1/state`` with httpx, the help
flag raised from another shell, a token, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.realparts import jetson_emulator as emu

pytestmark = pytest.mark.timeout(120)
START_S = 30.0  # the agent's first line (runtime and sources started)
SAMPLE_S = 30.0  # a condition of what it serves


class Agent:
    """A running ``jetconsole agent`` on a free loopback port; ``url`` once it said where."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = self._first_url()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def _first_url(self) -> str:
        deadline = time.monotonic() + START_S
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            seen.append(line)
            if m := re.search(r"(http://127\.0\.0\.1:\d+)/metrics", line):
                return m.group(1)
        self.proc.kill()
        raise AssertionError(f"the agent did not say where it listens within {START_S:.0f}s: {''.join(seen)!r}")

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5, **kw)

    def until(self, what: str, check: Callable[[], Any], timeout: float = SAMPLE_S) -> Any:
        """Poll ``check()`` (what the agent serves) until it gives something true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if got := check():
                return got
            time.sleep(0.2)  # the agent's own refresh is 1 s; this only paces the polling
        raise AssertionError(f"{what}: not served within {timeout:.0f}s")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(10)
        self.reader.join(10)  # all of stderr read: what the tests check of it is whole
        return code


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


@pytest.fixture
def agent_env(tmp_path: Path, dockerd) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[endpoints]\ndocker_host = "{dockerd.url}"\n[doctor]\ninterval = 0\n'
        f'[hud]\nhelp_flag_file = "{tmp_path / "help-flag"}"\n'
    )
    return config, {**os.environ, "JETCONSOLE_HELP_FLAG": str(tmp_path / "help-flag")}


@pytest.fixture
def probe_container(dockerd) -> Iterator[str]:
    client = docker.DockerClient(base_url=dockerd.url)
    c = client.containers.run("local/busybox:test", ["sleep", "300"], name="agent-probe", detach=True)
    yield c.name
    c.remove(force=True)
    client.close()


def test_the_agent_serves_the_orin_its_containers_and_the_flag(
    jtop_service, agent_env, probe_container, installed_command
) -> None:
    config, env = agent_env
    agent = Agent([installed_command, "--config", str(config), "agent", "--listen", "127.0.0.1:0"], env)
    try:
        assert agent.get("/health").text == "ok\n"

        def metrics_when(check: Callable[[str], bool]) -> Callable[[], str | None]:
            def read() -> str | None:
                text = agent.get("/metrics").text
                return text if check(text) else None

            return read

        def with_probe() -> dict[str, Any] | None:
            doc = agent.get("/v1/state").json()
            return doc if any(c["name"] == probe_container for c in doc["containers"]) else None

        text = agent.until(
            "GPU load from jtop", metrics_when(lambda t: metric(t, "jetconsole_gpu_utilization_ratio") is not None)
        )
        assert metric(text, "jetconsole_gpu_utilization_ratio") == pytest.approx(0.9)
        assert metric(text, "jetconsole_gpu_memory_unified") == 1.0
        assert (metric(text, "jetconsole_power_watts") or 0) > 0
        assert metric(text, "jetconsole_device_info", model=emu.BOARD["Model"]) == 1.0
        assert metric(text, "jetconsole_telemetry_source_up", source="jtop") == 1.0
        state = agent.until("the probe container", with_probe)
        assert state["docker"]["connected"] is True and state["telemetry"]["board"]["model"] == emu.BOARD["Model"]
        assert metric(agent.get("/metrics").text, "jetconsole_help_flag") == 0.0
        subprocess.run([installed_command, "--config", str(config), "help-flag", "on"], env=env, check=True, timeout=30)
        raised = agent.until("the help flag", metrics_when(lambda t: metric(t, "jetconsole_help_flag") == 1.0))
        since = metric(raised, "jetconsole_help_flag_raised_timestamp_seconds")
        assert since is not None and abs(time.time() - since) < 120
    finally:
        assert agent.stop() == 0


def test_with_a_token_only_its_holder_reads_the_state(jtop_service, agent_env, installed_command, tmp_path) -> None:
    config, env = agent_env
    token = tmp_path / "token"
    token.write_text("a-long-random-token-0123456789\n")
    token.chmod(0o600)
    argv = [installed_command, "--config", str(config), "agent", "--listen", "127.0.0.1:0", "--token-file", str(token)]
    agent = Agent(argv, env)
    try:
        assert agent.get("/metrics").status_code == 401
        ok = agent.get("/v1/state", headers={"Authorization": "Bearer a-long-random-token-0123456789"})
        assert ok.status_code == 200 and "a-long-random-token" not in ok.text
    finally:
        assert agent.stop() == 0
    assert "a-long-random-token" not in "".join(iter_queue(agent.lines))


def test_it_refuses_the_network_without_being_asked(installed_command, tmp_path) -> None:
    out = subprocess.run(
        [installed_command, "--config", "/dev/null", "agent", "--listen", "0.0.0.0:0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--allow-remote" in out.stderr


def iter_queue(q: queue.SimpleQueue[str]) -> Iterator[str]:
    while True:
        try:
            yield q.get_nowait()
        except queue.Empty:
            return
