"""The pure parts of ``jetconsole cluster up|status|down`` (issue 17): ``ray status`` read, failures named from
the nodes' own lines, the link test's answer, the cluster record, and what down found left."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import pytest

from console.cluster import causes, linktest, record
from console.cluster.down import NodeDown, report
from console.cluster.plan import ClusterPlan, Node, detached, lines, vllm_serve
from console.cluster.presets import BUILTIN
from console.cluster.raystatus import parse
from console.fleet.actions import Outcome

PLAN = ClusterPlan(Node("a", "eth1", "10.0.0.1"), Node("b", "eth1", "10.0.0.2"), BUILTIN["nnodes"])
RAY_STATUS = """======== Autoscaler status: 2026-12-05 18:23:41.142340 ========
Node status
---------------------------------------------------------------
Active:
 1 node_0272187f1fac448dd1969dd8644ea4d5e62969508936574f40e9561c
 1 node_64da84ac5418e663fc506c1947395ae385682b89f3ec7fb6590ae0e6
Pending:
 (no pending nodes)
Recent failures:
 (no failures)

Resources
---------------------------------------------------------------
Total Usage:
 0.0/4.0 CPU
 0.0/2.0 GPU
 0B/31.56GiB memory
 0B/13.53GiB object_store_memory
"""


def test_ray_status_read() -> None:
    got = parse(RAY_STATUS)
    assert len(got.active) == 2 and got.pending == () and got.failures == ()
    assert got.total("GPU") == 2.0 and got.total("CPU") == 4.0 and got.total("memory") == 31.56
    one = parse(RAY_STATUS.replace(" 1 node_64da84ac5418e663fc506c1947395ae385682b89f3ec7fb6590ae0e6\n", ""))
    assert len(one.active) == 1
    waiting = parse("No cluster status. It may take a few seconds for the Ray internal services to start up.")
    assert waiting.active == () and waiting.said.startswith("No cluster status.")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("docker: Error response from daemon: No such image: local/cluster:test", "image-missing"),
        (
            'docker: Error response from daemon: Conflict. The container name "/jetconsole-cluster" is already in use',
            "already-up",
        ),
        ("docker: Error response from daemon: unknown or invalid runtime name: nvidia", "no-nvidia-runtime"),
        ("error setting rlimits for ready process: error setting rlimit type 8: operation not permitted", "memlock"),
        ("ValueError: current platform cpu does not support ray.", "cpu-no-ray"),
        ("Value error, Failed to import Ray: No module named 'ray'.Please install Ray", "ray-missing"),
        (
            "RuntimeError: Gloo connectFullMesh failed with [../third_party/gloo/gloo/transport/tcp/pair.cc:144]",
            "gloo-interface",
        ),
        ("node-b:123:456 [0] NCCL WARN socket.c:540 NET/Socket : Connect to 10.0.0.1<43567> failed", "nccl-interface"),
        (
            "[c10d] The client socket has failed to connect to [::1]:29500 (errno: 101 - Network is unreachable).",
            "peer-unreachable",
        ),
        ("No available node types can fulfill resource request {'GPU': 1.0}", "no-node-types"),
        ("ConnectionError: Failed to connect to GCS at address 10.0.0.1:6379 within 5 seconds.", "gcs-unreachable"),
        ("OSError: [Errno 98] Address already in use", "address-in-use"),
    ],
)
def test_each_failure_is_named_from_its_line(line: str, key: str) -> None:
    got = causes.name(["INFO starting", line], "node-b")
    assert got is not None and got.key == key, got
    assert got.evidence == line[:300] and got.fix


def test_a_server_failure_falls_back_to_the_servers_diagnosis() -> None:
    line = (
        "ValueError: To serve at least one request with the models's max seq len (4096), (0.50 GiB KV cache is needed"
    )
    got = causes.name(["ERROR 12-05 18:00:00 [core.py:1] " + line], "node-a")
    assert got is not None and got.title.endswith("(on node-a)")
    assert causes.name(["INFO all good", "INFO Application startup complete."], "node-a") is None


def test_ssh_failure_is_unreachable() -> None:
    said = ("ssh: connect to host 10.231.2.2 port 22: Connection timed out",)
    got = causes.unreachable("node-b", Outcome("node-b", False, "ssh: timed out", 255, 10.0, said))
    assert got is not None and got.key == "unreachable"
    assert causes.unreachable("node-b", Outcome("node-b", False, "failed (exit 255)", 255, 1.0, ("docker: x",))) is None


def test_the_link_tests_answer() -> None:
    line = linktest.MARK + '{"gloo": {"latency_us": 217.5, "gbit_s": 6.71}}'
    (got,) = linktest.parse(["noise", line]) or []
    assert (got.backend, got.latency_us, got.gbit_s) == ("gloo", 217.5, 6.71)
    assert linktest.parse(["Traceback ...", "ImportError: No module named torch"]) is None
    assert linktest.parse([linktest.MARK + "{not json"]) is None
    shown = linktest.shown(PLAN, PLAN.worker)
    assert "GLOO_SOCKET_IFNAME=eth1" in shown and "'<all-reduce script>' 1 10.0.0.1 29500 64" in shown


def test_the_serve_line_runs_detached_with_its_log_and_pid() -> None:
    serve = vllm_serve(PLAN, PLAN.worker)
    assert serve is not None
    argv = detached(serve)
    assert argv[:7] == ["docker", "exec", "-d", "jetconsole-cluster", "sh", "-c", argv[6]]
    assert argv[6].startswith("echo $$ >/tmp/jetconsole-serve.pid; exec vllm serve openai/gpt-oss-20b")
    assert argv[6].endswith("--headless >>/tmp/jetconsole-serve.log 2>&1")


def test_the_record_round_trips_and_a_bad_one_is_named(tmp_path: Path) -> None:
    where = tmp_path / "cluster.json"
    assert record.load(where) is None
    record.save(record.Record(PLAN, "http://10.231.1.2:8000/v1", 1.5), where)
    got = record.load(where)
    assert got is not None and got.plan == PLAN and got.url == "http://10.231.1.2:8000/v1"
    where.write_text('{"head": 1}')
    with pytest.raises(ValueError, match="not a cluster record"):
        record.load(where)
    record.forget(where)
    assert not where.exists()


def test_what_down_says() -> None:
    nodes = (
        NodeDown("a", True, ()),
        NodeDown("b", False, ("container jetconsole-cluster (0123456789ab)",)),
        NodeDown("c", False, (), "ssh: timed out"),
        NodeDown("d", True, (), listening=(8000,)),
    )
    assert report(nodes) == [
        "a: removed container jetconsole-cluster and everything in it (Ray, vllm serve); nothing left",
        "b: no container; left: container jetconsole-cluster (0123456789ab)",
        "c: not reached (ssh: timed out); run `jetconsole cluster down` again",
        "d: removed container jetconsole-cluster and everything in it (Ray, vllm serve); nothing left; "
        "port 8000 still listened on by something else (ss -ltnp there says what)",
    ]
    assert [n.clean for n in nodes] == [True, False, False, True]  # a stranger's port keeps no record


class FakeLink:
    """A Link whose nodes answer from a table: what each command is, what it printed (no SSH)."""

    def __init__(self, docker_run: Outcome | Exception) -> None:
        self.docker_run = docker_run
        self.ran: list[str] = []

    async def sh(self, node: str, command: str, limit: float, keep: int = 40) -> Outcome:
        self.ran.append(command)
        if command.startswith("docker run -d --init"):
            if isinstance(self.docker_run, Exception):
                raise self.docker_run
            return self.docker_run
        if "@@jetconsole-left" in command:  # down: it removed the container, nothing is left
            return Outcome(node, True, "done", 0, 0.1, ("removed", "@@jetconsole-left", "@@jetconsole-left"))
        raise AssertionError(f"unexpected command: {command[:80]}")


def downs(link: FakeLink) -> int:
    return sum("@@jetconsole-left" in c for c in link.ran)


async def never_ready() -> bool:
    return False


CONFLICT = (
    'docker: Error response from daemon: Conflict. The container name "/jetconsole-cluster" is already in use '
    'by container "f00".'
)


@pytest.mark.parametrize(
    ("answer", "key", "taken_down"),
    [
        # a cluster already up there: named, and left alone (taking it down would end a working cluster)
        (Outcome("a", False, "failed (exit 125)", 125, 0.1, (CONFLICT,)), "already-up", 0),
        # something this code did not expect: named, and both nodes still go down
        (RuntimeError("the unexpected"), "unexpected", 2),
        (
            Outcome("a", False, "failed", 125, 0.1, ("docker: Error response from daemon: No such image: x",)),
            "image-missing",
            2,
        ),
    ],
)
async def test_up_after_a_failure_takes_down_only_what_it_should(
    answer: Outcome | Exception, key: str, taken_down: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.cluster.session import bring_up

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    link = FakeLink(answer)
    said: list[str] = []
    told: list[object] = []
    result = await bring_up(PLAN, link, never_ready, said.append, told.append)  # type: ignore[arg-type]
    assert result.cause is not None and result.cause.key == key and told == [result]
    assert downs(link) == taken_down, said


async def test_a_secret_on_the_serve_line_is_refused_and_a_bad_url_named(tmp_path: Path) -> None:
    from console.cluster.planning import PlanError, PlanRequest, make_plan, server_url
    from console.config import Config

    hosts = tmp_path / "hosts"
    hosts.write_text("orin-a - ssh=nvidia@10.0.0.1\norin-b - ssh=nvidia@10.0.0.2\n")
    config = Config(fleet_hosts=str(hosts))
    req = PlanRequest("orin-a", "orin-b", "eth1", "eth1", "10.0.0.1", "10.0.0.2", serve_args="--api-key sk-live-123")
    with pytest.raises(PlanError) as refused:
        await make_plan(config, req)
    assert "VLLM_API_KEY" in str(refused.value) and "sk-live-123" not in str(refused.value)
    plan, devices = await make_plan(config, PlanRequest("orin-a", "orin-b", "eth1", "eth1", "10.0.0.1", "10.0.0.2"))
    assert "VLLM_API_KEY" in lines(plan)["orin-a"][0].split()  # by name, like HF_TOKEN
    assert server_url(None, plan, devices["orin-a"]) == "http://10.0.0.1:8000/v1"
    with pytest.raises(PlanError, match="an http:// URL"):
        server_url("orin-a:8000", plan, devices["orin-a"])


class HangingLink(FakeLink):
    """docker run never answers (a node that hangs): what a Ctrl-C meets."""

    async def sh(self, node: str, command: str, limit: float, keep: int = 40) -> Outcome:
        if command.startswith("docker run -d --init"):
            self.ran.append(command)
            await asyncio.sleep(3600)
        return await super().sh(node, command, limit, keep)


async def test_a_cancel_during_up_takes_both_nodes_down_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.cluster.session import bring_up

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    link = HangingLink(RuntimeError("unused"))
    said: list[str] = []
    task = asyncio.create_task(bring_up(PLAN, link, never_ready, said.append, lambda _r: None))  # type: ignore[arg-type]
    while len(link.ran) < 2:  # both docker runs hang
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert downs(link) == 2 and said[:2] == ["containers…", "interrupted: taking both nodes down"]


def test_a_retry_is_not_a_failure_but_a_timeout_is() -> None:
    retry = "[c10d] The client socket has failed to connect to [10.0.0.1]:29500 (errno: 111 - Connection refused)."
    assert causes.name([retry], "node-b") is None  # the headless rank waits for the head like this
    dropped = "[c10d] The client socket has failed to connect to [10.0.0.1]:29500 (errno: 110 - Connection timed out)."
    got = causes.name([dropped], "node-b")
    assert got is not None and got.key == "peer-unreachable"


def test_down_waits_for_the_docker_run_that_up_sends() -> None:
    import re

    from console.cluster.down import PENDING
    from console.cluster.plan import docker_run

    line = shlex.join(docker_run(PLAN, PLAN.head))
    assert re.search(PENDING, f"timeout 121 sh -c {shlex.quote(line)}")  # as ps shows it on the node
    assert not re.search(PENDING, PENDING)  # never its own grep


def test_the_keep_alive_is_what_down_leaves_running() -> None:
    from console.cluster.down import BUSY
    from console.cluster.plan import KEEP_ALIVE, docker_run

    assert docker_run(PLAN, PLAN.head)[-3:] == ["sh", "-c", KEEP_ALIVE]
    assert "'sleep infinity'" in BUSY and KEEP_ALIVE.endswith("exec sleep infinity")  # what docker top shows


async def test_a_second_plan_is_refused_while_one_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.cluster.planning import PlanError, PlanRequest, make_plan
    from console.cluster.session import refuse_if_recorded
    from console.config import Config

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    refuse_if_recorded()  # nothing recorded: no refusal
    record.save(record.Record(PLAN, "http://10.0.0.1:8000/v1", 0.0))
    with pytest.raises(PlanError, match=r"a cluster is recorded already \(a \+ b, nnodes\)"):
        refuse_if_recorded()
    hosts = tmp_path / "hosts"
    hosts.write_text("a - ssh=root@10.0.0.1\nb - ssh=root@10.0.0.2\n")
    underscore = PlanRequest("a", "b", "eth1", "eth1", "10.0.0.1", "10.0.0.2", serve_args="--api_key=sk-live-9")
    with pytest.raises(PlanError, match="VLLM_API_KEY"):  # vLLM reads --api_key as --api-key
        await make_plan(Config(fleet_hosts=str(hosts)), underscore)
