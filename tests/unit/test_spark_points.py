"""Sparklines fill their row (issue 15 item 21): one cell per sample until the samples outnumber the cells."""

from __future__ import annotations

from console.telemetry.history import History
from console.telemetry.model import Cpu
from console.ui.widgets.metric_row import MIN_BUCKET, spark_points
from tests.unit.test_logic import snap


def history(n: int, capacity: int = 300) -> History:
    h = History.sized(capacity, 1.0)
    for i in range(n):
        h = h.add(snap(i, "procfs", cpu=Cpu(load=float(i))))
    return h


def test_one_cell_per_three_samples_while_they_fit() -> None:
    assert MIN_BUCKET == 3
    assert spark_points(history(12), "cpu", 66) == [float(i) for i in range(2, 12, 3)]  # the max of each three
    assert len(spark_points(history(197), "cpu", 66)) == 65
    assert len(spark_points(history(198), "cpu", 66)) == 66  # full after 3.3 minutes at 66 cells
    assert spark_points(history(14), "cpu", 66) == spark_points(history(12), "cpu", 66)  # a part bucket waits


def test_bigger_buckets_only_once_the_samples_outnumber_the_cells_and_the_row_stays_full() -> None:
    points = spark_points(history(100), "cpu", 66)  # threes, not yet full: 33 cells
    assert points == [float(i) for i in range(2, 100, 3)]
    points = spark_points(history(210), "cpu", 66)  # buckets of 3, the max of each, the last 66
    assert points[0] == 14.0 and points[-1] == 209.0 and len(points) == 66
    full = spark_points(history(400), "cpu", 66)  # 300 kept, buckets of 4
    assert len(full) == 66 and full[-1] == 399.0 and full[-2] == 395.0
    assert spark_points(history(5), "cpu", 0) == [] and spark_points(history(0), "cpu", 10) == []


def test_the_line_moves_once_per_bucket() -> None:
    assert spark_points(history(143), "cpu", 66) == spark_points(history(141), "cpu", 66)  # 142, 143: incomplete
    assert spark_points(history(144), "cpu", 66) != spark_points(history(143), "cpu", 66)


def test_a_short_history_still_fills_a_wide_row() -> None:
    """history_seconds = 60: buckets of 3 would leave half of a 66-cell row empty for good."""
    assert len(spark_points(history(60, capacity=60), "cpu", 66)) == 60
