"""The floor of ``startup_idle.py``: a Textual app that shows one line and nothing else.

Started the same way as jetconsole (a new Python, Textual imported, one screen composed, styled and
drawn), it gives the start-up no Textual app on this machine can beat; ``startup_idle.py`` reports it
in the same run as jetconsole and jtop.
"""

from textual.app import App, ComposeResult
from textual.widgets import Static

MARKER = "bare Textual app: first frame"


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(MARKER)


if __name__ == "__main__":
    BareApp().run()
