"""Sources and pure logic never import Textual; heavy imports stay off the snapshot path."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "console"
UI_ALLOWED = {"ui"}  # console/ui/ is the only place Textual may be imported


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_textual_outside_the_ui() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in UI_ALLOWED or rel.name == "cli.py":
            continue
        if "textual" in _imports(path):
            offenders.append(str(rel))
    assert offenders == []


def test_ui_never_imports_io_libraries_directly() -> None:
    """Widgets and screens render; the app starts workers. None of them talks to devices."""
    forbidden = {"jtop", "pynvml", "docker", "httpx", "subprocess", "socket"}
    offenders = []
    for path in (PACKAGE / "ui").rglob("*.py"):
        bad = _imports(path) & forbidden
        if bad:
            offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(bad)}")
    assert offenders == []


def test_logic_modules_load_without_textual_or_heavy_sdks() -> None:
    code = (
        "import sys\n"
        "import console.telemetry.command, console.config, console.telemetry.view, console.telemetry.discovery\n"
        "import console.telemetry.state\n"
        "heavy = {'textual', 'docker', 'httpx', 'pynvml', 'jtop'} & {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]"
