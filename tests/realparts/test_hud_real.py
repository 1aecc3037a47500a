"""The installed ``jetconsole --hud`` against real parts: in tmux at 40x12, 80x24 and 160x48 (and under
TERM=linux) with the emulated Orin's jtop service, the private dockerd and the vLLM CPU server, the
screen read back, big digits included; and served with ``--serve`` to headless Chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.hud import helpflag
from console.hud.layout import plan
from console.hud.view import tiles
from tests.hud_reader import read_tile
from tests.realparts import jetson_emulator as emu
from tests.realparts.browser import chromium, free_port, load
from tests.realparts.test_terminal import capture, wait_screen
from tests.realparts.vllm_server import SERVED_NAME

LABELS = ("GEN TOK/S", "RUN/WAIT", "GPU", "MEMORY GiB", "TEMP", "POWER")
GIB = 1 << 30
BLOCKS = set("▀▄█▁▂▃▅▆▇▏▎▍▌▋▊▉")  # block elements the Linux console's fonts lack


def mem_total_gib() -> int:
    kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    return round(kb * 1024 / GIB)


def write_config(tmp_path: Path, dockerd, vllm_endpoint, page_seconds: float = 2) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[endpoints]\ndocker_host = "{dockerd.url}"\nservers = ["{vllm_endpoint.url}/v1"]\n'
        f'[hud]\npage_seconds = {page_seconds}\nhelp_flag_file = "{tmp_path / "help-flag"}"\n'
        "[doctor]\ninterval = 0\n"
    )
    return config


def scale_for(width: int, height: int, ascii_only: bool = False) -> tuple[int, int]:
    """(pixel width, pixel height) of the HUD's digits at this size: the layout stretches them upward."""
    p = plan(tiles(None, None), width, height - 2, ascii_only)
    return p.scale, p.tall or p.scale


def wait_gpu(tmux: str, session: str, scale: tuple[int, int], wanted: str, timeout: float = 30.0) -> str:
    """The screen once a complete frame's GPU tile reads ``wanted`` (pages rotate at 40x12: the tile comes and
    goes); fails with the last screen when ``timeout`` passes first."""
    _, screen = read_tile(
        lambda: capture(tmux, session), "GPU", scale[0], until=lambda v: v == wanted, timeout=timeout, tall=scale[1]
    )
    return screen


def sparkline_samples(screen: str, row: str) -> int:
    """How many samples the dashboard's ``row`` sparkline holds at a steady load: its trailing run of one ramp
    character (right-aligned against the panel's border)."""
    for line in screen.splitlines():
        body = line.strip().strip("|+").rstrip()
        if body.startswith(row + " ") and body:
            last = body[-1]
            return len(body) - len(body.rstrip(last)) if last not in " .0123456789%" else 0
    return 0


@pytest.mark.parametrize("size", [(40, 12), (80, 24), (160, 48)])
def test_installed_hud_in_tmux(
    tmux: str, installed_command: str, jtop_service, dockerd, vllm_endpoint, tmp_path: Path, size: tuple[int, int]
) -> None:
    config = write_config(tmp_path, dockerd, vllm_endpoint)
    session = f"jc-hud-{size[0]}-{os.getpid()}"
    emu.set_value(emu.gpu_load_path(), "900")
    subprocess.run(
        [
            tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            f"TERM=xterm-256color COLUMNS=100 LINES=30 {installed_command} --config {config} --hud",
        ],
        check=True,
    )  # stale $COLUMNS/$LINES (a shell rc exports them) must not pin the size
    try:
        screen = wait_screen(tmux, session, socket.gethostname(), "READY", SERVED_NAME, timeout=60)
        seen = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(seen) < len(LABELS):  # pages rotate on their own at 40x12
            seen |= {label for label in LABELS if label in capture(tmux, session)}
            time.sleep(0.5)
        assert seen == set(LABELS)
        scale = scale_for(*size)
        # the emulated Orin's GPU load through the real jtop service: "-" until its first sample arrives
        # (a cold service takes a tick or more, longer under load), then 90
        wait_gpu(tmux, session, scale, "90")
        emu.set_value(emu.gpu_load_path(), "450")  # the source changes; the HUD follows without a key
        screen = wait_gpu(tmux, session, scale, "45")
        total = f"/{mem_total_gib()}"
        read_tile(
            lambda: capture(tmux, session), "MEMORY GiB", scale[0], until=lambda v: v.endswith(total), tall=scale[1]
        )
        if size == (40, 12):
            assert re.search(r"page [123]/3", screen)
        helpflag.write(True, tmp_path / "help-flag")  # as `jetconsole help-flag on` from another shell
        wait_screen(tmux, session, "HELP REQUESTED", timeout=30)
    finally:
        emu.set_value(emu.gpu_load_path(), "900")
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)


def test_installed_hud_under_term_linux_is_ascii(
    tmux: str, installed_command: str, jtop_service, dockerd, vllm_endpoint, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dockerd, vllm_endpoint)
    session = f"jc-hud-linux-{os.getpid()}"
    subprocess.run(
        [
            tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "80",
            "-y",
            "24",
            f"TERM=linux {installed_command} --config {config} --hud",
        ],
        check=True,
    )
    try:
        screen = wait_screen(tmux, session, "READY", "GPU", "POWER", timeout=60)
        assert not set(screen) & BLOCKS, screen
        assert "|_|" in screen or " _ " in screen  # seven-segment ASCII digits
        styled = subprocess.run(
            [tmux, "capture-pane", "-p", "-e", "-t", session], capture_output=True, text=True
        ).stdout
        assert "\x1b[" in styled and not re.search(r"\x1b\[[0-9;]*[34]8;[25];", styled)  # 16 colours only
        subprocess.run([tmux, "send-keys", "-t", session, "Escape"], check=True)  # the dashboard, same terminal
        # drawn with a few samples: the GPU sparkline (90%: the ASCII ramp's "*") holds two, the core bars are up
        deadline = time.monotonic() + 60
        dashboard = wait_screen(tmux, session, "Telemetry", "CPU", timeout=30)
        while not (sparkline_samples(dashboard, "GPU") >= 2 and " 1 #" in dashboard):
            assert time.monotonic() < deadline, f"no sparkline of two samples in 60 s:\n{dashboard}"
            time.sleep(0.2)
            dashboard = capture(tmux, session)
        assert not set(dashboard) & BLOCKS, dashboard
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)


def test_served_hud_in_headless_chromium(
    installed_command: str, jtop_service, dockerd, vllm_endpoint, tmp_path: Path
) -> None:
    if chromium() is None:
        pytest.fail("chromium is not installed (scripts/test.sh installs it)")
    config = write_config(tmp_path, dockerd, vllm_endpoint)
    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    server = subprocess.Popen(
        [installed_command, "--config", str(config), "--hud", "--serve", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        assert f"serving the HUD on http://127.0.0.1:{port}" in line, line
        template = tmp_path / "cache" / "jetconsole" / "serve-templates" / "app_index.html"
        deadline = time.monotonic() + 20
        while not template.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "fonts.googleapis.com" not in template.read_text()  # works on an offline kiosk
        helpflag.write(True, tmp_path / "help-flag")
        words = (socket.gethostname(), "READY", SERVED_NAME, *LABELS)
        # waits until the page's own terminal shows all of it, then for a screenshot with the banner painted
        page = load(
            f"http://127.0.0.1:{port}/?fontsize=16",
            800,
            480,
            until=lambda text: all(w in text for w in (*words, "HELP REQUESTED")),
            painted=_red_band_on_top,  # the banner is drawn, not only sent
        )
        (tmp_path / "served-hud.png").write_bytes(page.png)
        assert all(w in page.text for w in (*words, "HELP REQUESTED")) and _red_band_on_top(page.png)
        helpflag.write(False, tmp_path / "help-flag")
        # a whole HUD on the page's terminal, painted: then the banner would be there if it were coming
        again = load(
            f"http://127.0.0.1:{port}/?fontsize=16", 800, 480, until=lambda text: all(w in text for w in words)
        )
        assert "HELP REQUESTED" not in again.text and "HELP REQUESTED" not in again.received
        assert not _red_band_on_top(again.png)
        print(f"served HUD: first output after {page.first_output_s:.1f} s; screenshot {tmp_path / 'served-hud.png'}")
    finally:
        server.terminate()
        server.wait(15)


def _red_band_on_top(png: bytes) -> bool:
    """Whether the top rows of the screenshot are mostly the theme's error red (the help banner)."""
    rows = _png_rows(png)
    top = rows[4]
    reds = sum(1 for r, g, b in top if r > 200 and g < 130 and b < 130)
    return reds > 0.8 * len(top)


def _png_rows(png: bytes) -> list[list[tuple[int, int, int]]]:
    """Decode an RGB(A) PNG with the standard library (zlib), enough for Chromium's screenshots."""
    import struct
    import zlib

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 4
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _height, depth, color = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(len(raw) // (stride + 1)):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x : x + 3]) for x in range(0, stride, channels)])
        prev = line
    return rows  # type: ignore[return-value]


def test_installed_hud_survives_the_jtop_service_restarting(
    tmux: str, installed_command: str, jtop_service, dockerd, vllm_endpoint, tmp_path: Path
) -> None:
    """The telemetry source goes away and comes back: the HUD follows the new readings, no key pressed."""
    config = write_config(tmp_path, dockerd, vllm_endpoint)
    session = f"jc-hud-restart-{os.getpid()}"
    emu.set_value(emu.gpu_load_path(), "900")
    subprocess.run(
        [
            tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "80",
            "-y",
            "24",
            f"TERM=xterm-256color {installed_command} --config {config} --hud",
        ],
        check=True,
    )
    scale = scale_for(80, 24)
    try:
        wait_screen(tmux, session, "READY", "GPU", timeout=60)
        wait_gpu(tmux, session, scale, "90")
        jtop_service.restart()  # the service stops and starts again (new process, same socket)
        emu.set_value(emu.gpu_load_path(), "300")
        screen = wait_gpu(tmux, session, scale, "30", timeout=60)
        assert "READY" in screen
    finally:
        emu.set_value(emu.gpu_load_path(), "900")
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
