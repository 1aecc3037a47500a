"""A question's image in a real terminal (tmux), read back from the screen: half-cell blocks inside tmux, the
one-line placeholder under TERM=linux.

The conversation is stored beforehand, as the chat stores one (the store's row with the image's reference, the
bytes under the data dir by sha256), and opened with Ctrl+O: what is drawn is the installed jetconsole's.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from console.chat import images
from console.chat.model import ChatMessage, MessageStats
from console.chat.store import ChatStore
from tests.realparts.test_terminal import alive, wait_screen

pytestmark = pytest.mark.timeout(120)


def stored_conversation(folder: Path) -> Path:
    """A store holding one question with a 4:3 image, red above blue, and its answer; the store's path."""
    picture = folder / "flag.png"
    img = Image.new("RGB", (560, 420), (220, 20, 20))
    img.paste((20, 20, 220), (0, 210, 560, 420))  # the lower half blue: two colours a half-cell shows
    img.save(picture, "PNG")
    prepared = images.prepare(picture, images.Budget())
    store_path = folder / "data" / "chats.sqlite3"
    images.save(prepared, store_path.parent / "images")
    with ChatStore(store_path) as store:
        conv = store.new_conversation("flag question", "http://127.0.0.1:9/v1", "tiny", {})
        asked = ChatMessage("user", "what colours are these?", images=(prepared.ref,))
        store.add_message(conv, "user", asked.content, extra=asked.extra())
        store.add_message(conv, "assistant", "red over blue", stats=MessageStats(prompt_tokens=320))
    return store_path


@pytest.mark.parametrize(("term", "drawn"), [("xterm-256color", "halfcell"), ("linux", "placeholder")])
def test_an_image_is_drawn_as_the_terminal_allows(
    tmux: str, installed_command: str, tmp_path: Path, term: str, drawn: str
) -> None:
    store = stored_conversation(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(f'[telemetry]\nsource = "procfs"\n[chat]\nstore = "{store}"\n')
    session = f"jc-img-{term}-{os.getpid()}"
    command = f"TERM={term} XDG_CONFIG_HOME={tmp_path} {installed_command} --config {config} --screen chat"
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "50", command], check=True)
    try:
        wait_screen(tmux, session, "Chat")
        subprocess.run([tmux, "send-keys", "-t", session, "C-o"], check=True)
        wait_screen(tmux, session, "flag question")
        subprocess.run([tmux, "send-keys", "-t", session, "Enter"], check=True)
        screen = wait_screen(tmux, session, "what colours are these?", "[Image #1] flag.png", "red over blue")
        assert "560x420" in screen and "~" in screen.split("[Image #1]")[1].splitlines()[0]  # its size and cost
        if drawn == "halfcell":
            wait_screen(tmux, session, "▄" * 32)  # drawn once its bytes are read (a worker thread), 32 cells wide
            styled = subprocess.run(
                [tmux, "capture-pane", "-p", "-e", "-t", session], capture_output=True, text=True
            ).stdout
            rows = [line for line in styled.splitlines() if "▄▄▄▄" in line]
            assert len(rows) == 12  # 560x420 is 32x24 pixels at 32 cells wide: 12 rows of two pixels
            # the pixels' own colours, whatever the palette: the red upper rows and the blue lower ones differ
            assert rows[0].split("▄")[0] != rows[-1].split("▄")[0], styled
        else:
            # the placeholder mode composes no picture and reads no bytes: what is on screen now is all there is
            shown = subprocess.run([tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            assert "▄" not in shown and "▀" not in shown
        subprocess.run([tmux, "send-keys", "-t", session, "Escape"], check=True)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
        deadline = time.monotonic() + 10
        while alive(tmux, session) and time.monotonic() < deadline:
            time.sleep(0.1)
