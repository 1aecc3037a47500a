"""daemon.json analysis and the fixed content (pure); the end-to-end fix is in tests/realparts."""

from __future__ import annotations

import json

import pytest

from console.doctor.daemon_json import DaemonJsonError, diff, fixed, parse, render, runtime_state


def test_state_names_each_problem() -> None:
    assert runtime_state({}).problems() == [
        'no "nvidia" entry under "runtimes"',
        '"default-runtime" is unset (runc), not "nvidia"',
    ]
    half = {"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}, "default-runtime": "runc"}
    assert runtime_state(half).problems() == ['"default-runtime" is "runc", not "nvidia"']
    good = fixed({})
    assert runtime_state(good).ok and runtime_state(good).problems() == []


def test_fixed_keeps_other_keys_and_an_existing_nvidia_entry() -> None:
    old = {
        "data-root": "/mnt/docker",
        "runtimes": {"nvidia": {"path": "/opt/nv/runtime", "runtimeArgs": ["-x"]}, "crun": {"path": "crun"}},
    }
    new = fixed(old)
    assert new == {**old, "default-runtime": "nvidia"}
    assert old.get("default-runtime") is None  # the input is not changed
    assert fixed({})["runtimes"] == {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}  # nvidia-ctk's shape


@pytest.mark.parametrize(("text", "line", "column"), [('{"a": 1,}', 1, 9), ('{\n  "a": 1\n  "b": 2\n}', 3, 3)])
def test_malformed_json_says_where(text: str, line: int, column: int) -> None:
    with pytest.raises(DaemonJsonError) as err:
        parse(text, "/etc/docker/daemon.json")
    assert (err.value.line, err.value.column) == (line, column)
    assert str(err.value).startswith(f"/etc/docker/daemon.json:{line}:{column}: not valid JSON")


@pytest.mark.parametrize("text", ["[]", '"x"', '{"runtimes": []}', '{"runtimes": {"nvidia": "path"}}'])
def test_wrong_shapes_are_refused(text: str) -> None:
    with pytest.raises(DaemonJsonError):
        parse(text)


def test_empty_file_is_an_empty_object_and_the_diff_shows_the_change() -> None:
    assert parse("  \n") == {}
    new = render(fixed({"log-level": "info"}))
    assert json.loads(new)["log-level"] == "info" and new.endswith("}\n")
    d = diff('{"log-level": "info"}', new, "/etc/docker/daemon.json")
    assert d.startswith("--- /etc/docker/daemon.json\n+++ /etc/docker/daemon.json\n")
    assert '+    "default-runtime": "nvidia"\n' in d and '-{"log-level": "info"}\n' in d
    assert diff(None, new, "/etc/docker/daemon.json").startswith("--- /dev/null\n")


def test_render_keeps_the_files_indentation_so_the_diff_shows_only_the_change() -> None:
    from console.doctor.daemon_json import diff, fixed, parse, render

    old = '{\n  "log-driver": "json-file",\n  "runtimes": {\n    "custom": {\n      "path": "runc"\n    }\n  }\n}\n'
    new = render(fixed(parse(old, "daemon.json")), old)
    changed = [
        line
        for line in diff(old, new, "daemon.json").splitlines()
        if line[:1] in "+-" and line[:3] not in ("---", "+++")
    ]
    assert '+  "default-runtime": "nvidia"' in changed
    assert not any("log-driver" in line for line in changed)  # untouched lines are not re-indented
    assert render({"a": 1}, '{\n\t"a": 0\n}\n') == '{\n\t"a": 1\n}\n'
    assert render({"a": 1}, None) == '{\n    "a": 1\n}\n'
