"""The suite's own guards under CI=true (tests/conftest.py): a real-component module skipped at collection fails,
and a run of the whole tier that ran too few of its tests fails.  Each runs pytest on a small tree of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tree(tmp_path: Path, realparts_test: str) -> Path:
    tests = tmp_path / "tests"
    (tests / "realparts").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "conftest.py", tests / "conftest.py")
    (tests / "__init__.py").write_text("")
    (tests / "realparts" / "__init__.py").write_text("")
    (tests / "realparts" / "test_part.py").write_text(realparts_test)
    return tests


def _pytest(where: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(where)],
        cwd=where.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_real_component_module_skipped_at_collection_fails_under_ci(tmp_path: Path) -> None:
    tests = _tree(tmp_path, 'import pytest\n\npytest.skip("no dockerd here", allow_module_level=True)\n')
    local = _pytest(tests / "realparts", ci=False)  # on a developer's machine: a skip (and so nothing ran)
    assert local.returncode == pytest.ExitCode.NO_TESTS_COLLECTED and "1 skipped" in local.stdout
    run = _pytest(tests / "realparts", ci=True)
    assert run.returncode != 0 and "skipped at collection under CI=true" in run.stdout + run.stderr


def test_a_whole_tier_run_with_too_few_real_component_tests_fails_under_ci(tmp_path: Path) -> None:
    tests = _tree(tmp_path, "import pytest\n\npytestmark = pytest.mark.realparts\n\n\ndef test_one():\n    pass\n")
    assert _pytest(tests, ci=False).returncode == 0
    run = _pytest(tests, ci=True)
    assert run.returncode != 0 and "1 tests ran under CI=true, fewer than 80" in run.stdout + run.stderr
    assert _pytest(tests / "realparts" / "test_part.py", ci=True).returncode == 0  # one module: no floor
