"""Headless Chromium driven over the DevTools protocol: load a page, wait until a textual-serve app
shows what is wanted, keep what the page received on its websockets, take a screenshot.

``chromium --headless --screenshot`` fires before the app's first output arrives (it comes later,
over a websocket), so the page is driven instead: navigate, then read the page's terminal (xterm.js)
back as text until it shows what the caller waits for, the same in two reads in a row (no frame half
parsed), let the browser paint that, capture.  textual-serve keeps its xterm.js terminal to itself; a
script run before the page's own catches it when an addon is handed it (``addon._terminal = terminal``).
Uses aiohttp (a dependency of textual-serve).
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
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.realparts.processes import end

# Runs before the page's scripts: the first object given an xterm.js Terminal as ``_terminal`` (the addons'
# activate() does that) leaves it on window.__jcTerminal.  The property becomes the object's own at once.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "_terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "_terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.buffer.active && !window.__jcTerminal) window.__jcTerminal = value;
  },
});
"""
# The terminal's screen as text, one line per row (null until the terminal exists).
SCREEN_TEXT = """(() => {
  const t = window.__jcTerminal;
  if (!t) return null;
  const b = t.buffer.active, rows = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()"""
# Resolves after two animation frames: what the terminal holds now has been painted.
PAINTED = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Page:
    png: bytes = b""
    text: str = ""  # the page's terminal screen when it showed what was wanted
    frames: list[bytes] = field(default_factory=list)  # websocket payloads received, in order
    first_output_s: float | None = None  # until the terminal first showed something

    @property
    def received(self) -> str:
        return b"".join(self.frames).decode("utf-8", errors="replace")


async def _load(
    url: str,
    width: int,
    height: int,
    until: Callable[[str], bool],
    painted: Callable[[bytes], bool] | None,
    timeout: float,
) -> Page:
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
    deadline = started + timeout
    try:
        async with aiohttp.ClientSession() as http:
            tabs: list[dict] = []
            while not tabs:
                if time.monotonic() > deadline:
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
                    msg = json.loads((await ws.receive(timeout=max(1.0, deadline - time.monotonic()))).data)
                    if msg.get("method") == "Network.webSocketFrameReceived":
                        frame = msg["params"]["response"]
                        data = frame["payloadData"]
                        page.frames.append(base64.b64decode(data) if frame.get("opcode") == 2 else data.encode())
                    if msg.get("id") == mid:
                        return msg.get("result", msg)

            await call("Network.enable")
            await call("Page.enable")  # without it, the script below is not run on the new document
            await call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
            await call(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
            await call("Page.navigate", url=url)
            previous: str | None = None
            while True:  # the terminal shows what is wanted, the same twice in a row
                r = await call("Runtime.evaluate", expression=SCREEN_TEXT, returnByValue=True)
                text = r.get("result", {}).get("value")
                if text and text.strip() and page.first_output_s is None:
                    page.first_output_s = time.monotonic() - started
                if text is not None and text == previous and until(text):
                    page.text = text
                    break
                previous = text
                if time.monotonic() > deadline:
                    if text is None:
                        raise TimeoutError(f"{url}: no xterm.js terminal caught on the page in {timeout:.0f} s")
                    raise TimeoutError(f"{url}: the terminal did not show what was wanted in {timeout:.0f} s:\n{text}")
                await asyncio.sleep(0.1)
            while True:  # painted: two animation frames after that text, then as ``painted`` wants it
                await call("Runtime.evaluate", expression=PAINTED, awaitPromise=True, returnByValue=True)
                shot = await call("Page.captureScreenshot", format="png")
                page.png = base64.b64decode(shot["data"])
                if painted is None or painted(page.png):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url}: the screenshot did not show what was wanted in {timeout:.0f} s")
                await asyncio.sleep(0.1)
            await ws.close()
    finally:
        end(proc)
        shutil.rmtree(profile, ignore_errors=True)
    return page


def load(
    url: str,
    width: int = 800,
    height: int = 480,
    until: Callable[[str], bool] = lambda text: bool(text.strip()),
    painted: Callable[[bytes], bool] | None = None,
    timeout: float = 60.0,
) -> Page:
    """The page as a kiosk would show it, once its terminal shows what ``until`` wants (given the screen's
    text) and the same twice in a row, painted (and, with ``painted``, once a screenshot satisfies it): its
    screenshot, its screen's text and what its websockets received.  TimeoutError past ``timeout``."""
    return asyncio.run(_load(url, width, height, until, painted, timeout))
