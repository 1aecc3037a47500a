"""The one sanitiser, and every place untrusted text enters: nothing a server, container, device or
file says reaches a model object with a control sequence a terminal would act on."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import httpx
import pytest

from console.chat import client as chat_client
from console.chat.client import ChatRequest, ChatStream, EndpointError, ModelInfo, list_models
from console.chat.endpoints import Endpoint
from console.chat.stream import StreamEvent
from console.containers.docker_source import DockerSource, container_from_list, explain
from console.containers.logbuffer import LogBuffer
from console.containers.logstream import HEADER, demux
from console.containers.model import ContainerInfo
from console.containers.watcher import ContainerWatcher
from console.doctor import memory
from console.doctor.check import Probe
from console.doctor.checks import read_cuda
from console.doctor.stack import MARKER, StackProbeError, SystemStack, Target, judge, parse_output
from console.hud import host
from console.runtime.sanitise import (
    clean,
    clean_log,
    clean_mapping,
    clean_opt,
    clean_text,
    clean_tree,
    is_clean,
    strip_ansi,
    visible_controls,
)
from console.servers.metrics import MetricsWindow, parse
from console.servers.probe import ServerProbe
from console.telemetry.jtop_source import snapshot_from_jtop
from console.telemetry.nvml_source import snapshot_from_nvml
from console.telemetry.procfs import ProcfsSource
from tests.conftest import orin_reading

# Every character a terminal may act on, ESC included (newline and tab are left to the field's rule).
BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE = {
    "osc-title": "\x1b]0;pwned\x07",
    "osc-52": "\x1b]52;c;aGk=\x07",
    "csi-clear": "\x1b[2J",
    "csi-colour": "\x1b[31m",
    "c0-bel": "\x07",
    "c0-bs": "\x08",
    "c0-so": "\x0e",
    "c1-csi": "\x9b",
    "c1-osc": "\x9d",
    "c1-dcs": "\x90",
}
ALL = "".join(HOSTILE.values())


def evil(word: str = "x") -> str:
    """A plausible value with every kind of sequence in it."""
    return f"{word}{ALL}\x00\x7f\r\n{word}"


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("fn", [clean, clean_text, clean_log, visible_controls])
def test_every_sequence_kind_is_defused(kind: str, fn: Any) -> None:
    out = fn(f"a{HOSTILE[kind]}9")  # (a letter after a bare 8-bit CSI would be its final byte)
    assert not BAD.search(out), repr(out)
    assert out.startswith("a") and out.endswith("9")
    assert is_clean(out) and not is_clean(HOSTILE[kind])


def test_escapes_are_made_visible_not_obeyed() -> None:
    assert clean("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert clean("\x1b[2J\x1b[31mred") == "␛[2J␛[31mred"
    assert clean("\x08\x0e\x00\x7f") == "␈␎␀␡"
    assert clean("\x9b\x9d\x90") == "\\x9b\\x9d\\x90"
    assert clean_text("\x1b]52;c;aGk=\x07") == "␛]52;c;aGk=␇"


def test_one_line_fields_keep_one_line_bodies_keep_their_lines() -> None:
    assert clean("model\nFAKE LINE") == "model␤FAKE LINE"
    assert clean("a\r\nb\rc\td") == "a␤b␤c d"
    assert clean_text("Traceback:\r\n\tline 1\nError") == "Traceback:\n\tline 1\nError"
    assert clean_opt(None) is None and clean_opt("\x07") == "␇"


def test_logs_lose_their_colours_and_keep_the_rest_visible() -> None:
    assert clean_log("\x1b[32mINFO\x1b[0m ready\x1b]0;pwned\x07") == "INFO ready"
    assert clean_log("bell\x07 c1\x9b2J\tx") == "bell␇ c1    x"
    assert strip_ansi("\x1b[1;31mE\x1b[0m\r") == "E"


def test_mappings_and_trees_are_cleaned_keys_and_all() -> None:
    assert clean_mapping({"k\x1b": "v\x07", "n": 3}) == {"k␛": "v␇", "n": "3"}
    assert clean_mapping(None) == {}
    tree = clean_tree({"Env\x9b": ["A=\x1b[2J"], "n": 1, "t": ("\x07",), "none": None})
    assert tree == {"Env\\x9b": ["A=␛[2J"], "n": 1, "t": ("␇",), "none": None}


@pytest.mark.parametrize("fn", [clean, clean_text, clean_log])
def test_idempotent_and_plain_text_untouched(fn: Any) -> None:
    once = fn(evil())
    assert fn(once) == once
    plain = "Qwen/Qwen3-0.6B · vLLM 0.11 · Orin — 100 %"
    assert fn(plain) is plain


# ---- every entry point: hostile strings through the source's own parsing, nothing raw in the result ----


def strings(obj: Any) -> list[str]:
    """Every string held anywhere in ``obj``: dataclass fields, dict keys and values, sequences, exceptions."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, BaseException):
        return [str(obj), *strings(vars(obj))]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [s for f in dataclasses.fields(obj) for s in strings(getattr(obj, f.name))]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*strings(k), *strings(v))]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [s for v in obj for s in strings(v)]
    return []


def assert_clean(*objs: Any) -> None:
    found = strings(objs)
    assert found, "nothing was checked"
    raw = [s for s in found if BAD.search(s)]
    assert not raw, f"raw control sequences survived: {raw}"


def shows(objs: Any, word: str) -> bool:
    """Whether the hostile value reached the result at all (made visible): the test fed what it meant to."""
    return any(word in s and ("␛" in s or "␇" in s or "␈" in s or "␎" in s or "\\x" in s) for s in strings(objs))


KINDS = pytest.mark.parametrize("seq", list(HOSTILE.values()), ids=list(HOSTILE))


def bad(word: str, seq: str) -> str:
    return f"{word}{seq}\r\n{word}2"


@KINDS
def test_v1_models_rows(seq: str) -> None:
    row = {"id": bad("model", seq), "owned_by": bad("vllm", seq), "root": bad("/w", seq), "max_model_len": seq}
    info = ModelInfo.from_row(row)
    assert_clean(info)
    assert info.id.startswith("model") and shows(info, "model") and info.max_model_len is None


def _probe(handler: Any) -> ServerProbe:
    probe = ServerProbe(Endpoint("http://srv.test/v1"))
    probe._client = httpx.Client(transport=httpx.MockTransport(handler))
    return probe


@KINDS
def test_server_probe_version_models_and_metric_labels(seq: str) -> None:
    metrics = (
        "# TYPE vllm:num_requests_running gauge\n"
        f'vllm:num_requests_running{{model_name="tiny{seq}"}} 1\n'  # (a label value holds no line end)
    )

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/version":
            return httpx.Response(200, json={"version": bad("0.11", seq)})
        if path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": bad("tiny", seq), "max_model_len": 4096}]})
        if path == "/metrics":
            return httpx.Response(200, text=metrics)
        return httpx.Response(200, text="")

    status = _probe(handler).poll()
    assert status.ready and status.metrics is not None and status.metrics.running == 1
    assert_clean(status)
    assert shows(status.version, "0.11") and shows(status.models, "tiny") and shows(status.metrics.models, "tiny")


@KINDS
def test_server_probe_errors(seq: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(bad("refused", seq))

    def html(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metrics":
            return httpx.Response(200, text=f"<html>{bad('oops', seq)}</html>\n")
        return httpx.Response(200, json={"data": []})

    gone, garbled = _probe(down).poll(), _probe(html).poll()
    assert_clean(gone, garbled)
    assert shows(gone.error, "refused") and garbled.metrics_note


@KINDS
def test_metrics_label_values(seq: str) -> None:
    value = f"tiny{seq}"  # a line end would end the sample's line
    scrape = parse(f'# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{model_name="{value}"}} 2\n')
    window = MetricsWindow()
    window.add(scrape, 1.0)
    current = window.current()
    assert_clean(scrape, current)
    assert shows(current.models, "tiny") and window.current(current.models[0]).running == 2


def _chat(handler: Any) -> tuple[ChatStream, list[StreamEvent]]:
    req = ChatRequest(Endpoint("http://srv.test/v1"), "m", ({"role": "user", "content": "hi"},))
    stream = ChatStream(req, client=httpx.Client(transport=httpx.MockTransport(handler)))
    return stream, list(stream)


@KINDS
def test_chat_stream_answers_and_error_frames(seq: str) -> None:
    frames = [
        {"choices": [{"index": 0, "delta": {"reasoning_content": bad("think", seq), "content": bad("answer", seq)}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": bad("stop", seq)}]},
        {"error": {"message": bad("engine dead", seq), "type": bad("InternalError", seq)}},
    ]
    body = "".join(f"data: {json.dumps(f)}\n\n" for f in frames)
    stream, events = _chat(lambda request: httpx.Response(200, text=body))
    assert {e.kind for e in events} >= {"reasoning", "content", "finish", "error"}
    assert_clean(events, stream.clock, stream.status)
    assert shows(events, "answer") and shows(stream.clock.error, "engine dead")


@KINDS
def test_chat_http_error_bodies_and_unreachable_servers(seq: str) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(bad("refused", seq))

    _, http_error = _chat(lambda request: httpx.Response(400, json={"error": {"message": bad("too long", seq)}}))
    _, plain = _chat(lambda request: httpx.Response(500, text=bad("<h1>boom", seq)))
    _, unreachable = _chat(refused)
    assert_clean(http_error, plain, unreachable)
    assert shows(http_error, "too long") and shows(plain, "boom") and shows(unreachable, "refused")


@KINDS
def test_chat_list_models_errors(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([httpx.Response(404, text=bad("no such route", seq)), httpx.Response(200, json={"data": [{}]})])
    server = httpx.Client(transport=httpx.MockTransport(lambda _request: next(answers)))
    monkeypatch.setattr(chat_client, "shared_client", lambda _url: server)
    with pytest.raises(EndpointError) as err:
        list_models(Endpoint("http://srv.test/v1"))
    assert_clean(err.value)
    assert shows(err.value, "no such route")
    assert EndpointError(bad("x", seq)).args[0].startswith("x") and not BAD.search(str(EndpointError(seq)))


def hostile_row(seq: str) -> dict[str, Any]:
    return {
        "Id": "c0ffee" * 10,
        "Names": [f"/{bad('vllm', seq)}"],
        "Image": bad("vllm/vllm-openai", seq),
        "State": bad("running", seq),
        "Status": bad("Up 3 minutes (healthy)", seq),
        "Created": seq,
        "Ports": [{"IP": bad("0.0.0.0", seq), "PublicPort": 8000, "PrivatePort": 8000, "Type": bad("tcp", seq)}],
        "HostConfig": {"NetworkMode": bad("host", seq)},
        "Labels": {bad("jetconsole.preset", seq): bad("qwen", seq)},
        "Command": bad("vllm serve", seq),
    }


@KINDS
def test_docker_container_rows(seq: str) -> None:
    details = {"HostConfig": {"Runtime": bad("nvidia", seq), "RestartPolicy": {"Name": bad("always", seq)}}}
    details["State"] = {"StartedAt": bad("2025-01-01", seq)}
    info = container_from_list(hostile_row(seq), details)
    assert_clean(info)
    assert shows(info.name, "vllm") and shows(info.labels, "qwen") and info.created == 0.0


class FakeApi:
    def __init__(self, seq: str) -> None:
        self.seq = seq

    def inspect_container(self, cid: str) -> dict[str, Any]:
        s = self.seq
        return {
            "Name": bad("/vllm", s),
            "Config": {"Env": [f"MODEL={bad('qwen', s)}", f"HF_TOKEN=hf_{s}"], "Labels": {"k": bad("v", s)}},
            "State": {"Error": bad("oom", s)},
        }

    def info(self) -> dict[str, Any]:
        return {"DefaultRuntime": bad("runc", self.seq), "Runtimes": {bad("nvidia", self.seq): {}}}

    def version(self) -> dict[str, Any]:
        return {"Version": bad("28.0", self.seq), "ApiVersion": "1.48"}

    def stop(self, cid: str, timeout: int) -> None:
        raise docker.errors.APIError("409", explanation=bad("cannot stop", self.seq))


@KINDS
def test_docker_documents_and_daemon_errors(seq: str) -> None:
    src = DockerSource("tcp://docker.test:2375")
    src._api = FakeApi(seq)
    inspected, info, version = src.inspect("c0ffee"), src.info(), src.version()
    result = src.act("stop", "c0ffee" * 10, name="vllm")
    unavailable = explain(ConnectionError(bad("reset by peer", seq)), "tcp://docker.test:2375")
    assert_clean(inspected, src.inspect("c0ffee", masked=False), info, version, result, unavailable)
    assert shows(inspected, "qwen") and shows(info, "runc") and shows(result.message, "cannot stop")
    assert shows(unavailable, "reset by peer") and not result.ok


class FakeSource:
    url = "tcp://docker.test:2375"

    def __init__(self, seq: str) -> None:
        self.seq, self.listed = seq, 0
        self.first_list = threading.Event()

    def open(self) -> None:
        pass

    def containers(self) -> tuple[ContainerInfo, ...]:
        self.listed += 1
        if self.listed > 1:
            raise RuntimeError(bad("daemon said", self.seq))
        self.first_list.set()
        return (container_from_list({**hostile_row(self.seq), "State": "exited"}),)

    def events(self) -> Iterator[dict[str, str]]:
        """One event once the first list is taken: the watcher lists again, and that call fails."""
        self.first_list.wait(5)
        yield {"status": "die"}

    def pids(self, cid: str) -> tuple[int, ...]:
        return ()

    def close(self) -> None:
        pass


@KINDS
def test_docker_watcher_lists_and_errors(seq: str) -> None:
    lists: list[Any] = []
    errors: list[tuple[str, str]] = []

    def on_error(message: str, hint: str) -> None:
        errors.append((message, hint))
        watcher.stop()

    def spawn(name: str, loop: Any) -> None:
        threading.Thread(target=loop, daemon=True).start()

    watcher = ContainerWatcher("tcp://docker.test:2375", lists.append, lambda stats: None, on_error, spawn)
    watcher.source = FakeSource(seq)  # type: ignore[assignment]
    runner = threading.Thread(target=watcher.run, daemon=True)
    runner.start()
    runner.join(10)
    assert not runner.is_alive() and lists and errors
    assert_clean(lists, errors)
    assert shows(lists, "vllm") and shows(errors, "daemon said")


@KINDS
def test_container_log_lines(seq: str) -> None:
    buf = LogBuffer()
    framed = HEADER.pack(1, 0)  # a Docker log frame, de-multiplexed as the follower does
    payload = f"\x1b[32mINFO\x1b[0m {bad('ready', seq)}\n".encode()
    data, _rest = demux(bytearray(framed[:4] + len(payload).to_bytes(4, "big") + payload))
    added = buf.feed(data.decode())
    added += buf.feed(f"tail{seq}")
    added += buf.flush()
    assert_clean(added, buf.lines())
    assert added[0].startswith("INFO ready") and "ready2" in added[1]


@KINDS
def test_hostname(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host.socket, "gethostname", lambda: bad("orin", seq))
    assert_clean(host.hostname())
    assert shows(host.hostname(), "orin")


def _poison(value: Any, seq: str) -> Any:
    if isinstance(value, str):
        return bad(value, seq)
    if isinstance(value, dict):
        return {k: _poison(v, seq) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, seq) for v in value]
    return value


@KINDS
def test_jtop_readings(seq: str) -> None:
    reading = orin_reading()
    reading["board"] = _poison(reading["board"], seq)
    reading["nvpmodel"] = _poison(reading["nvpmodel"], seq)
    reading["cpu"]["cpu"] = _poison(reading["cpu"]["cpu"], seq)
    reading["gpu"] = {bad(n, seq): _poison(g, seq) for n, g in reading["gpu"].items()}
    reading["power"]["rail"] = {bad(n, seq): r for n, r in reading["power"]["rail"].items()}
    reading["temperature"] = {bad("cpu", seq): {"online": True, "temp": 41.5, "max": seq}}
    reading["fan"] = {bad(n, seq): _poison(f, seq) for n, f in reading["fan"].items()}
    reading["processes"] = [[1, bad("root", seq), seq, "Graphic", 20, "S", seq, 10, 20, bad("python3", seq)]]
    snap = snapshot_from_jtop(reading, now=1.0)
    assert_clean(snap)
    assert shows(snap.board, "NVIDIA Jetson") and shows(snap.processes, "python3") and shows(snap.gpus, "gpu")
    assert snap.power_mode is not None and shows(snap.power_mode, "MAXN") and snap.processes[0].cpu_pct is None


@KINDS
def test_nvml_readings(seq: str) -> None:
    reading = {
        "driver": bad("580.65", seq),
        "cuda": bad("13.0", seq),
        "devices": [
            {
                "index": 0,
                "name": bad("NVIDIA H200", seq),
                "memory": {"used": 1, "total": 2, "free": 1},
                "processes": [{"pid": 7, "used": 5, "name": bad("vllm serve", seq), "user": bad("ai", seq)}],
            }
        ],
    }
    snap = snapshot_from_nvml(reading, now=1.0)
    assert_clean(snap)
    assert shows(snap.gpus, "H200") and shows(snap.processes, "vllm serve") and shows(snap.board, "580.65")


@KINDS
def test_procfs_names(seq: str, tmp_path: Path) -> None:
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/stat").write_text("cpu 1 0 1 10 0 0 0 0\ncpu0 1 0 1 10 0 0 0 0\n")
    (tmp_path / "proc/meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 500 kB\n")
    (tmp_path / "proc/sys/kernel/osrelease").write_text(bad("6.8.0-tegra", seq))
    (tmp_path / "proc/device-tree").mkdir()
    (tmp_path / "proc/device-tree/model").write_text(bad("NVIDIA Jetson", seq) + "\x00")
    zone = tmp_path / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text(bad("cpu-thermal", seq))
    (zone / "temp").write_text("41000\n")
    hw = tmp_path / "sys/class/hwmon/hwmon0"
    hw.mkdir(parents=True)
    (hw / "name").write_text(bad("pwmfan", seq))
    (hw / "temp1_input").write_text("40000\n")
    (hw / "temp1_label").write_text(bad("edge", seq))
    (hw / "fan1_input").write_text("2000\n")
    freq = tmp_path / "sys/devices/system/cpu/cpu0/cpufreq"
    freq.mkdir(parents=True)
    (freq / "scaling_governor").write_text(bad("schedutil", seq))
    src = ProcfsSource(tmp_path)
    src.open()
    snap = src.sample()
    assert_clean(snap)
    assert shows(snap.temps, "cpu-thermal") and shows(snap.fans, "pwmfan") and shows(snap.board, "NVIDIA Jetson")
    assert snap.cpu is not None and shows(snap.cpu.cores, "schedutil")


@KINDS
def test_doctor_stack_probe_output(seq: str) -> None:
    data = {
        "python": bad("3.12.3", seq),
        "soabi": bad("cpython-312-aarch64-linux-gnu", seq),
        "executable": bad("/usr/bin/python3", seq),
        "torch": {
            "found": True,
            "location": bad("/usr/lib/torch", seq),
            "ext_tags": [bad("cpython-311-aarch64-linux-gnu", seq)],
            "error": f"ImportError: {bad('libcudart.so.13: cannot open shared object file', seq)}",
        },
        "libstdcxx": {"path": bad("/usr/lib/libstdc++.so.6", seq), "glibcxx_max": bad("3.4.30", seq)},
    }
    parsed = parse_output(f"warning{seq}\n{MARKER}{json.dumps(data)}\n")
    assert parsed is not None
    checks = judge(Target("image", "vllm:latest"), parsed, SystemStack(cuda="12.6", has_gpu=True))
    assert_clean(parsed, checks)
    assert shows(checks, "Python 3.12.3") and shows(checks, "/usr/lib/torch")
    failed = StackProbeError(bad("exited 1 without a result", seq), bad("hint", seq))
    assert_clean(failed)
    assert shows(failed, "exited")


@KINDS
def test_doctor_files_and_processes(seq: str, tmp_path: Path) -> None:
    version = tmp_path / "version.json"
    version.write_text(json.dumps({"cuda": {"version": bad("13.0.48", seq)}}))
    cuda = read_cuda(Probe(cuda_version=version))
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    (proc / "4242/cmdline").write_bytes(f"VLLM::EngineCore{seq}\0--model\0{bad('qwen', seq)}\0".encode())
    (proc / "4242/stat").write_text("4242 (VLLM) S 1 " + " ".join(["0"] * 17) + " 777 0 0\n")
    holders = memory.find_holders(proc)
    assert cuda is not None and holders
    assert_clean(cuda, holders)
    assert shows(cuda, "13.0.48") and shows(holders, "VLLM::EngineCore")
