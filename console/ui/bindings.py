"""Turn the keymap's BindingSpecs into Textual bindings (ids kept, so keymaps apply).

The only place a Textual ``Binding`` is built: screens and widgets take theirs from
``console.keymap`` through ``bindings`` (tests/unit/test_bindings_by_id.py checks).
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding, BindingType

from console.keymap import BindingSpec


def bindings(specs: tuple[BindingSpec, ...]) -> list[BindingType]:
    return [Binding(s.keys, s.action, s.description, show=s.show, id=s.id) for s in specs]


def key_display(app: App, key: str) -> str:
    """How ``app`` shows one Textual key name (``question_mark`` -> ``?``, ``ctrl+k`` -> ``^k``)."""
    return app.get_key_display(Binding(key.strip(), ""))
