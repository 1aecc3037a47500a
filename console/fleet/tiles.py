"""The fleet as tiles and as big figures: what the Fleet screen's grid (120x40 and up) and its LCD view
show (pure text; the screen adds the boxes and colours).

A tile is five lines about one device: its name and state, the server, tok/s and requests, GPU and
memory, temperature, power and the help flag, or why it is not answering.  The LCD view is the fleet's
totals as the HUD's tiles (big type) and the names of the devices that need someone.
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from console.fleet.view import DOWN, STALE, UP, FleetRow, Totals
from console.hud.view import Tile

TILE_LINES = 5
AUTO, LIST, TILES, BIG = "auto", "list", "tiles", "big"
VIEWS = (AUTO, LIST, TILES, BIG)


def view_for(width: int, height: int, chosen: str = AUTO) -> str:
    """The Fleet screen's view at this size: tiles from 120x40, big type below 80x24 (a workshop LCD), the
    dense list between; ``chosen`` (the ``v`` key) overrides."""
    if chosen != AUTO:
        return chosen
    if width < 80 or height < 24:
        return BIG
    return TILES if width >= 120 and height >= 40 else LIST


@dataclass(frozen=True)
class GridShape:
    columns: int
    tile_width: int  # with its box


def shape(width: int, tile_width: int = 30) -> GridShape:
    """How many tiles go side by side in ``width`` columns (at least one, each at least 24 wide)."""
    columns = max(1, width // tile_width)
    return GridShape(columns, max(24, width // columns))


def tile_lines(row: FleetRow, width: int) -> list[str]:
    """The tile's five lines, each at most ``width`` cells."""
    if row.condition == STALE:
        state = f"stale {row.age_s or 0:.0f}s"
    else:
        state = row.condition
    head = _fit_pair(row.name, state, width)
    if row.condition == DOWN:  # no figures ever: why, over the whole tile
        why = textwrap.wrap(row.error or "no answer yet", width)[: TILE_LINES - 1]
        return [_cut(line, width) for line in (head, *why, *[""] * (TILE_LINES - 1 - len(why)))]
    if row.phase:
        server = f"{row.phase} {row.model}".strip()
    else:
        server = "no server" if row.condition in (UP, STALE) else ""
    tps = f"{row.gen_tps:.1f} tok/s" if row.gen_tps is not None else ""
    requests = f"run {row.running or 0}/{row.waiting or 0}" if row.running is not None else ""
    gpu = f"GPU {row.gpu_pct:.0f}%" if row.gpu_pct is not None else ""
    memory = (
        f"{row.mem_used_gib:.0f}/{row.mem_total_gib:.0f} GiB"
        if row.mem_used_gib is not None and row.mem_total_gib is not None
        else ""
    )
    heat = "  ".join(
        part
        for part in (
            f"{row.temp_c:.0f}°C" if row.temp_c is not None else "",
            f"{row.power_w:.1f} W" if row.power_w is not None else "",
        )
        if part
    )
    if row.flag:
        since = time.strftime("%H:%M", time.localtime(row.flag_since)) if row.flag_since else ""
        last = _fit_pair(heat, f"HELP {since}".strip(), width)
    elif row.error and row.condition != UP:
        last = row.error or row.condition
    else:
        last = _fit_pair(heat, row.via, width)
    lines = [head, server, _fit_pair(tps, requests, width), _fit_pair(gpu, memory, width), last]
    return [_cut(line, width) for line in lines]


def big_tiles(totals: Totals) -> tuple[Tile, ...]:
    """The fleet's totals as HUD tiles: devices up, servers Ready, tok/s, help flags (red when any)."""
    all_up = totals.up == totals.devices
    return (
        Tile("up", "DEVICES UP", f"{totals.up}/{totals.devices}", "", "888/888", "" if all_up else "warn"),
        Tile("ready", "SERVERS READY", str(totals.ready), "", "888"),
        Tile("tps", "FLEET TOK/S", f"{totals.gen_tps:.0f}", "", "8888"),
        Tile("flags", "HELP FLAGS", str(totals.flags), "", "88", "crit" if totals.flags else ""),
    )


def needing_someone(rows: list[FleetRow], width: int) -> str:
    """One line naming the raised flags, then the devices not up (as many as fit)."""
    flagged = [r.name for r in rows if r.flag]
    down = [r.name for r in rows if r.condition != UP and not r.flag]
    parts = []
    if flagged:
        parts.append("HELP: " + " ".join(flagged))
    if down:
        parts.append("not up: " + " ".join(down))
    return _cut("  ·  ".join(parts) if parts else "every device up, no help flag", width)


def _fit_pair(left: str, right: str, width: int) -> str:
    if not right:
        return left
    room = width - cell_len(right) - 1
    return f"{set_cell_size(_cut(left, room), room)} {right}" if room > 0 else _cut(right, width)


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells (a wide character counts two), an ellipsis where it was cut."""
    return text if cell_len(text) <= width else set_cell_size(text, max(0, width - 1)) + "…"
