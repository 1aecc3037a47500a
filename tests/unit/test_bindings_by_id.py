"""Every key binding comes from console.keymap, so config.toml [keys] can remap it and ? lists it.

Read from the sources (ast), so a module that does not import yet still counts.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import console.keymap as keymap
from console.keymap import ALL_BINDINGS, BINDING_IDS, BindingSpec

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
BUILDER = CONSOLE / "ui" / "bindings.py"  # the one place a textual Binding is built


def sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(CONSOLE.rglob("*.py"))]


def binding_names(tree: ast.Module) -> set[str]:
    """The names ``textual.binding.Binding`` goes by in a module (``Binding``, an alias, ``binding.Binding``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "textual.binding":
            names |= {a.asname or a.name for a in node.names if a.name == "Binding"}
    return names


def test_no_binding_is_built_outside_the_keymap_builder() -> None:
    found = []
    for path, tree in sources():
        if path == BUILDER:
            continue
        names = binding_names(tree) | {"Binding"}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "Binding(...) outside console/ui/bindings.py; add a BindingSpec to console/keymap.py:\n" + (
        "\n".join(found)
    )


def test_every_bindings_attribute_takes_a_keymap_table_that_all_bindings_holds() -> None:
    """``BINDINGS = bindings(TABLE)`` in every screen and widget, and TABLE's ids are known to config."""
    tables = {}
    for path, tree in sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "BINDINGS" for t in node.targets)):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            value = node.value
            assert isinstance(value, ast.Call) and getattr(value.func, "id", "") == "bindings", (
                f"{where}: BINDINGS = {ast.unparse(value)}; use bindings(A_KEYMAP_TABLE)"
            )
            assert len(value.args) == 1 and isinstance(value.args[0], ast.Name), f"{where}: {ast.unparse(value)}"
            tables[where] = value.args[0].id
    assert len(tables) >= 20  # the walk saw the screens and widgets
    known = set(ALL_BINDINGS)
    for where, name in tables.items():
        table = getattr(keymap, name, None)
        assert isinstance(table, tuple) and table, f"{where}: {name} is not a table in console/keymap.py"
        missing = [spec.id for spec in table if spec not in known]
        assert not missing, f"{where}: {name} has ids ALL_BINDINGS lacks (config would reject them): {missing}"


def test_ids_are_unique_and_every_table_is_in_all_bindings() -> None:
    assert not [i for i, n in Counter(s.id for s in ALL_BINDINGS).items() if n > 1]
    assert len(BINDING_IDS) == len(ALL_BINDINGS)
    for name, value in vars(keymap).items():
        if name.endswith("_BINDINGS") and name != "ALL_BINDINGS":
            assert all(isinstance(s, BindingSpec) and s in ALL_BINDINGS for s in value), name
    assert {"confirm.yes", "confirm.no", "confirm.strict_yes", "launch.preflight", "servers.next", "help.close"} <= (
        BINDING_IDS
    )


def test_strict_confirm_never_answers_yes_on_enter() -> None:
    strict = {s.id: s for s in keymap.STRICT_CONFIRM_BINDINGS}
    assert strict["confirm.strict_yes"].keys == "y"
    assert all("enter" not in s.keys.split(",") for s in keymap.STRICT_CONFIRM_BINDINGS)
    assert strict["confirm.no"] is keymap.CONFIRM_NO  # one id for both questions' No: one remap
