"""A private Docker daemon for the tests: own socket, state, config; never the system one.

Recipe from shared/reference/environment.md §1.  Images cannot be pulled here, so a
busybox image is built from the host's busybox-static binary with ``docker import``.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BUSYBOX_IMAGE = "local/busybox:test"
APPLETS = ("sh", "sleep", "echo", "cat", "ls", "chroot", "seq", "yes", "head", "true", "env", "mkdir", "httpd")


class PrivateDockerd:
    def __init__(self, prefix: Sequence[str] = ()) -> None:
        """``prefix`` runs dockerd inside something: ``nsenter --net=/run/netns/NS`` gives a network namespace its
        own daemon (not ``ip netns exec``: its fresh /sys has no cgroups for dockerd)."""
        self.prefix = list(prefix)
        self.dir = Path(tempfile.mkdtemp(prefix="jc-dockerd-"))
        self.socket = self.dir / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.config = self.dir / "daemon.json"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        if not self.config.exists():
            self.config.write_text("{}\n")
        log = (self.dir / "dockerd.log").open("ab")
        self.proc = subprocess.Popen(
            [
                *self.prefix,
                "dockerd",
                "--data-root",
                str(self.dir / "data"),
                "--exec-root",
                str(self.dir / "exec"),
                "--pidfile",
                str(self.dir / "docker.pid"),
                "--host",
                self.url,
                "--config-file",
                str(self.config),
                "--bridge",
                "none",
                "--iptables=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        import docker

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited:\n{(self.dir / 'dockerd.log').read_text()[-3000:]}")
            if self.socket.exists():
                try:
                    docker.APIClient(base_url=self.url, version="auto", timeout=5).ping()
                    return
                except Exception:  # noqa: BLE001 - not up yet
                    pass
            time.sleep(0.2)
        raise RuntimeError("private dockerd did not answer /_ping in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        self._kill_leftover_containers()
        prefix = f"{self.dir}/"  # overlay layers, netns bind mounts: deepest first
        with open("/proc/mounts") as mounts:
            points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_leftover_containers(self) -> None:
        """A daemon killed mid-call (test_docker's) leaves its running containers behind: their shims live on
        with nothing to stop them.  Kill each shim of this daemon and every process under it."""
        parents: dict[int, int] = {}
        shims = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            if argv and b"containerd-shim" in argv[0] and any(f"{self.dir}/".encode() in a for a in argv):
                shims.append(int(entry.name))
        doomed = set(shims)
        grew = True
        while grew:  # the shims' children, theirs, and so on
            more = {pid for pid, parent in parents.items() if parent in doomed} - doomed
            doomed |= more
            grew = bool(more)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def import_busybox(self) -> str:
        """Build local/busybox:test from /bin/busybox (busybox-static)."""
        import docker

        busybox = shutil.which("busybox")
        if busybox is None:
            raise RuntimeError("busybox not installed (apt-get install busybox-static)")
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            tar.add(busybox, arcname="bin/busybox")
            for applet in APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type = tarfile.SYMTYPE
                link.linkname = "busybox"
                tar.addfile(link)
            for folder in ("tmp", "proc", "sys", "dev", "etc"):
                info = tarfile.TarInfo(folder)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if folder == "tmp" else 0o755
                tar.addfile(info)
        api = docker.APIClient(base_url=self.url, version="auto", timeout=60)
        api.import_image_from_data(data.getvalue(), repository="local/busybox", tag="test")
        return BUSYBOX_IMAGE
