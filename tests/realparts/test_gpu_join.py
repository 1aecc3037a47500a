"""The joined view: a server container's GPU memory, from the jtop service's process table
(emulated Orin nvmap) matched to the container's host PIDs on a private dockerd."""

from __future__ import annotations

from console.config import Config
from console.containers.docker_source import DockerSource
from console.themes import load_themes
from console.ui.app import JetconsoleApp
from console.ui.widgets.servers_panel import ServersPanel
from tests.app.test_dashboard import wait_for
from tests.realparts import jetson_emulator as emu
from tests.realparts.private_dockerd import BUSYBOX_IMAGE


async def test_servers_panel_shows_gpu_memory_of_the_container(jtop_service, dockerd) -> None:
    src = DockerSource(dockerd.url)
    src.open()
    cid = src.api.create_container(
        BUSYBOX_IMAGE,
        ["sleep", "300"],
        name="vllm-gpu",
        labels={"jetconsole.preset": "vllm-orin"},
        host_config=src.api.create_host_config(network_mode="none"),
    )["Id"]
    src.api.start(cid)
    try:
        (pid,) = src.pids(cid)
        emu.set_gpu_processes([("root", "python3", pid, 3 * 1024 * 1024)])  # 3 GiB in nvmap
        app = JetconsoleApp(Config(refresh_interval=0.5, docker_host=dockerd.url), load_themes(), remember_theme=False)
        async with app.run_test(size=(160, 40)) as pilot:
            panel = app.screen.query_one(ServersPanel)
            await wait_for(pilot, lambda: "GPU 3.0 GiB" in panel.body.text, timeout=20)
            row = next(line for line in panel.body.text.splitlines() if "vllm-gpu" in line)
            assert "GPU 3.0 GiB" in row and "▶" in row and "Up " in row  # ▶ and Docker's status: running
    finally:
        emu.set_gpu_processes([])
        src.api.remove_container(cid, force=True)
        src.close()
