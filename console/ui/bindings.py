"""Turn the keymap's BindingSpecs into Textual bindings (ids kept, so keymaps apply).

The only place a Textual ``Binding`` is built: screens and widgets take theirs from
``console.keymap`` through ``bindings`` (tests/unit/test_bindings_by_id.py checks).
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding, BindingType

from console.keymap import BY_ID, BindingSpec


def bindings(specs: tuple[BindingSpec, ...]) -> list[BindingType]:
    return [Binding(s.keys, s.action, s.description, show=s.show, id=s.id) for s in specs]


def key_display(app: App, key: str) -> str:
    """How ``app`` shows one Textual key name (``question_mark`` -> ``?``, ``ctrl+k`` -> ``^k``)."""
    return app.get_key_display(Binding(key.strip(), ""))


def bound_key(app: App, binding_id: str) -> str:
    """The first key bound to ``binding_id`` now (config.toml's [keys] applied), as a title or hint writes it
    (``F5``, ``^s``, ``esc``)."""
    overrides: dict[str, str] = getattr(app, "keymap_overrides", {})
    key = overrides.get(binding_id, BY_ID[binding_id].keys).split(",")[0].strip()
    shown = key_display(app, key)
    return shown.upper() if shown[:1] == "f" and shown[1:].isdigit() else shown
