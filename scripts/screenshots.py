"""Regenerate screenshots/ from the real app with fixed data (the recorded Orin reading).

    /opt/jetconsole/bin/python scripts/screenshots.py     (or .venv/bin/python)
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.config import Config  # noqa: E402
from console.telemetry.jtop_source import snapshot_from_jtop  # noqa: E402
from tests.app.helpers import frozen_app, ramp  # noqa: E402
from tests.app.test_snapshots import PLAIN_REPORT, REPORT  # noqa: E402
from tests.conftest import orin_reading  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(name: str, app, size: tuple[int, int], keys: tuple[str, ...] = ()) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)
        (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
    print(f"wrote screenshots/{name}.svg")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    orin = snapshot_from_jtop(orin_reading(), now=1_800_000_000.0)
    series = ramp(orin)
    host = dataclasses.replace(orin, sources=("procfs",), gpus=(), emc=None, power=None, fans=(), power_mode=None,
                               processes=(), board=dataclasses.replace(orin.board, model=None, l4t=None,
                                                                       jetpack=None, cuda=None, soc=None))
    await shoot("dashboard-120x40", frozen_app(series, REPORT), (120, 40))
    await shoot("dashboard-80x24", frozen_app(series, REPORT), (80, 24))
    await shoot("plain-box-80x24", frozen_app([host], PLAIN_REPORT), (80, 24), ("tab", "tab"))
    await shoot("telemetry-120x40", frozen_app(series, REPORT), (120, 40), ("t",))
    await shoot("high-contrast-120x40", frozen_app(series, REPORT, Config(theme="high-contrast")), (120, 40))
    await shoot("help-120x40", frozen_app(series, REPORT), (120, 40), ("question_mark",))
    await shoot("containers-120x40", with_containers(frozen_app(series, REPORT)), (120, 40), ("c",))
    await shoot("dashboard-servers-120x40", with_containers(frozen_app(series, REPORT)), (120, 40))
    await shoot("launch-120x40", frozen_app(series, REPORT), (120, 40), ("c", "n"))


def with_containers(app):
    """Fixed containers, as the Docker watcher would report them (no daemon needed)."""
    from console.containers.model import ContainerInfo, ContainerStats

    rows = (
        ContainerInfo("a" * 64, "vllm", "nvcr.io/nvidia/vllm:25.09-py3", "running", "Up 2 hours (healthy)",
                      health="healthy", runtime="nvidia", restart_policy="unless-stopped", network="host",
                      labels={"jetconsole.preset": "vllm-thor"}, pids=(5579,)),
        ContainerInfo("b" * 64, "open-webui", "ghcr.io/open-webui/open-webui:main", "running", "Up 2 hours",
                      runtime="runc", restart_policy="always", network="host",
                      labels={"jetconsole.preset": "open-webui"}),
        ContainerInfo("c" * 64, "sglang-test", "dustynv/sglang:r36.4.0", "exited", "Exited (1) 3 hours ago",
                      runtime="nvidia"),
        ContainerInfo("d" * 64, "postgres", "postgres:16", "running", "Up 5 days", ports=("5432/tcp",),
                      runtime="runc", restart_policy="always"),
    )
    app.docker.listed(rows)
    app.docker.stats = {rows[0].id: ContainerStats(rows[0].id, 112.0, 3 * 2**30, 62 * 2**30),
                        rows[1].id: ContainerStats(rows[1].id, 0.4, 612 * 2**20, 62 * 2**30),
                        rows[3].id: ContainerStats(rows[3].id, 1.2, 88 * 2**20, 62 * 2**30)}
    return app


if __name__ == "__main__":
    asyncio.run(main())
