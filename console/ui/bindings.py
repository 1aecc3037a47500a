"""Turn the keymap's BindingSpecs into Textual bindings (ids kept, so keymaps apply)."""

from __future__ import annotations

from textual.binding import Binding

from console.keymap import BindingSpec


def bindings(specs: tuple[BindingSpec, ...]) -> list[Binding]:
    return [Binding(s.keys, s.action, s.description, show=s.show, id=s.id) for s in specs]
