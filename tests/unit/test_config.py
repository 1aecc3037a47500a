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
    path = tmp_path / "config.toml"
    path.write_text('[presets.qwen]\nbase = "vllm-thor"\nmodel = "Qwen/Qwen3-8B"\nport = 8001\n')
    config = cfg.load(str(path), themes=THEMES)
    presets = config.all_presets()
    assert presets["qwen"].model == "Qwen/Qwen3-8B" and presets["qwen"].image == presets["vllm-thor"].image
    assert "open-webui" in presets and "open-webui" in cfg.Config().all_presets()
    path.write_text('[presets.qwen]\nbase = "vllm-thor"\n\ngpu_memory = 0.5\n')
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(str(path), themes=THEMES)
    assert err.value.line == 4 and err.value.key == "presets.qwen.gpu_memory" and "unknown key" in str(err.value)
