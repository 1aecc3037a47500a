"""Checking a user's ``[keys]``: key names Textual knows, one spelling per key, and clashes on a screen.

Pure (no Textual): config.py refuses a bad remap with file:line:key before the app starts, and the
app turns the accepted keys into the names Textual's keymap compares (``textual_keys``).
tests/unit/test_keymap_check.py holds the names here against Textual's own.
"""

from __future__ import annotations

import unicodedata

from console.keymap import KEY_GROUPS, BindingSpec

# Screens whose text field has the focus most of the time, and the keys such a field keeps for itself
# (Textual's Input and TextArea bindings, tests/unit/test_keymap_check.py): bound there, an action
# would not run while someone types (ctrl+k was the launch form's preflight and deleted to the line end)
TYPING_SCREENS = frozenset({"launch", "chat", "chat settings", "chat question"})
TEXT_FIELD_KEYS = frozenset(
    {"backspace", "delete", "enter", "home", "end", "left", "right", "up", "down", "pageup", "pagedown"}
    | {"alt+backspace", "alt+delete", "ctrl+backspace", "super+backspace", "super+c", "super+x", "super+y"}
    | {"super+z", "ctrl+shift+a", "ctrl+shift+k", "ctrl+shift+left", "ctrl+shift+right"}
    | {f"ctrl+{k}" for k in ("a", "c", "d", "e", "k", "u", "v", "w", "x", "y", "z", "left", "right")}
    | {f"shift+{k}" for k in ("home", "end", "left", "right", "up", "down")}
)
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
# Textual's names for keys that are not characters (textual.keys.Keys; tests/unit/test_keymap_check.py)
NAMED_KEYS = frozenset(
    {"backspace", "delete", "down", "end", "enter", "escape", "home", "insert", "left", "pagedown", "pageup"}
    | {"return", "right", "space", "tab", "up"}
    | {f"f{n}" for n in range(1, 25)}
)
# Textual's short names for characters whose Unicode names it replaces
_SHORT = {"slash": "/", "backslash": "\\", "at": "@", "minus": "-", "plus": "+", "underscore": "_"}
_REPLACED = {"solidus", "reverse_solidus", "commercial_at", "hyphen_minus", "plus_sign", "low_line"}
# The name Textual gives each printable ASCII character that is not a letter or digit (? -> question_mark)
_NAMES = {
    unicodedata.name(c).lower().replace("-", "_").replace(" ", "_"): c
    for c in map(chr, range(33, 127))
    if not c.isalnum()
}
_NAMES = {n: c for n, c in _NAMES.items() if n not in _REPLACED} | _SHORT


def _character(name: str) -> str | None:
    """The character a Textual key name stands for (``question_mark`` -> ``?``), else None."""
    if len(name) == 1:
        return name if name.isprintable() and not name.isspace() else None
    return _NAMES.get(name)


def key_problem(key: str) -> str | None:
    """What is wrong with one key as config.toml writes it (``ctrl+k``, ``?``, ``question_mark``), else None."""
    if not key:
        return "an empty key (two commas, or a comma at an end?)"
    *mods, base = key.split("+") if key != "+" else [key]
    for mod in mods:
        if mod not in MODIFIERS:
            return f"unknown modifier {mod!r} in {key!r} (known: {', '.join(MODIFIERS)})"
    if len(set(mods)) != len(mods):
        return f"a modifier written twice in {key!r}"
    if mods == ["shift"] and len(base) == 1 and base.isalpha():
        return f"write {base.upper()!r} for {key!r}: the terminal sends the capital letter, never shift+{base}"
    if base not in NAMED_KEYS and _character(base) is None:
        return (
            f"unknown key name {base!r} in {key!r} (write a character such as x or ?, its name such as "
            "question_mark, or a key such as escape, enter, tab, space, up, pageup, f1 … f24)"
        )
    return None


def canonical(key: str) -> str:
    """One spelling per key, to compare keys: ``?`` and ``question_mark`` are the same key, and so are
    ``shift+ctrl+a`` and ``ctrl+shift+a``."""
    *mods, base = key.split("+") if key != "+" else [key]
    char = _character(base) if base not in NAMED_KEYS else None
    return "+".join([*sorted(mods), f"char:{char}" if char else base])


def textual_keys(keys: str) -> str:
    """A ``[keys]`` value as Textual's keymap matches it: ``"f1, ?"`` -> ``"f1,question_mark"``, and
    modifiers in Textual's order, ``shift+ctrl+a`` -> ``ctrl+shift+a`` (Textual compares the names its key
    events carry, spaces included; its parser sorts the modifiers)."""
    by_char = {c: n for n, c in _NAMES.items()}
    out = []
    for key in (k.strip() for k in keys.split(",")):
        *mods, base = key.split("+") if key != "+" else [key]
        out.append("+".join([*sorted(mods), by_char.get(base, base) if len(base) == 1 else base]))
    return ",".join(out)


def keys_of(spec: BindingSpec, overrides: dict[str, str]) -> list[str]:
    """``spec``'s keys after the user's ``[keys]``, one canonical spelling each."""
    return [canonical(k.strip()) for k in overrides.get(spec.id, spec.keys).split(",") if k.strip()]


def _kept_by_a_field(canonical_key: str) -> bool:
    """A focused text field takes this key (a character it types, or one of its editing keys)."""
    if canonical_key in ("space", "shift+space"):
        return True
    return canonical_key.startswith(("char:", "shift+char:")) or canonical_key in {
        canonical(k) for k in TEXT_FIELD_KEYS
    }


def conflicts(overrides: dict[str, str]) -> dict[str, str]:
    """Binding id -> why its remap clashes with another id live on the same screen (only ids the user set)."""
    out: dict[str, str] = {}
    for where, tables in KEY_GROUPS.items():
        specs = tuple(dict.fromkeys(s for table in tables for s in table))
        default = {s.id: set(keys_of(s, {})) for s in specs}
        now = {s.id: keys_of(s, overrides) for s in specs}
        if where in TYPING_SCREENS:
            for spec in specs:
                typed = [k for k in set(now[spec.id]) - default[spec.id] if _kept_by_a_field(k)]
                if spec.id in overrides and spec.id not in out and typed:
                    out[spec.id] = (
                        f"{typed[0].replace('char:', '')!r} is kept by the text field that has the focus on the "
                        f"{where} screen (it types or edits text there), so {spec.id} would not run: pick a "
                        "function key or another ctrl+ key"
                    )
        for spec in specs:
            if spec.id not in overrides or spec.id in out:
                continue
            for other in specs:
                shared = set(now[spec.id]) & set(now[other.id]) - (default[spec.id] & default[other.id])
                if other.id != spec.id and shared:
                    key = overrides[spec.id].split(",")[[*now[spec.id]].index(sorted(shared)[0])].strip()
                    out[spec.id] = (
                        f"{key!r} is already {other.id} ({other.description}) on the {where} screen: "
                        f"pick another key, or remap {other.id} too"
                    )
                    break
    return out
