"""The actions a user can run where they are: what ``?`` and the command palette list.

Read from the live screen rather than from a table: the screen's own bindings, those of the widgets
it shows (the servers panel, the chat pane), then the app's. Another screen's actions are never
offered (choosing one ran the app's ``back`` and left a blank screen), and an action the node
refuses now (``check_action`` False) is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.actions import parse
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from console.keymap import BY_ID, BindingSpec


@dataclass(frozen=True)
class Reachable:
    """One keymap action and the node that runs it."""

    spec: BindingSpec
    node: App | Widget  # a screen is a widget
    scope: str  # "screen" (the screen and its widgets) or "global" (the app's)
    available: bool = True  # False: the node refuses it now (bench results before a run)

    def run(self) -> None:
        self.node.call_later(self.node.run_action, self.spec.action)


def _spec_ids(node: App | Widget) -> Iterator[str]:
    """The keymap ids bound on ``node``'s class and its bases (the class attribute, not Textual's merge)."""
    for cls in type(node).__mro__:
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                yield binding.id


def _shown(widget: Widget) -> bool:
    return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def _allowed(node: App | Widget, spec: BindingSpec) -> bool:
    _, name, params = parse(spec.action)
    return node.check_action(name, params) is not False


def reachable(screen: Screen, app: App) -> list[Reachable]:
    """Every keymap action bound on ``screen``, its own first, then the app's; each id once."""
    nodes: list[tuple[App | Widget, str]] = [(screen, "screen")]
    nodes += [(w, "screen") for w in screen.walk_children(Widget) if _shown(w)]
    nodes.append((app, "global"))
    seen: set[str] = set()
    out = []
    for node, scope in nodes:
        for spec_id in _spec_ids(node):
            spec = BY_ID.get(spec_id)
            if spec is None or spec_id in seen or spec.action == "command_palette":
                continue
            seen.add(spec_id)
            out.append(Reachable(spec, node, scope, _allowed(node, spec)))
    return out
