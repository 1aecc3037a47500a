#!/bin/sh
# The fast lane (under a minute): ruff check, ruff format --check, mypy (console/, settings in
# pyproject.toml), the import contracts (lint-imports) and the unit tests (tests/unit). Every step
# runs; the lane fails (exit 1) if any step failed, pytest's "no tests collected" (5) included.
# Tools come from $JETCONSOLE_VENV, else ./.venv, else /opt/jetconsole (scripts/install.sh with
# JETCONSOLE_EXTRAS="[test]"). Extra arguments go to pytest.
set -u
cd "$(dirname "$0")/.."
VENV="${JETCONSOLE_VENV:-}"
if [ -z "$VENV" ]; then
    if [ -x .venv/bin/python ]; then VENV=.venv; else VENV="${JETCONSOLE_PREFIX:-/opt/jetconsole}"; fi
fi
BIN="$VENV/bin"
for tool in python ruff mypy lint-imports; do
    if [ ! -x "$BIN/$tool" ]; then
        echo "fast lane: $BIN/$tool missing: install the test extras (JETCONSOLE_EXTRAS=\"[test]\" sh scripts/install.sh)" >&2
        exit 1
    fi
done

failed=""
step() {
    name="$1"
    shift
    echo "== $name"
    "$@"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "== $name: FAILED (exit $rc)" >&2
        failed="$failed $name"
    fi
}

started=$(date +%s)
step "ruff check" "$BIN/ruff" check console tests scripts benchmarks
step "ruff format" "$BIN/ruff" format --check console tests scripts benchmarks
step "mypy" "$BIN/mypy"
step "import contracts" "$BIN/lint-imports"
step "unit tests" "$BIN/python" -m pytest -p no:cacheprovider -q tests/unit "$@"
echo "fast lane: $(( $(date +%s) - started )) s"
if [ -n "$failed" ]; then
    echo "fast lane failed:$failed" >&2
    exit 1
fi
echo "fast lane passed"
