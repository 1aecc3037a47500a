"""No class in console/ui defines a private name that a Textual base class already has.

Textual calls its private methods itself: a subclass that reuses one of those names with
another meaning breaks Textual quietly (MarkdownStreamView._render shadowed Widget._render,
and Ctrl+C on a selected chat answer raised TypeError).  Names Textual's own machinery
writes into every subclass (``_css_type_name``, ``_merged_bindings``, ...) are not ours
and are left out; mixins of a Textual class (the app's ``*_control`` mixins) are checked
with it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.app import App
from textual.dom import DOMNode
from textual.widget import Widget

import console.ui


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _from_textual(klass: type) -> bool:
    return klass.__module__.split(".")[0] == "textual"


def offenders(cls: type) -> list[str]:
    """``cls``'s private names (its own and its non-Textual bases') that a Textual base defines."""
    textual_bases = [k for k in cls.__mro__ if _from_textual(k)]
    machinery = set(vars(type("Probe", (cls,), {})))  # what Textual writes into any subclass
    found = []
    for klass in cls.__mro__:
        if _from_textual(klass) or klass is object:
            continue
        for name in vars(klass):
            if not _is_private(name) or name in machinery:
                continue
            owner = next((base for base in textual_bases if name in vars(base)), None)
            if owner is not None:
                found.append(
                    f"{klass.__module__}.{klass.__qualname__}.{name} overrides Textual's private "
                    f"{owner.__module__}.{owner.__qualname__}.{name} (in {cls.__qualname__}): rename it"
                )
    return found


def ui_textual_classes() -> list[type]:
    """Every class defined under console/ui that subclasses a Textual DOMNode or App."""
    classes = []
    for info in pkgutil.walk_packages(console.ui.__path__, "console.ui."):
        module = importlib.import_module(info.name)  # a module that does not import fails here
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, (DOMNode, App)):
                classes.append(cls)
    return classes


def test_the_check_finds_a_shadowed_private_method() -> None:
    class Mixin:
        def _refresh_scroll(self) -> None: ...  # a mixin's name counts too

    class Shadowing(Mixin, Widget):
        def _render(self, text: str) -> None: ...  # type: ignore[override]

        def _own_helper(self) -> None: ...

    found = offenders(Shadowing)
    assert len(found) == 2, found
    assert any(".Shadowing._render overrides Textual's private textual.widget.Widget._render" in f for f in found)
    assert any(
        ".Mixin._refresh_scroll overrides Textual's private textual.widget.Widget._refresh_scroll" in f for f in found
    )


def test_no_ui_class_overrides_a_textual_private_name() -> None:
    classes = ui_textual_classes()
    names = {cls.__qualname__ for cls in classes}
    assert {"JetconsoleApp", "MarkdownStreamView", "ChatPane", "HelpScreen"} <= names  # the walk saw them
    found = [line for cls in classes for line in offenders(cls)]
    assert not found, "\n".join(found)
