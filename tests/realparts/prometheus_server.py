"""A real Prometheus (Debian's ``prometheus``) run with the shipped deploy/prometheus/ config, for the fleet's
tests and benchmarks: its own data directory and loopback port, stopped by the caller."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.realparts.agents import ROOT
from tests.realparts.processes import end
from tests.realparts.vllm_server import free_port

DEPLOY = ROOT / "deploy" / "prometheus"
START_S = 60.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_prometheus(work: Path, targets: Sequence[dict]) -> Iterator[Prometheus]:
    """Prometheus on a free loopback port with deploy/prometheus/'s config, rules and ``targets`` (file_sd
    entries), once it is ready; stopped afterwards."""
    binary = prometheus_binary()
    assert binary, "prometheus is not installed (scripts/test.sh installs it)"
    work.mkdir(parents=True, exist_ok=True)
    for name in ("prometheus.yml", "jetconsole.rules.yml"):
        shutil.copy(DEPLOY / name, work / name)
    (work / "jetconsole-targets.json").write_text(json.dumps(list(targets)))
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
    ]
    with (work / "prometheus.log").open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _ready(url), START_S, f"Prometheus ready at {url} ({work / 'prometheus.log'})")
        yield Prometheus(url, proc)
    finally:
        end(proc, grace=15)


def query(url: str, expr: str) -> list[dict]:
    """An instant query's result."""
    answer = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def wait_for(condition, seconds: float, what: str):  # type: ignore[no-untyped-def]
    """``condition()``'s first truthy value, polled every 0.1 s; AssertionError with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if got := condition():
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
