"""Headless Chromium driven over the DevTools protocol: load a page, wait until a textual-serve app
has drawn, keep what the page received on its websockets, take a screenshot.

``chromium --headless --screenshot`` fires before the app's first output arrives (it comes later,
over a websocket), so the page is driven instead: navigate, wait for textual.js to mark the body
``-first-byte``, let the app paint, capture.  Uses aiohttp (a dependency of textual-serve).
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Page:
    png: bytes = b""
    frames: list[bytes] = field(default_factory=list)  # websocket payloads received, in order
    first_output_s: float | None = None

    @property
    def received(self) -> str:
        return b"".join(self.frames).decode("utf-8", errors="replace")


async def _load(url: str, width: int, height: int, settle_s: float, timeout: float) -> Page:
    import aiohttp

    port = free_port()
    profile = tempfile.mkdtemp(prefix="jetconsole-chromium-")
    proc = subprocess.Popen(
        [
            chromium() or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB
            "--no-first-run",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    page = Page()
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession() as http:
            tabs: list[dict] = []
            while not tabs:
                if time.monotonic() - started > timeout:
                    raise TimeoutError("chromium did not open its DevTools port")
                try:
                    async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
                        tabs = [t for t in await r.json() if t.get("type") == "page"]
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            ws = await http.ws_connect(tabs[0]["webSocketDebuggerUrl"], max_msg_size=0)
            ids = iter(range(1, 1_000_000))

            async def call(method: str, **params) -> dict:
                mid = next(ids)
                await ws.send_json({"id": mid, "method": method, "params": params})
                while True:
                    msg = json.loads((await ws.receive(timeout=timeout)).data)
                    if msg.get("method") == "Network.webSocketFrameReceived":
                        frame = msg["params"]["response"]
                        data = frame["payloadData"]
                        page.frames.append(base64.b64decode(data) if frame.get("opcode") == 2 else data.encode())
                    if msg.get("id") == mid:
                        return msg.get("result", msg)

            await call("Network.enable")
            await call(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
            await call("Page.navigate", url=url)
            while True:  # textual.js adds "-first-byte" to <body> when the app's first output arrives
                r = await call(
                    "Runtime.evaluate",
                    returnByValue=True,
                    expression="!!(document.body && document.body.classList.contains('-first-byte'))",
                )
                if r.get("result", {}).get("value"):
                    break
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{url}: the app drew nothing in {timeout:.0f} s")
                await asyncio.sleep(0.1)
            page.first_output_s = time.monotonic() - started
            deadline = time.monotonic() + settle_s
            while time.monotonic() < deadline:  # keep collecting frames while the app paints
                await call("Runtime.evaluate", expression="1")
                await asyncio.sleep(0.1)
            shot = await call("Page.captureScreenshot", format="png")
            page.png = base64.b64decode(shot["data"])
            await ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return page


def load(url: str, width: int = 800, height: int = 480, settle_s: float = 2.0, timeout: float = 60.0) -> Page:
    """The page as a kiosk would show it: its screenshot and what its websockets received."""
    return asyncio.run(_load(url, width, height, settle_s, timeout))
