"""An image in the chat pane: real pixels, half-cell blocks, or a one-line placeholder, as the terminal allows.

- ``graphics``: the Kitty graphics protocol or Sixel, through textual-image. It asks the terminal what it
  can at import, which only works before the app reads the keyboard: ``jetconsole`` imports it before the
  app starts, and only where the environment names a terminal that has one of them (``wants_graphics``).
- ``halfcell``: two pixels a cell with ▀ and two colours, through rich-pixels (no terminal query): what tmux
  and SSH sessions get, the honest default there.
- ``placeholder``: the image's line alone, under TERM=linux, ``--ascii``, or ``JETCONSOLE_IMAGES=placeholder``.

The image's bytes are read from the data dir in a worker thread, never on the event loop.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.chat.images import ImageError, load, ref_line
from console.chat.model import ImageRef

MODES = ("graphics", "halfcell", "placeholder")
PLAIN_TERMS = ("linux", "vt100", "vt220", "dumb")
GRAPHICS_PROGRAMS = ("wezterm", "iterm.app", "ghostty", "konsole", "foot", "mlterm", "contour")
CELLS_WIDE = 32  # a picture's width in the pane, in cells (half-cell: 32x? pixels drawn as 32 columns)


def image_mode(env: Mapping[str, str], ascii_only: bool = False) -> str:
    """How the chat shows images in this terminal: ``JETCONSOLE_IMAGES`` when set, else told from TERM."""
    forced = env.get("JETCONSOLE_IMAGES", "").lower()
    if forced in MODES:
        return forced
    term = env.get("TERM", "").lower()
    if ascii_only or term in PLAIN_TERMS or not term:
        return "placeholder"
    if wants_graphics(env):
        return "graphics"
    return "halfcell"


def wants_graphics(env: Mapping[str, str]) -> bool:
    """A terminal known for Kitty graphics or Sixel, not behind tmux or screen (neither passes them on)."""
    term = env.get("TERM", "").lower()
    if env.get("TMUX") or term.startswith(("screen", "tmux")):
        return False
    program = env.get("TERM_PROGRAM", "").lower()
    return term == "xterm-kitty" or bool(env.get("KITTY_WINDOW_ID")) or program in GRAPHICS_PROGRAMS


def resolved_mode(env: Mapping[str, str], ascii_only: bool = False) -> str:
    """``image_mode``, with graphics only where textual-image was imported (and so asked the terminal) before
    the app started: half-cell otherwise."""
    import sys

    mode = image_mode(env, ascii_only)
    return "halfcell" if mode == "graphics" and "textual_image.widget" not in sys.modules else mode


def prepare_graphics() -> bool:
    """Let textual-image ask the terminal what it draws with (before the app starts); False if it cannot."""
    try:
        import textual_image.widget  # noqa: F401  (the import is the query)
    except Exception:  # noqa: BLE001 - a terminal that answers oddly: half-cell it is
        return False
    return True


class ChatImage(Vertical):
    """One attached image: its line, and its picture where the mode draws one."""

    DEFAULT_CSS = """
    ChatImage { height: auto; padding: 0 0 0 2; }
    ChatImage .chat-image-line { color: $text-muted; }
    ChatImage .chat-image-picture { height: auto; width: auto; }
    """

    def __init__(self, ref: ImageRef, number: int, folder: Path, mode: str) -> None:
        super().__init__(classes="chat-image")
        self.ref, self.number, self.folder, self.mode = ref, number, folder, mode
        self.line = Static(Text(ref_line(ref, number)), classes="chat-image-line")
        self.picture = Static("", classes="chat-image-picture")

    def compose(self) -> ComposeResult:
        yield self.line
        if self.mode != "placeholder":
            yield self.picture

    def on_mount(self) -> None:
        if self.mode != "placeholder":
            self._read()

    @work(thread=True, exclusive=True, group="chat-image")
    def _read(self) -> None:
        try:
            data = load(self.ref, self.folder)
        except ImageError as exc:
            self.app.call_from_thread(self.line.update, Text(f"{ref_line(self.ref, self.number)} · {exc}"))
            return
        try:
            picture = self._picture(data)
        except Exception as exc:  # noqa: BLE001 - a renderer's failure is this image's line, never the app's end
            self.app.call_from_thread(self.line.update, Text(f"{ref_line(self.ref, self.number)} · not drawn: {exc}"))
            return
        self.app.call_from_thread(self._show, picture)

    def _picture(self, data: bytes) -> Any:
        """The renderable for ``data``: textual-image's (graphics), else rich-pixels' half cells."""
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if self.mode == "graphics":
                try:
                    from textual_image.renderable import Image as Graphics
                except Exception:  # noqa: BLE001
                    pass
                else:
                    return Graphics(img.copy(), width=CELLS_WIDE, height="auto")
            from rich_pixels import HalfcellRenderer, Pixels

            rows = max(2, round(CELLS_WIDE * img.height / img.width))  # two pixel rows a cell: square-ish cells
            return Pixels.from_image(img, resize=(CELLS_WIDE, rows + rows % 2), renderer=HalfcellRenderer())

    def _show(self, picture: Any) -> None:
        self.picture.update(Guarded(picture))


class Guarded:
    """A picture whose drawing cannot end the app: textual-image measures and encodes while it is drawn (on the
    app's thread), so a failure there draws the image's line and why, instead of raising."""

    def __init__(self, picture: Any) -> None:
        self.picture = picture

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        try:
            segments = list(console.render(self.picture, options))
        except Exception as exc:  # noqa: BLE001
            yield Text(f"not drawn: {exc}")
            return
        yield from segments

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        try:
            return Measurement.get(console, options, self.picture)
        except Exception:  # noqa: BLE001
            return Measurement(1, options.max_width)
