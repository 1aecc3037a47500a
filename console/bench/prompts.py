"""The prompt set a bench sends: the workshop prompt and a few more, or the user's file (pure).

A file is JSON Lines in the format of ``vllm bench serve --dataset-name custom``: one object
per line with ``prompt`` and, optionally, ``output_tokens`` (the request's max tokens).  So
one file feeds both tools.  Plain text also works: prompts separated by blank lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_TOKENS = 256  # the workshop's curl example


@dataclass(frozen=True)
class Prompt:
    text: str
    max_tokens: int = DEFAULT_MAX_TOKENS


#: The Thor workshop's baseline prompt (GTC DC 2025, "Baseline prompt & measurements") first,
#: then shorter and longer ones so the set has a spread of prompt and answer lengths.
WORKSHOP_PROMPT = (
    "Write a 5-sentence paragraph explaining the main benefit of using Jetson Thor for an "
    "autonomous robotics developer."
)
BUILTIN: tuple[Prompt, ...] = (
    Prompt(WORKSHOP_PROMPT, 256),
    Prompt("What is the capital of France? Answer in one word.", 16),
    Prompt("List three differences between FP16, FP8 and FP4 weights for LLM inference, one line each.", 128),
    Prompt(
        "Explain speculative decoding to a robotics engineer: what the draft model does, what the target "
        "model verifies, and why the output is unchanged. Use about 150 words.",
        256,
    ),
    Prompt(
        "Summarize the following log and say what failed and what to do next:\n"
        + "\n".join(f"(APIServer pid=92) INFO: step {i}: loaded shard {i} of 15 in 1.6 s" for i in range(1, 16))
        + "\nValueError: Free memory on device (14.45/122.82 GiB) on startup is less than desired GPU "
        "memory utilization (0.7, 85.98 GiB)",
        192,
    ),
    Prompt("Write a Python function that returns the n-th Fibonacci number iteratively, with a docstring.", 160),
)


class PromptFileError(ValueError):
    """A prompt file that cannot be used: ``path:line: what`` and what to do."""


def parse_prompts(text: str, source: str = "<prompts>", default_max_tokens: int = DEFAULT_MAX_TOKENS) -> list[Prompt]:
    """JSON Lines when the first non-blank line starts with ``{``; else blank-line-separated text."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise PromptFileError(f"{source}: no prompts in the file")
    if first.lstrip().startswith("{"):
        return _jsonl(text, source, default_max_tokens)
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    return [Prompt(b, default_max_tokens) for b in blocks if b]


def _jsonl(text: str, source: str, default_max_tokens: int) -> list[Prompt]:
    out: list[Prompt] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise PromptFileError(
                f'{where}: not JSON ({exc}); each line is one object like {{"prompt": "...", "output_tokens": 128}}'
            ) from exc
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            raise PromptFileError(f'{where}: each line needs a non-empty "prompt" string')
        tokens = row.get("output_tokens", default_max_tokens)
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
            raise PromptFileError(f'{where}: "output_tokens" must be a whole number of at least 1, not {tokens!r}')
        out.append(Prompt(row["prompt"], tokens))
    return out


def load_prompts(path: str | Path, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> list[Prompt]:
    """Read a prompt file; raises PromptFileError saying where and what."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PromptFileError(f"{p}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise PromptFileError(f"{p}: cannot read it: {exc.strerror or exc}") from exc
    return parse_prompts(text, str(p), default_max_tokens)


def to_jsonl(prompts: list[Prompt] | tuple[Prompt, ...]) -> str:
    """The set as a ``vllm bench serve --dataset-name custom`` file."""
    return "".join(json.dumps({"prompt": p.text, "output_tokens": p.max_tokens}) + "\n" for p in prompts)
