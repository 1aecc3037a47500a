"""SVG snapshots of the real app with fixed data at 80x24, 120x40 and the zoomed screen.

Regenerate after an intended change: pytest tests/app/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import dataclasses

from console.config import Config
from console.telemetry.model import SourceReport, SourceStatus
from tests.app.helpers import frozen_app, ramp

REPORT = SourceReport(
    (
        SourceStatus("jtop", True, "in use"),
        SourceStatus("nvml", False, "not needed: jtop reads the GPU"),
        SourceStatus("procfs", False, "not needed: jtop reads CPU and memory"),
        SourceStatus("docker", False, "no Docker socket at /var/run/docker.sock", "install Docker"),
    )
)
PLAIN_REPORT = SourceReport(
    (
        SourceStatus("jtop", False, "no jtop service (/run/jtop.sock missing)", "on a Jetson: systemctl start jtop"),
        SourceStatus("nvml", False, "NVML unavailable: NVML Shared Library Not Found", "no NVIDIA driver here"),
        SourceStatus("procfs", True, "in use"),
        SourceStatus("docker", False, "no Docker socket at /var/run/docker.sock", "install Docker"),
    )
)


def test_dashboard_120x40(snap_compare, orin_snapshot) -> None:
    assert snap_compare(frozen_app(ramp(orin_snapshot), REPORT), terminal_size=(120, 40))


def test_dashboard_80x24(snap_compare, orin_snapshot) -> None:
    assert snap_compare(frozen_app(ramp(orin_snapshot), REPORT), terminal_size=(80, 24))


def test_plain_linux_box_80x24(snap_compare, orin_snapshot) -> None:
    """No Jetson, no GPU, no Docker: what is there, and what is missing and why."""
    host = dataclasses.replace(
        orin_snapshot,
        sources=("procfs",),
        gpus=(),
        emc=None,
        power=None,
        fans=(),
        power_mode=None,
        processes=(),
        board=dataclasses.replace(orin_snapshot.board, model=None, l4t=None, jetpack=None, cuda=None, soc=None),
    )
    app = frozen_app([host], PLAIN_REPORT)
    assert snap_compare(app, terminal_size=(80, 24), press=["tab", "tab"])


def test_telemetry_zoom_120x40(snap_compare, orin_snapshot) -> None:
    assert snap_compare(frozen_app(ramp(orin_snapshot), REPORT), terminal_size=(120, 40), press=["t"])


def test_high_contrast_120x40(snap_compare, orin_snapshot) -> None:
    app = frozen_app(ramp(orin_snapshot), REPORT, Config(theme="high-contrast"))
    assert snap_compare(app, terminal_size=(120, 40))


async def test_plain_linux_box_says_what_is_missing_and_what_to_do(orin_snapshot) -> None:
    """The plain box's snapshot, read as text: each missing part is named with why and what to do."""
    from console.ui.widgets.sources_panel import SourcesPanel
    from console.ui.widgets.text import LiveText

    host = dataclasses.replace(orin_snapshot, sources=("procfs",), gpus=(), power=None, processes=())
    app = frozen_app([host], PLAIN_REPORT)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        sources = app.screen.query_one(SourcesPanel).body.text
        for words in (
            "no jtop service (/run/jtop.sock missing)",
            "on a Jetson: systemctl start jtop",
            "NVML unavailable: NVML Shared Library Not Found",
            "no Docker socket at /var/run/docker.sock",
        ):
            assert words in sources, (words, sources)
        shown = "\n".join(w.text for w in app.screen.query(LiveText))
        assert "no GPU source: NVML unavailable" in shown, shown
        assert "telemetry: procfs" in shown
