"""Uptimes read as what they are (issue 15 item 21): ``up 0:58`` looked like minutes:seconds."""

from __future__ import annotations

import dataclasses

import pytest

from console.telemetry import view as fmt
from console.telemetry.model import TelemetrySnapshot
from console.ui.screens.telemetry import device_rows


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (58, "58s"),
        (59.9, "59s"),
        (60, "1m"),
        (12 * 60 + 30, "12m"),
        (3599, "59m"),
        (3600, "1h 00m"),
        (3 * 3600 + 4 * 60 + 59, "3h 04m"),
        (86399, "23h 59m"),
        (86400, "1d 0h"),
        (2 * 86400 + 5 * 3600 + 59 * 60, "2d 5h"),
        (400 * 86400, "400d 0h"),
        (-3, "0s"),
        (None, fmt.NA),
    ],
)
def test_uptime_has_units(seconds: float | None, text: str) -> None:
    assert fmt.uptime(seconds) == text


def test_board_line_and_device_table_show_uptime_with_units(orin_snapshot: TelemetrySnapshot) -> None:
    snap = dataclasses.replace(orin_snapshot, uptime_s=58 * 60)
    assert fmt.board_line(snap).endswith("up 58m")
    assert dict((k, cells[1]) for k, cells in device_rows(snap))["uptime"] == "58m"
