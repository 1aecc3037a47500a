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


if __name__ == "__main__":
    asyncio.run(main())
