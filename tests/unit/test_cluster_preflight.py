"""The cluster preflight's network checks on their own (issue 17, in progress): what each node printed,
parsed; each fault named with evidence and a fix."""

from __future__ import annotations

import json

from console.cluster.interfaces import Interface
from console.cluster.plan import ClusterPlan, Node
from console.cluster.preflight import MARK, NodeFacts, checks, facts_script, parse_facts
from console.cluster.presets import BUILTIN
from console.cluster.resources import NodeResources, parse_resources

IMAGE_ID = "sha256:" + "ab" * 32
HEAD, WORKER = Node("a", "eth1", "10.0.0.1"), Node("b", "eth1", "10.0.0.2")
PLAN = ClusterPlan(HEAD, WORKER, BUILTIN["orin-gpt-oss-20b"])
GIB_KIB = 1024 * 1024
# an idle AGX Orin 64 GB (unified memory: /proc/meminfo), its /dev/shm half of it, an image with NCCL 2.21.5
ORIN_64 = NodeResources(61 * GIB_KIB, 58 * GIB_KIB, None, None, 30 * GIB_KIB, "2.21.5", True)


def facts(ip: str, mtu: int = 9000, **kw: object) -> NodeFacts:
    base = dict(
        interfaces=(Interface("eth1", True, mtu, (ip,)), Interface("eth0", True, 1500, ("192.168.1.5",))),
        route_dev="eth1",
        speed_mbps=10000,
        ping_ok=True,
        ping_said="2 packets transmitted, 2 received",
        listening=frozenset({22}),
        env_names=frozenset({"HF_HOME"}),
        soc="nvidia,p3737-0000+p3701-0005 nvidia,tegra234",
        image_id=IMAGE_ID,
        runtimes=frozenset({"nvidia", "runc"}),
        resources=ORIN_64,
    )
    return NodeFacts(**{**base, **kw})  # type: ignore[arg-type]


def by_id(found: list) -> dict:  # type: ignore[type-arg]
    return {c.id: c for c in found}


def test_a_good_link() -> None:
    got = by_id(checks(PLAN, facts("10.0.0.1"), facts("10.0.0.2")))
    assert {c.status for c in got.values()} == {"ok"}, got
    assert got["link.mtu"].evidence == ("MTU 9000 on both",)


def test_each_fault_is_named() -> None:
    head = facts("10.0.0.1", listening=frozenset({22, 6379, 8000}), route_dev="eth0")
    worker = facts("10.0.0.9", mtu=1500, ping_ok=False, ping_said="2 packets transmitted, 0 received", speed_mbps=1000)
    got = by_id(checks(PLAN, head, worker))
    assert got["head.ports"].evidence == (
        "port 6379 (Ray's head (GCS)) is already listened on",
        "port 8000 (vLLM's API server) is already listened on",
    )
    assert got["head.route"].status == "fail" and got["head.route"].evidence == ("ip route get 10.0.0.2: dev eth0",)
    assert got["worker.interface"].evidence == ("eth1 carries 10.0.0.9",)
    assert got["worker.reach"].status == "fail" and "0 received" in got["worker.reach"].evidence[0]
    assert got["link.mtu"].status == "fail" and got["link.mtu"].evidence[0] == "MTU 9000 on a, 1500 on b"
    assert got["link.speed"].status == "warn"
    assert got["worker.ports"].status == "ok"  # the worker listens on nothing for a Ray plan


def test_a_node_that_said_nothing_usable() -> None:
    got = by_id(checks(PLAN, facts("10.0.0.1"), NodeFacts(error="SSH login refused")))
    assert got["worker.answer"].status == "fail" and "link.mtu" not in got


def test_what_a_node_prints_parsed() -> None:
    addr = [
        {
            "ifname": "eth1",
            "flags": ["UP", "LOWER_UP"],
            "mtu": 9000,
            "operstate": "UP",
            "addr_info": [{"family": "inet", "local": "10.0.0.1"}],
        }
    ]
    text = "\n".join(
        [
            f"{MARK}addr",
            json.dumps(addr),
            f"{MARK}route",
            json.dumps([{"dst": "10.0.0.2", "dev": "eth1", "prefsrc": "10.0.0.1"}]),
            f"{MARK}speed",
            "10000",
            f"{MARK}ping",
            "2 packets transmitted, 2 received, 0% packet loss, time 1001ms",
            "rtt min/avg/max = 0.1/0.1/0.1 ms",
            f"{MARK}listen",
            "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*",
            "LISTEN 0 4096 [::]:6379 [::]:*",
        ]
    )
    got = parse_facts(text)
    assert (got.route_dev, got.speed_mbps, got.ping_ok, got.listening) == ("eth1", 10000, True, frozenset({22, 6379}))
    assert parse_facts("Welcome!").error.startswith("the node printed something else")
    assert parse_facts(f"{MARK}speed\n-1\n{MARK}addr\n[]").speed_mbps is None  # a veth says -1


def test_the_script_quotes_what_it_is_given() -> None:
    script = facts_script(HEAD, WORKER, "dustynv/vllm:r36.4.0; reboot")
    assert "ping -c 2 -W 1 -I eth1 10.0.0.2" in script and script.endswith("; true")
    assert "docker image inspect --format '{{.Id}}' 'dustynv/vllm:r36.4.0; reboot'" in script


def test_the_image_on_both_and_the_nvidia_runtime() -> None:
    other = "sha256:" + "cd" * 32
    missing = facts("10.0.0.2", image_id="", image_said="Error: No such image: dustynv/vllm:r36.4.0")
    got = by_id(checks(PLAN, facts("10.0.0.1"), missing))
    assert got["image.same"].status == "fail"
    assert got["image.same"].evidence == (
        "dustynv/vllm:r36.4.0 is not on b: Error: No such image: dustynv/vllm:r36.4.0",
    )
    assert got["image.same"].fix.startswith("docker pull dustynv/vllm:r36.4.0 on b")
    differ = by_id(checks(PLAN, facts("10.0.0.1"), facts("10.0.0.2", image_id=other)))["image.same"]
    assert differ.status == "fail" and differ.fix.startswith("pull the same tag on both")
    no_gpu = by_id(checks(PLAN, facts("10.0.0.1", runtimes=frozenset({"runc"})), facts("10.0.0.2")))
    assert no_gpu["head.runtime"].status == "fail" and no_gpu["head.runtime"].evidence == ("runtimes: runc",)
    gone = by_id(checks(PLAN, facts("10.0.0.1"), facts("10.0.0.2", runtimes=None)))["worker.runtime"]
    assert gone.status == "fail" and gone.fix == "is Docker running there?"
    text = f"{MARK}addr\n[]\n{MARK}image\n{IMAGE_ID}\n{MARK}runtimes\n" + '{"io.containerd.runc.v2":{},"runc":{}}'
    parsed = parse_facts(text)
    assert parsed.image_id == IMAGE_ID and parsed.runtimes == frozenset({"io.containerd.runc.v2", "runc"})


def test_the_environment_and_a_thor() -> None:
    head = facts("10.0.0.1", env_names=frozenset({"HF_HOME", "NCCL_SOCKET_IFNAME"}), soc="nvidia,tegra264")
    got = by_id(checks(PLAN, head, facts("10.0.0.2")))
    assert got["env.same"].status == "warn" and got["env.same"].evidence == ("only on a: NCCL_SOCKET_IFNAME",)
    assert got["nccl.thor"].status == "fail" and "hangs at init on Thor" in got["nccl.thor"].evidence[1]
    ray_free = ClusterPlan(HEAD, WORKER, BUILTIN["nnodes"])
    assert by_id(checks(ray_free, head, facts("10.0.0.2")))["nccl.thor"].status == "warn"
    text = f"{MARK}addr\n[]\n{MARK}env\nPATH\nHF_TOKEN\nHOME\n{MARK}soc\nnvidia,tegra234 "
    parsed = parse_facts(text)
    assert parsed.env_names == frozenset({"HF_TOKEN"}) and parsed.soc == "nvidia,tegra234"


def test_a_nul_ended_section_never_swallows_the_next() -> None:
    """On a Jetson the device tree's compatible string ends in NUL, not a newline: the next marker must
    still start its own line (the script prints each marker after a newline)."""
    script = facts_script(HEAD, WORKER, "img")
    assert f"printf '\\n%s\\n' {MARK}image" in script
    text = f"{MARK}addr\n[]\n{MARK}soc\nnvidia,tegra234 \n{MARK}image\n{IMAGE_ID}\n"
    assert parse_facts(text).image_id == IMAGE_ID


def test_odd_numbers_and_no_ss() -> None:
    assert parse_facts(f"{MARK}addr\n[]\n{MARK}speed\n²").speed_mbps is None  # isdigit() but no int
    assert parse_facts(f"{MARK}addr\n[]\n{MARK}listen\n").listening is None
    listens = "LISTEN 0 5 *:8000 *:*\nLISTEN 0 5 127.0.0.1:6379 0.0.0.0:*\nLISTEN 0 5 [::ffff:127.0.0.1]:29500 *:*"
    assert parse_facts(f"{MARK}addr\n[]\n{MARK}listen\n{listens}").listening == frozenset({8000, 6379, 29500})
    no_ss = by_id(checks(PLAN, facts("10.0.0.1", listening=None), facts("10.0.0.2")))["head.ports"]
    assert no_ss.status == "skip"
    ray_free = ClusterPlan(HEAD, WORKER, BUILTIN["nnodes"])
    taken = by_id(checks(ray_free, facts("10.0.0.1", listening=frozenset({29500})), facts("10.0.0.2")))["head.ports"]
    assert taken.evidence == ("port 29500 (the multi-node rendezvous (--master-port)) is already listened on",)


def test_the_script_quotes_hostile_values_and_is_valid_sh() -> None:
    import subprocess

    hostile = Node("a", "eth1", "10.0.0.1")
    other = Node("b", "eth1", "10.0.0.2")
    script = facts_script(hostile, other, "img'; reboot; '")
    assert subprocess.run(["sh", "-n", "-c", script], capture_output=True).returncode == 0
    assert "'img'\"'\"'; reboot; '\"'\"''" in script  # the image stays one word
    assert "awk 'BEGIN { for (name in ENVIRON) print name }'" in script  # names only, never a line of a value


def test_memory_shm_and_nccl() -> None:
    got = by_id(checks(PLAN, facts("10.0.0.1"), facts("10.0.0.2")))
    assert got["head.memory"].evidence == (
        "61.0 GiB in all, 58.0 GiB free",
        "--gpu-memory-utilization 0.5 lets vLLM use 30.5 GiB",
        "its share at TP=2: 10.4 GiB (half of 12.8 GiB of weights, activations, graphs, KV cache)",
    )
    assert (
        "ENABLE_DISTRIBUTED_JETSON_NCCL=on; the docs misspell it ENABLE_NCCL_DISTRIBUTED_JETSON"
        in (got["image.nccl"].evidence[1])
    )
    assert got["image.nccl"].evidence[0] == "NCCL 2.21.5 in dustynv/vllm:r36.4.0"
    # something else holds most of the worker's memory: vLLM would refuse its 0.5 budget
    busy = NodeResources(61 * GIB_KIB, 20 * GIB_KIB, None, None, 30 * GIB_KIB, "2.21.5", True)
    got = by_id(checks(PLAN, facts("10.0.0.1"), facts("10.0.0.2", resources=busy)))
    assert got["worker.memory"].status == "fail" and "at most 0.33" in got["worker.memory"].fix
    # the 120b line sizes its KV cache: 30.4 + 2 + 1 + 2.9 GiB (3000M) must fit the free memory, not the budget
    big = ClusterPlan(HEAD, WORKER, BUILTIN["orin-gpt-oss-120b"])
    got = by_id(checks(big, facts("10.0.0.1"), facts("10.0.0.2")))
    assert got["head.memory"].status == "ok" and "its share at TP=2: 36.3 GiB" in got["head.memory"].evidence[2]
    small_shm = NodeResources(61 * GIB_KIB, 58 * GIB_KIB, None, None, 4 * GIB_KIB, "2.22.3", True)
    got = by_id(checks(PLAN, facts("10.0.0.1"), facts("10.0.0.2", resources=small_shm)))
    assert got["worker.shm"].status == "warn" and got["worker.shm"].fix.startswith("mount -o remount,size=8g")
    assert got["image.nccl"].status == "fail"  # two NCCL versions: two images


def test_resources_parsed_from_what_a_node_printed() -> None:
    sections = {
        "mem": ["MemTotal:       64305152 kB", "MemAvailable:   60000000 kB"],
        "gpumem": [],
        "shm": ["32152576"],
        "nccl": ["/usr/lib/aarch64-linux-gnu/libnccl.so.2.21.5"],
        "soc": ["nvidia,p3737-0000+p3701-0005 nvidia,tegra234"],
    }
    got = parse_resources(sections)
    assert (got.mem_total_kib, got.mem_available_kib, got.shm_kib, got.nccl, got.jetson) == (
        64305152,
        60000000,
        32152576,
        "2.21.5",
        True,
    )
    assert got.memory() == (64305152 * 1024, 60000000 * 1024)
    dgpu = parse_resources({**sections, "gpumem": ["81559, 80000"], "nccl": ["NCCL_VERSION=2.27.3-1"]})
    assert dgpu.memory() == (81559 * 1024**2, 80000 * 1024**2) and dgpu.nccl == "2.27.3-1"
    assert parse_resources({"nccl": ["sh: find: not found"]}).nccl == ""


def test_rays_worker_port_range_and_its_other_ports() -> None:
    got = by_id(checks(PLAN, facts("10.0.0.1", listening=frozenset({22, 12345, 15000})), facts("10.0.0.2")))
    assert got["head.ports"].status == "warn"
    assert got["head.ports"].evidence == ("2 of Ray's worker ports (10002-19999) taken: 12345, 15000",)
    assert got["worker.ports"].evidence == ("Ray's worker ports 10002-19999: none taken",)
    dash = by_id(checks(PLAN, facts("10.0.0.1", listening=frozenset({8265})), facts("10.0.0.2")))
    assert dash["head.ports"].evidence == ("port 8265 (Ray's dashboard) is already listened on",)
    nnodes = ClusterPlan(HEAD, WORKER, BUILTIN["nnodes"])  # no Ray: its ports are nobody's business
    free = by_id(checks(nnodes, facts("10.0.0.1", listening=frozenset({12345, 8265})), facts("10.0.0.2")))
    assert free["head.ports"].status == "ok" and free["head.ports"].evidence == ()


def test_a_node_without_ping_is_told_to_install_it_not_to_check_its_cable() -> None:
    worker = facts("10.0.0.2", ping_ok=False, ping_said="sh: 1: ping: not found")
    reach = by_id(checks(PLAN, facts("10.0.0.1"), worker))["worker.reach"]
    assert reach.status == "warn" and reach.evidence == ("ping is not installed on b: the link was not tested",)
    assert "apt-get install iputils-ping" in reach.fix
