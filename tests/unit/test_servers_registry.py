"""The servers list (containers joined with configured endpoints), its text, and the probe against real sockets."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from console.chat.endpoints import Endpoint
from console.chat.wire import ModelInfo
from console.config import Config
from console.containers.model import ContainerInfo
from console.runtime.events import ContainersListed
from console.runtime.runtime import Runtime
from console.runtime.state import server_rows as server_rows_of
from console.servers.metrics import ServerMetrics
from console.servers.probe import ServerProbe, ServerStatus
from console.servers.registry import ServerRow, container_url, server_rows
from console.servers.view import detail_lines, health_text, metrics_lines, row_figures
from tests.replay import MODEL, ReplayServer

METRICS = Path(__file__).resolve().parents[1] / "data" / "metrics"


def box(
    name: str = "c",
    image: str = "vllm/vllm-openai:latest",
    state: str = "running",
    ports: tuple[str, ...] = (),
    command: str = "",
    labels: dict[str, str] | None = None,
    cid: str | None = None,
) -> ContainerInfo:
    return ContainerInfo(
        id=cid or f"id-{name}",
        name=name,
        image=image,
        state=state,
        status="Up 1 minute",
        ports=ports,
        command=command,
        labels=labels or {},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(text: str, name: str) -> float:
    """One sample of the capture, read with a regex rather than the code under test."""
    m = re.search(rf'^{re.escape(name)}{{engine="0",model_name="tiny"}} (\S+)$', text, re.M)
    assert m, name
    return float(m.group(1))


# ---- container_url ----------------------------------------------------------------------------------------------


def test_url_label_wins() -> None:
    c = box(
        ports=("0.0.0.0:8001->8000/tcp",),
        command="vllm serve m --port 8000",
        labels={"jetconsole.url": "http://10.0.0.5:9000"},
    )
    assert container_url(c) == "http://10.0.0.5:9000/v1"
    assert container_url(box(labels={"jetconsole.url": "http://h:1/v1/"})) == "http://h:1/v1"


@pytest.mark.parametrize(
    "ports", [("0.0.0.0:8001->8000/tcp",), (":::8001->8000/tcp", "0.0.0.0:8001->8000/tcp"), ("8001->8000/tcp",)]
)
def test_published_port(ports: tuple[str, ...]) -> None:
    assert container_url(box(ports=ports)) == "http://127.0.0.1:8001/v1"


def test_published_port_of_the_server_port_not_another() -> None:
    """A vLLM container publishing its metrics side-car first still answers on what maps to 8000."""
    c = box(ports=("0.0.0.0:9100->9100/tcp", "0.0.0.0:8005->8000/tcp"))
    assert container_url(c) == "http://127.0.0.1:8005/v1"
    s = box(image="lmsysorg/sglang:v0.5", ports=("0.0.0.0:31000->30000/tcp", "0.0.0.0:8080->8080/tcp"))
    assert container_url(s) == "http://127.0.0.1:31000/v1"


@pytest.mark.parametrize(
    "command",
    [
        "vllm serve Qwen/Qwen3-8B --port 8123 --max-model-len 4096",
        "vllm serve Qwen/Qwen3-8B --port=8123",
        "--port 8123",
    ],
)
def test_port_from_the_command_on_host_network(command: str) -> None:
    assert container_url(box(command=command)) == "http://127.0.0.1:8123/v1"


def test_port_in_command_picks_the_matching_published_port() -> None:
    c = box(command="vllm serve m --port 9000", ports=("0.0.0.0:8001->8000/tcp", "0.0.0.0:19000->9000/tcp"))
    assert container_url(c) == "http://127.0.0.1:19000/v1"


def test_other_port_flags_are_not_the_server_port() -> None:
    c = box(command="vllm serve m --master-port 29500 --port-offset 3")
    assert container_url(c) == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize(
    ("image", "url"),
    [
        ("nvcr.io/nvidia/vllm:25.09-py3", "http://127.0.0.1:8000/v1"),
        ("dustynv/vllm:r36.4.0", "http://127.0.0.1:8000/v1"),
        ("lmsysorg/sglang:v0.5.23-cu129", "http://127.0.0.1:30000/v1"),
        ("dustynv/sglang:r36.4.0", "http://127.0.0.1:30000/v1"),
        ("ollama/ollama:latest", None),
    ],
)
def test_default_port_by_image(image: str, url: str | None) -> None:
    assert container_url(box(image=image)) == url


def test_open_webui_has_no_openai_url() -> None:
    ui = box(
        image="ghcr.io/open-webui/open-webui:main",
        ports=("0.0.0.0:3000->8080/tcp",),
        command="bash start.sh --port 8080",
    )
    assert container_url(ui) is None


def test_unknown_image_with_a_published_port() -> None:
    assert container_url(box(image="ollama/ollama", ports=("0.0.0.0:11434->11434/tcp",))) == "http://127.0.0.1:11434/v1"
    assert container_url(box(image="ollama/ollama", ports=("11434/tcp",))) is None  # exposed, not published


# ---- server_rows ------------------------------------------------------------------------------------------------


def test_containers_first_running_before_stopped_then_configured() -> None:
    running = box("zeta", ports=("0.0.0.0:8001->8000/tcp",))
    stopped = box("alpha", image="lmsysorg/sglang:latest", state="exited")
    other = box("postgres", image="postgres:16")
    rows = server_rows((stopped, other, running), ("http://10.0.0.9:8000", "http://127.0.0.1:8000/v1"))
    assert [(r.name, r.url, r.container) for r in rows] == [
        ("zeta", "http://127.0.0.1:8001/v1", running),
        ("alpha", "http://127.0.0.1:30000/v1", stopped),
        ("10.0.0.9:8000", "http://10.0.0.9:8000/v1", None),
        ("127.0.0.1:8000", "http://127.0.0.1:8000/v1", None),
    ]
    assert rows[0].key == "id-zeta" and rows[2].key == "http://10.0.0.9:8000/v1"


def test_configured_endpoint_a_container_answers_on_is_not_listed_twice() -> None:
    c = box("vllm", command="vllm serve m --port 8000")
    for configured in (
        "http://127.0.0.1:8000/v1",
        "http://127.0.0.1:8000",
        "http://localhost:8000/v1",
        "http://localhost:8000/",
    ):
        rows = server_rows((c,), (configured,))
        assert [r.name for r in rows] == ["vllm"], configured


def test_localhost_and_loopback_other_ports_stay_apart() -> None:
    c = box("vllm")  # default port 8000
    rows = server_rows((c,), ("http://localhost:8001/v1",))
    assert [r.url for r in rows] == ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"]  # canonical keys
    assert rows[1].name == "localhost:8001"  # shown as configured


def test_configured_duplicates_collapse_and_a_container_without_url_keeps_its_row() -> None:
    ui = box("webui", image="ghcr.io/open-webui/open-webui:main")
    rows = server_rows((ui,), ("http://h:8000", "http://h:8000/v1/", "http://h:8000/v1"))
    assert rows == [
        ServerRow("id-webui", "webui", None, ui),
        ServerRow("http://h:8000/v1", "h:8000", "http://h:8000/v1"),
    ]


def test_no_containers_no_configuration() -> None:
    assert server_rows((), ()) == []


class _Host:
    """The runtime's server side with no service started: config and Docker's list."""

    def __init__(self, config: Config, containers: tuple[ContainerInfo, ...]) -> None:
        self.runtime = Runtime(config, watch_docker=False, poll_servers=False, hud_sources=False)
        self.runtime.emit(ContainersListed(containers))

    def server_rows(self) -> list[ServerRow]:
        return server_rows_of(self.runtime.state)

    def endpoint_for(self, url: str) -> Endpoint:
        return self.runtime.endpoint_for(url)

    @property
    def selected_url(self) -> str | None:
        return self.runtime.state.servers.selected


def test_container_row_uses_the_configured_key_for_the_same_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JC_KEY", "sk-configured")
    config = Config(servers=("http://127.0.0.1:8000/v1",), api_keys={"http://127.0.0.1:8000": "env:JC_KEY"})
    host = _Host(config, (box("vllm"),))
    rows = host.server_rows()
    assert [r.name for r in rows] == ["vllm"]
    assert host.endpoint_for(rows[0].url).api_key == "sk-configured"
    assert host.selected_url == rows[0].url


def test_container_row_keeps_the_key_and_selection_of_a_configured_localhost_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JC_KEY", "sk-configured")
    config = Config(servers=("http://localhost:8000/v1",), api_keys={"http://localhost:8000/v1": "env:JC_KEY"})
    host = _Host(config, (box("vllm"),))
    rows = host.server_rows()
    assert [r.name for r in rows] == ["vllm"]  # merged, as server_rows promises
    assert host.endpoint_for(rows[0].url).api_key == "sk-configured"  # the poller and the chat use this endpoint
    assert host.selected_url in {r.url for r in rows}  # the chat's server is one that is polled


# ---- servers/view.py --------------------------------------------------------------------------------------------

EPT = Endpoint("http://h:8000/v1")
FULL = ServerMetrics(
    flavor="vllm",
    running=2,
    waiting=1,
    kv_usage=0.423,
    prompt_tps=812.44,
    gen_tps=35.6,
    ttft_p50=0.0414,
    ttft_p95=0.2,
    itl_p50=0.021,
    itl_p95=0.05,
    prefix_hit_rate=0.5,
    preemptions=3,
    preemptions_recent=1,
)


def test_unreachable() -> None:
    down = ServerStatus("http://h:8000", False, error="ConnectError: [Errno 111] Connection refused")
    assert health_text(down) == "unreachable" and row_figures(down) == ""
    assert not down.ready and down.model is None
    assert detail_lines(EPT, down) == [
        "http://h:8000",
        "health     unreachable",
        "ConnectError: [Errno 111] Connection refused",
        "Is it running? The dashboard's servers panel shows its container.",
    ]


def test_not_polled_and_no_server() -> None:
    assert health_text(None) == "not polled yet" and row_figures(None) == ""
    assert detail_lines(EPT, None) == ["http://h:8000", "health     not polled yet"]
    assert detail_lines(None, None)[0] == "No server selected."


def test_ready_with_metrics() -> None:
    st = ServerStatus("http://h:8000", True, 200, "0.32.0", (ModelInfo("qwen", 32768), ModelInfo("draft")), FULL)
    assert st.ready and st.model == "qwen"
    assert health_text(st) == "Ready"
    assert row_figures(st) == "qwen run 2 wait 1 KV 42% gen 35.6 tok/s TTFT p50 41 ms ITL p50 21 ms hit 50% preempt 1"
    lines = detail_lines(EPT, st)
    assert lines[:8] == [
        "http://h:8000",
        "health     Ready",
        "version    0.32.0",
        "model      qwen · max_model_len 32768",
        "model      draft",
        "vision     images unknown (neither its launch line nor its model says)",
        "tools      no tool_choice auto (launch line unknown)",
        "",
    ]
    assert lines[8:] == metrics_lines(FULL)
    launched = detail_lines(EPT, st, "vllm serve qwen --enable-auto-tool-choice --tool-call-parser hermes")
    assert "tools      tool_choice auto ✓ (hermes parser)" in launched
    assert "requests   running 2  waiting 1" in lines
    assert "KV cache   42%" in lines
    assert "prompt     812.4 tok/s" in lines and "generate   35.6 tok/s" in lines
    assert "TTFT       p50 41 ms  p95 200 ms" in lines and "ITL        p50 21 ms  p95 50 ms" in lines
    assert "prefix hit 50%" in lines and "preempted  3 (1 in the last minute)" in lines
    assert lines[-1] == "rates and percentiles: last 60 s"


def test_absent_and_unknown_figures() -> None:
    m = ServerMetrics(flavor="sglang", running=1, absent=("kv_usage", "prefix_hit_rate"))
    st = ServerStatus("http://h:30000", True, 200, None, (ModelInfo("m"),), m)
    assert row_figures(st) == "m run 1"
    lines = detail_lines(EPT, st)
    assert not any(line.startswith("version") for line in lines)
    assert "requests   running 1  waiting –" in lines and "KV cache   –" in lines
    assert "TTFT       p50 –  p95 –" in lines and "preempted  –" in lines
    assert "not exposed by this server: kv_usage, prefix_hit_rate" in lines


def test_no_metrics_shows_the_note() -> None:
    st = ServerStatus(
        "http://h:30000",
        True,
        200,
        models=(ModelInfo("m"),),
        metrics_note="no /metrics (SGLang needs --enable-metrics)",
    )
    assert row_figures(st) == "m"
    assert detail_lines(EPT, st)[-1] == "no /metrics (SGLang needs --enable-metrics)"
    assert detail_lines(EPT, ServerStatus("u", True, 200))[-1] == "no metrics"


@pytest.mark.parametrize(("health", "text"), [(503, "engine dead (503)"), (500, "/health 500"), (None, "/health None")])
def test_health_other_than_ready(health: int | None, text: str) -> None:
    st = ServerStatus("u", True, health)
    assert health_text(st) == text and not st.ready


# ---- ServerProbe against real sockets ---------------------------------------------------------------------------


def test_probe_replay_server_with_the_real_metrics_capture() -> None:
    text = (METRICS / "vllm-0.32-after.prom").read_text()
    with ReplayServer(metrics=text) as srv:
        probe = ServerProbe(Endpoint(srv.url))
        try:
            st = probe.poll()
            assert st.url == f"http://127.0.0.1:{srv.port}"
            assert (st.reachable, st.health, st.version, st.error, st.metrics_note) == (True, 200, "replay", None, None)
            assert st.models == (ModelInfo(MODEL, 32768, "replay"),) and st.ready
            m = st.metrics
            assert m is not None and m.flavor == "vllm" and m.models == ("tiny",)
            assert m.running == sample(text, "vllm:num_requests_running")
            assert m.kv_usage == sample(text, "vllm:kv_cache_usage_perc")
            hits = sample(text, "vllm:prefix_cache_hits_total")
            queries = sample(text, "vllm:prefix_cache_queries_total")
            assert m.prefix_hit_rate == pytest.approx(hits / queries)
            busier = re.sub(
                r'^(vllm:num_requests_running\{engine="0",model_name="tiny"\}) \S+$', r"\1 3.0", text, flags=re.M
            )
            assert busier != text
            srv.metrics = busier
            again = probe.poll()
            assert again.metrics is not None and again.metrics.running == 3  # every poll scrapes again
            assert again.models == st.models and again.version == "replay"
            lines = detail_lines(probe.endpoint, again)
            assert "model      replay · max_model_len 32768" in lines and "requests   running 3  waiting 0" in lines
        finally:
            probe.close()


def test_probe_without_metrics_gives_the_404_note() -> None:
    with ReplayServer() as srv:
        probe = ServerProbe(Endpoint(srv.url))
        try:
            st = probe.poll()
        finally:
            probe.close()
    assert st.reachable and st.ready and st.metrics is None
    assert st.metrics_note == "no /metrics (SGLang needs --enable-metrics)"
    assert st.model == MODEL


def test_probe_malformed_metrics() -> None:
    text = (METRICS / "vllm-0.32-after.prom").read_text() + 'vllm:num_requests_running{engine="0" 1\n'
    with ReplayServer(metrics=text) as srv:
        probe = ServerProbe(Endpoint(srv.url))
        try:
            st = probe.poll()
        finally:
            probe.close()
    assert st.reachable and st.ready and st.metrics is None
    assert st.metrics_note is not None and st.metrics_note.startswith("/metrics unreadable: ")
    assert detail_lines(probe.endpoint, st)[-1] == st.metrics_note


def test_probe_html_metrics_page_is_unreadable() -> None:
    with ReplayServer(metrics="<html><body>502 Bad Gateway</body></html>\n") as srv:
        probe = ServerProbe(Endpoint(srv.url))
        try:
            st = probe.poll()
        finally:
            probe.close()
    assert st.reachable
    assert st.metrics is None
    assert st.metrics_note is not None and st.metrics_note.startswith("/metrics unreadable: ")


def test_probe_closed_port() -> None:
    port = free_port()
    probe = ServerProbe(Endpoint(f"http://127.0.0.1:{port}/v1"), timeout=2.0)
    try:
        st = probe.poll()
    finally:
        probe.close()
    assert st.url == f"http://127.0.0.1:{port}"
    assert not st.reachable and not st.ready
    assert (st.health, st.version, st.models, st.metrics) == (None, None, (), None)
    assert st.error is not None and st.error.startswith("ConnectError")
    assert health_text(st) == "unreachable" and st.error in detail_lines(probe.endpoint, st)
