"""Config: search order, one clear error (file, line, key) and nothing half-applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import config as cfg
from console.keymap import BINDING_IDS
from console.themes import theme_names

ROOT = Path(__file__).resolve().parents[2]
THEMES = theme_names()


def test_shipped_config_documents_exactly_the_defaults() -> None:
    """config.toml at the top level must equal the built-in defaults, key for key."""
    loaded = cfg.load(str(ROOT / "config.toml"), themes=THEMES)
    from dataclasses import replace

    assert replace(loaded, path=None) == cfg.Config()
    text = (ROOT / "config.toml").read_text()
    for section, keys in cfg.SCHEMA.items():
        assert f"[{section}]" in text
        for key in keys:
            assert cfg.find_line(text, section, key) is not None, f"{section}.{key} undocumented"
    for binding in BINDING_IDS:  # every binding id is listed (commented) in [keys]
        assert f'"{binding}"' in text


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("[general]\nrefresh_interval = 'fast'\n", 2, "general.refresh_interval", "expected a number"),
        ("[general]\nrefresh_interval = 0.01\n", 2, "general.refresh_interval", "between 0.2 and 60"),
        ("[general]\nhistory_seconds = 1.5\n", 2, "general.history_seconds", "expected an integer"),
        ("[general]\n\n# c\nrefresh_rate = 1\n", 4, "general.refresh_rate", "unknown key"),
        ('[telemetry]\nsource = "gpu"\n', 2, "telemetry.source", "auto, jtop, nvml, procfs"),
        ('[ui]\ntheme = "neon"\n', 2, "ui.theme", "unknown theme 'neon'"),
        ('[keys]\n"app.quit" = "q"\n"app.explode" = "x"\n', 3, "keys.app.explode", "unknown binding id"),
        ('[keys]\n"app.quit" = 5\n', 2, "keys.app.quit", "key name string"),
        ('[endpoints]\nservers = ["localhost:8000"]\n', 2, "endpoints.servers", "not an http(s) URL"),
        ("[general]\nrefresh_interval = 1.0\n[gui]\nx = 1\n", 3, "gui", "unknown section"),
        ("[general]\nrefresh_interval = true\n", 2, "general.refresh_interval", "expected a number"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(str(path), themes=THEMES)
    e = err.value
    assert (e.path, e.line, e.key) == (path, line, key)
    assert words in str(e) and str(path) in str(e) and f":{line}:" in str(e)


def test_malformed_toml_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[general]\nrefresh_interval = 1.0\nhistory_seconds = = 3\n")
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(str(path))
    assert err.value.line == 3 and "not valid TOML" in str(err.value)


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cfg.load(env={}) == cfg.Config()  # nothing anywhere: built-in defaults
    user = tmp_path / "xdg/jetconsole/config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[general]\nrefresh_interval = 2.0\n")
    assert cfg.load(env={}).refresh_interval == 2.0
    env_file = tmp_path / "env.toml"
    env_file.write_text("[general]\nrefresh_interval = 3.0\n")
    assert cfg.load(env={cfg.ENV_VAR: str(env_file)}).refresh_interval == 3.0
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[general]\nrefresh_interval = 4.0\n")
    assert cfg.load(str(explicit), env={cfg.ENV_VAR: str(env_file)}).refresh_interval == 4.0


def test_named_file_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match="file not found"):
        cfg.load(str(tmp_path / "nope.toml"))
    with pytest.raises(cfg.ConfigError, match="JETCONSOLE_CONFIG"):
        cfg.load(env={cfg.ENV_VAR: str(tmp_path / "nope.toml")})


def test_remember_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[general]\nrefresh_interval = 2.0  # slow link\n\n[ui]\ntheme = "jetconsole-dark"\n')
    config = cfg.load(str(path), themes=THEMES)
    cfg.remember(config, "ui", "theme", "high-contrast")
    text = path.read_text()
    assert "# mine" in text and "# slow link" in text
    assert cfg.load(str(path), themes=THEMES).theme == "high-contrast"


def test_remember_without_a_file_creates_the_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    written = cfg.remember(cfg.Config(), "ui", "theme", "jetconsole-light")
    assert written == tmp_path / "jetconsole/config.toml"
    assert cfg.load(env={}, themes=THEMES).theme == "jetconsole-light"


def test_cli_reports_config_error_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from console.cli import main

    path = tmp_path / "bad.toml"
    path.write_text("[telemetry]\nsource = 3\n")
    assert main(["--config", str(path), "snapshot"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: telemetry.source: expected a string" in err


def test_presets_section_inherits_and_reports_lines(tmp_path: Path) -> None:
    from console.containers.presets import all_presets

    path = tmp_path / "config.toml"
    path.write_text('[presets.qwen]\nbase = "vllm-thor"\nmodel = "Qwen/Qwen3-8B"\nport = 8001\n')
    config = cfg.load(str(path), themes=THEMES)
    presets = all_presets(config)
    assert presets["qwen"].model == "Qwen/Qwen3-8B" and presets["qwen"].image == presets["vllm-thor"].image
    assert "open-webui" in presets and "open-webui" in all_presets(cfg.Config())
    path.write_text('[presets.qwen]\nbase = "vllm-thor"\n\ngpu_memory = 0.5\n')
    config = cfg.load(str(path), themes=THEMES)  # config keeps [presets] as written: the presets package checks it
    with pytest.raises(cfg.ConfigError) as err:
        all_presets(config)
    assert err.value.path == path
    assert err.value.line == 4 and err.value.key == "presets.qwen.gpu_memory" and "unknown key" in str(err.value)


def test_a_bad_preset_stops_jetconsole_before_it_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The presets are checked at start like the rest of the file: exit 2 with file:line: key, no traceback."""
    from console.cli import main

    path = tmp_path / "config.toml"
    path.write_text('[presets.qwen]\nbase = "vllm-thor"\n\ngpu_memory = 0.5\n')
    assert main(["--config", str(path), "snapshot"]) == 2
    assert f"{path}:4: presets.qwen.gpu_memory: unknown key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        # a value out of range, and a whole section of the wrong type (a top-level key has a line too)
        ("[hud]\npage_seconds = 0.5\n", 2, "hud.page_seconds", "must be between 1 and 3600, got 0.5"),
        ("[doctor]\n\ninterval = -1\n", 3, "doctor.interval", "must be between 0 and 86400"),
        ("[bench]\ntrials = 101\n", 2, "bench.trials", "between 1 and 100"),
        ("general = 3\n", 1, "general", "expected a table, got int 3"),
        ('keys = "q"\n', 1, "keys", "expected a table"),
        # the wrong type inside a list or a nested table names the field it belongs to
        ('[bench]\nconcurrency = [1, "4"]\n', 2, "bench.concurrency", "whole numbers from 1 to 4096"),
        ("[bench]\nconcurrency = []\n", 2, "bench.concurrency", "whole numbers from 1 to 4096"),
        ("[endpoints]\nservers = [8000]\n", 2, "endpoints.servers", "list of URL strings"),
        ('[endpoints]\n\n[endpoints.api_keys]\n"http://a:1/v1" = 5\n', 3, "endpoints.api_keys", "got int 5"),
        # two problems: the one higher in the file is reported, whatever the schema's order
        ("[general]\nhistory_seconds = 10\nrefresh_interval = 'x'\n", 2, "general.history_seconds", "between 30"),
        ("[chat]\nseed = 1\ntemperature = 9\n", 2, "chat.seed", "unknown key (known in [chat]: system_prompt"),
    ],
)
def test_more_bad_values_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, path)
    e = err.value
    assert (e.path, e.line, e.key) == (path, line, key), str(e)
    assert str(e).startswith(f"{path}:{line}: {key}: ") and words in str(e)


def test_an_error_in_api_keys_never_shows_another_entrys_key() -> None:
    text = '[endpoints]\napi_keys = { "http://a:1/v1" = "sk-LITERAL-SECRET", "http://b:1/v1" = 5 }\n'
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text)
    assert (err.value.line, err.value.key) == (2, "endpoints.api_keys") and "int 5" in str(err.value)
    assert "sk-LITERAL-SECRET" not in str(err.value)


def test_the_config_keeps_only_the_presets_lines_for_their_errors() -> None:
    text = '[endpoints]\napi_keys = { "http://a:1/v1" = "sk-LITERAL-SECRET" }\n[presets.a]\nport = 1\n'
    config = cfg.parse(text)
    assert config.presets == {"a": {"port": 1}} and "sk-LITERAL-SECRET" not in config.presets_text
    assert config.presets_text.splitlines()[2:] == ["[presets.a]", "port = 1"]  # the lines keep their numbers
    assert "presets_text" not in repr(config) and cfg.parse("[general]\n").presets_text == ""


def test_config_imports_no_feature() -> None:
    """config reads [presets] as plain tables; validating them is the presets package's (all_presets)."""
    import subprocess
    import sys

    code = (
        "import sys, console.config as c; c.parse('[presets.a]\\nport = 1\\n'); "
        "print(sorted(m for m in sys.modules if m.startswith('console.containers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_start_imports_no_pydantic() -> None:
    """What every start imports (the CLI, the app) leaves pydantic, the presets' schema and the doctor's and bench's
    command lines unloaded: they cost ~140 ms of the start-up (benchmarks/README.md); they load when used."""
    import subprocess
    import sys

    code = (
        "import sys, console.cli, console.ui.app, console.config as c; c.parse('[general]\\nrefresh_interval = 1\\n'); "
        "console.cli.build_parser([]).parse_args(['--config', 'x.toml']); "
        "print(sorted(m for m in sys.modules if m.startswith('pydantic') or m.endswith(('presets.fields', "
        "'doctor.command', 'bench.command'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    code = "import sys; from console.containers.presets import all_presets; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"  # the lazy names still load their schema when asked for


def test_a_start_imports_only_what_the_first_frame_shows() -> None:
    """The dashboard's first frame needs no HTTP client, metrics parser, Markdown renderer, launcher or other
    screen: importing them cost ~130 ms of every start (issue 14). They load on first use, off the UI's thread
    where they can (a server's poller imports httpx; the first answer imports rich.markdown)."""
    import subprocess
    import sys

    heavy = (
        "httpx",
        "prometheus_client",
        "markdown_it",
        "rich.markdown",
        "console.chat.client",
        "console.chat.mdrender",
        "console.servers.probe",
        "console.containers.launcher",
        "console.ui.screens.chat",
        "console.ui.screens.containers",
        "console.ui.screens.telemetry",
        "console.ui.screens.help",
        "textual.widgets._footer",
    )
    code = (
        "import sys, console.cli, console.ui.app, console.ui.host, console.ui.screens.dashboard; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    code = "import sys, console.servers.probe, console.chat.client; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"  # the check above would pass vacuously if the names were wrong
