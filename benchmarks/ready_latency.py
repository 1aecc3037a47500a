"""Time from a server's /health first answering 200 to jetconsole's Launch screen saying Ready.

A private dockerd runs a busybox "server" that prints vLLM's startup lines, then serves
/health with busybox httpd.  This script polls /health itself every 5 ms to find the
moment it first answers, and reads the Launch screen (Textual headless, the real app and
launcher) every 5 ms to find the moment it shows Ready.

    .venv/bin/python benchmarks/ready_latency.py [--runs 5]      (root: starts dockerd)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console import config as cfg  # noqa: E402
from console.themes import load_themes  # noqa: E402
from console.ui.app import JetconsoleApp  # noqa: E402
from console.ui.screens.launch import LaunchScreen  # noqa: E402
from tests.conftest import fixed_discovery  # noqa: E402
from tests.realparts.private_dockerd import BUSYBOX_IMAGE, PrivateDockerd  # noqa: E402
from tests.realparts.test_launch import STARTUP, echo_lines  # noqa: E402
from tests.realparts.vllm_server import free_port  # noqa: E402


def first_200(url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                out.append(time.monotonic())
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.005)


async def one_run(daemon: PrivateDockerd, workdir: Path) -> float:
    port = free_port()
    script = (
        echo_lines(STARTUP, port) + f"; sleep 2; mkdir -p /www; echo ok > /www/health; "
        f"httpd -f -p 127.0.0.1:{port} -h /www"
    )
    import json

    toml = (
        f'[endpoints]\ndocker_host = "{daemon.url}"\n[telemetry]\nsource = "procfs"\n'
        f'[presets.fake]\nbase = "custom"\nimage = "{BUSYBOX_IMAGE}"\nport = {port}\nruntime = ""\n'
        f'container_name = "ready-{port}"\ncommand = {json.dumps(["sh", "-c", script])}\n'
    )
    path = workdir / f"config-{port}.toml"
    path.write_text(toml)
    config = cfg.load(str(path))
    from console.telemetry.procfs import ProcfsSource

    host = ProcfsSource()
    host.open()
    snapshot = host.sample()
    app = JetconsoleApp(
        config, load_themes(), remember_theme=False, discover_fn=lambda: fixed_discovery([snapshot], name="procfs")
    )
    health_at: list[float] = []
    stop = threading.Event()
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("c", "n")
        screen = app.screen
        assert isinstance(screen, LaunchScreen)
        screen.query_one("#presets").highlighted = list(screen.presets).index("fake")
        await pilot.pause(0.1)
        watcher = threading.Thread(
            target=first_200, args=(f"http://127.0.0.1:{port}/health", stop, health_at), daemon=True
        )
        watcher.start()
        await pilot.press("ctrl+s")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if screen.query_one("#phases").text.startswith("Ready"):
                shown = time.monotonic()
                break
            await asyncio.sleep(0.005)
        else:
            raise RuntimeError("never showed Ready")
        stop.set()
        watcher.join(2)
    if not health_at:
        raise RuntimeError("/health never answered to the probe")
    return shown - health_at[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    daemon = PrivateDockerd()
    try:
        daemon.start()
        daemon.import_busybox()
        with tempfile.TemporaryDirectory() as tmp:
            gaps = [asyncio.run(one_run(daemon, Path(tmp))) for _ in range(args.runs)]
    finally:
        daemon.cleanup()
    ms = sorted(g * 1000 for g in gaps)
    print(
        f"/health 200 -> Ready on screen, {args.runs} runs: min {ms[0]:.0f} ms, median "
        f"{statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
