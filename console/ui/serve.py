"""``jetconsole --hud --serve HOST:PORT``: the HUD as a web page for a kiosk browser, through
textual-serve (each browser connection runs ``jetconsole --hud`` in a subprocess and draws its
output with xterm.js).

textual-serve's page links one web font from Google; a workshop LCD may have no internet, and a
DNS lookup that hangs holds the page up, so the page template is served without that link
(copied from the installed package at start, with the link removed; the bundled JS and CSS are
local already).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

FONT_LINK = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>", re.S)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT`` for all interfaces) -> (host, port); ValueError says what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--serve {text!r}: expected HOST:PORT, e.g. 0.0.0.0:8080 or 127.0.0.1:8080")
    return host.strip("[]") or "0.0.0.0", int(port)


def offline_templates(cache: Path) -> Path:
    """A copy of textual-serve's templates without the Google Fonts link; returns its directory."""
    import textual_serve

    source = Path(textual_serve.__file__).parent / "templates"
    cache.mkdir(parents=True, exist_ok=True)
    for page in source.glob("*.html"):
        (cache / page.name).write_text(FONT_LINK.sub("", page.read_text()))
    return cache


def child_command(config: str | None, source: str | None) -> str:
    """What each browser connection runs: the HUD in kiosk mode, with the same config and source (never --serve
    again): whoever reaches the page can raise the help flag and turn pages, nothing else."""
    argv = [sys.executable, "-m", "console", "--hud", "--kiosk"]  # a browser gets the HUD and nothing else
    if config:
        argv += ["--config", config]
    if source:
        argv += ["--source", source]
    return shlex.join(argv)


def serve(address: str, config: str | None, source: str | None, public_url: str | None = None) -> int:
    from platformdirs import user_cache_dir
    from textual_serve.server import Server

    from console.hud.host import primary_ip

    try:
        host, port = parse_address(address)
    except ValueError as exc:
        print(f"jetconsole: {exc}", file=sys.stderr)
        return 2
    if public_url is None:  # the address the page's websocket dials: the one a kiosk on the LAN can reach
        name = primary_ip() if host in ("0.0.0.0", "::") else host
        public_url = f"http://{'[' + name + ']' if ':' in name else name}:{port}"
    templates = offline_templates(Path(user_cache_dir("jetconsole")) / "serve-templates")
    print(
        f"jetconsole: serving the HUD on {public_url} (open {public_url}/?fontsize=24 in the kiosk browser; "
        "Ctrl+C stops)",
        flush=True,
    )
    Server(
        child_command(config, source),
        host=host,
        port=port,
        title="jetconsole HUD",
        public_url=public_url,
        templates_path=str(templates),
    ).serve()
    return 0
