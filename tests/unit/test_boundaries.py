"""Sources and pure logic never import Textual; heavy imports stay off the snapshot path; the import
contracts in pyproject.toml ([tool.importlinter]) hold; no module of console/ is in an import circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "console"
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


def test_import_contracts_are_kept() -> None:
    """lint-imports: no Textual below the UI, CLI modules reached only from console.cli, config imports
    no feature, the layers, no circles inside a package (each contract says what it protects)."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_console() -> None:
    """Every module of console/, imports inside functions and under TYPE_CHECKING counted (grimp reads
    them all): no two modules reach each other."""
    import grimp

    graph = grimp.build_graph("console", cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert len(edges) > 100 and edges["console.cli"]  # the graph was read
    assert _circles(edges) == []
