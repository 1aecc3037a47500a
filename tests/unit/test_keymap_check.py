"""config.toml's [keys] is checked: unknown key names and two ids on one key of one screen are refused."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from textual.keys import Keys, _character_to_key

from console.config import ConfigError, load
from console.keymap import ALL_BINDINGS, KEY_GROUPS
from console.keys_check import NAMED_KEYS, TEXT_FIELD_KEYS, canonical, conflicts, key_problem, textual_keys


def test_named_keys_are_textuals_own() -> None:
    assert NAMED_KEYS <= {k.value for k in Keys}


@pytest.mark.parametrize("char", [c for c in string.printable if not c.isspace()])
def test_every_printable_character_and_textuals_name_for_it_are_keys(char: str) -> None:
    name = _character_to_key(char)  # what Textual calls the key that types it
    assert key_problem(char) is None and key_problem(name) is None and key_problem(f"ctrl+{name}") is None
    assert canonical(char) == canonical(name)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("banana+q", "unknown modifier 'banana'"),
        ("banana", "unknown key name 'banana'"),
        ("F5", "unknown key name 'F5'"),
        ("ctrl+", "unknown key name ''"),
        ("", "empty key"),
        ("ctrl+ctrl+k", "written twice"),
        ("shift+d", "write 'D'"),
    ],
)
def test_bad_keys_are_named(key: str, words: str) -> None:
    problem = key_problem(key)
    assert problem is not None and words in problem


def test_the_defaults_do_not_clash_and_every_table_is_checked() -> None:
    assert conflicts({}) == {}
    assert [k for s in ALL_BINDINGS for k in s.keys.split(",") if key_problem(k)] == []  # every default is a key
    assert conflicts({s.id: s.keys for s in ALL_BINDINGS}) == {}  # writing the defaults out is no clash
    grouped = {s.id for tables in KEY_GROUPS.values() for table in tables for s in table}
    assert grouped == {s.id for s in ALL_BINDINGS}


def test_a_clash_names_the_other_binding_and_the_screen() -> None:
    why = conflicts({"dashboard.telemetry": "c"})["dashboard.telemetry"]
    assert "dashboard.containers" in why and "dashboard" in why
    assert "app.quit" in conflicts({"logs.search": "q"})["logs.search"]
    assert conflicts({"logs.search": "?"}) and conflicts({"logs.search": "question_mark"})  # one key, 2 spellings
    assert conflicts({"dashboard.telemetry": "c", "dashboard.containers": "t"}) == {}  # a swap is fine
    assert conflicts({"logs.search": "c"}) == {}  # c is the dashboard's, not the log view's


def test_modifiers_in_any_order_are_one_key_written_in_textuals_order() -> None:
    """Textual's parser sorts a key's modifiers (``ctrl+shift+up``); ``shift+ctrl+up`` never matched."""
    assert canonical("shift+ctrl+a") == canonical("ctrl+shift+a") != canonical("ctrl+a")
    assert textual_keys("shift+ctrl+up") == Keys.ControlShiftUp
    assert textual_keys("shift+ctrl+a, alt+ctrl+x") == "ctrl+shift+a,alt+ctrl+x"
    assert conflicts({"logs.save": "shift+ctrl+x", "logs.tail": "ctrl+shift+x"})  # one key in two spellings


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ('[keys]\n"app.help" = "f1"\n"dashboard.telemetry" = "c"\n', 3, "keys.dashboard.telemetry", "containers"),
        ('[keys]\n"app.quit" = "banana+q"\n', 2, "keys.app.quit", "unknown modifier 'banana'"),
        ('[keys]\n"app.quit" = "q,,x"\n', 2, "keys.app.quit", "empty key"),
    ],
)
def test_a_bad_keymap_names_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    err = caught.value
    assert (err.path, err.line, err.key) == (path, line, key) and words in err.message
    assert str(err).startswith(f"{path}:{line}: {key}: ")


def test_text_field_keys_are_those_textuals_fields_keep() -> None:
    from textual.widgets import Input, TextArea

    def keys(cls: type) -> set[str]:
        return {k.strip() for b in cls.BINDINGS for k in (b.key if hasattr(b, "key") else b[0]).split(",")}

    assert TEXT_FIELD_KEYS == (keys(Input) | keys(TextArea)) - {"f6", "f7"}  # the chat input gives F6/F7 back


def test_a_key_a_focused_field_keeps_is_refused_on_typing_screens() -> None:
    assert "text field" in conflicts({"launch.preflight": "ctrl+k"})["launch.preflight"]  # issue 15, item 5
    assert "'p' is kept" in conflicts({"launch.preflight": "p"})["launch.preflight"]
    assert "text field" in conflicts({"chat.new": "ctrl+u"})["chat.new"]
    assert "'space' is kept" in conflicts({"launch.preflight": "space"})["launch.preflight"]  # a field types it
    assert conflicts({"launch.preflight": "f9", "chat.new": "f10", "dashboard.telemetry": "x"}) == {}
