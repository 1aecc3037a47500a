"""The Bench screen's twin of ``jetconsole bench``'s arguments: plain values in, a plan out;

No Textual.  ``plan_from_form`` validates with the CLI's own parsers (``parse_targets``,
``parse_levels``, ``parse_specs``, ``load_prompts``) but names the field of every problem, so
a form can mark each one; it reads the prompt file, so call it from a worker thread, as
``saved_runs`` (which lists and reads a results folder).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console import config as cfg
from console.bench.plan import parse_levels, parse_targets
from console.bench.powerab import CLOCKS, parse_specs
from console.bench.prompts import BUILTIN, Prompt, load_prompts
from console.bench.runner import BenchPlan

WARMUPS = 2  # as the CLI's --warmups default


@dataclass(frozen=True)
class BenchForm:
    """What the form holds, as typed (numbers as text: a bad one is said, not lost)."""

    endpoints: str = ""  # [LABEL=]URL entries separated by spaces or commas
    model: str = ""  # "": the first model each server lists
    trials: str = ""
    concurrency: str = ""  # "1,4,16"
    prompts: str = ""  # a prompt file; "": the built-in set
    max_tokens: str = ""  # "": each prompt's own
    ignore_eos: bool = False
    power_ab: str = ""  # "MAXN,30W" or "clocks-off,clocks-on"
    baseline: str = ""  # "": the first configuration

    @classmethod
    def defaults(cls, config: cfg.Config) -> BenchForm:
        return cls(
            endpoints=" ".join(config.servers),
            trials=str(config.bench_trials),
            concurrency=",".join(map(str, config.bench_concurrency)),
            prompts=config.bench_prompts,
        )


class FormError(ValueError):
    """One or more fields cannot be used: ``problems`` is (field, what to fix) for each."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("\n".join(text for _, text in problems))
        self.problems = problems

    @property
    def fields(self) -> set[str]:
        return {f for f, _ in self.problems}


def entries(text: str) -> list[str]:
    """``"FP8=http://a:8000 FP4=http://b:8000"`` → the two specs (spaces, commas or new lines between)."""
    return [e for e in re.split(r"[\s,]+", text.strip()) if e]


def _whole(text: str, what: str, default: int | None) -> int | None:
    text = text.strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{what} must be a whole number of 1 or more, not {text!r}")
    return value


def plan_from_form(form: BenchForm, config: cfg.Config, warmups: int = WARMUPS) -> BenchPlan:
    """The plan the form asks for; raises FormError naming every field that cannot be used.  Reads the prompt file."""
    problems: list[tuple[str, str]] = []

    def check(field: str, make: Callable[[], Any]) -> Any:
        """``make()``, or None with the problem noted against ``field``."""
        try:
            return make()
        except ValueError as exc:  # PromptFileError is a ValueError
            problems.append((field, str(exc)))
            return None

    specs = entries(form.endpoints)
    if not specs:
        problems.append(("endpoints", "no server to measure: type [LABEL=]URL, e.g. FP8=http://127.0.0.1:8000/v1"))
        targets = None
    else:
        targets = check("endpoints", lambda: parse_targets(specs, config, form.model.strip()))
    trials = check("trials", lambda: _whole(form.trials, "trials", config.bench_trials))
    levels = check(
        "concurrency", lambda: parse_levels(form.concurrency) if form.concurrency.strip() else config.bench_concurrency
    )
    max_tokens = check("max_tokens", lambda: _whole(form.max_tokens, "max tokens", None))
    modes = check("power_ab", lambda: parse_specs(form.power_ab) if form.power_ab.strip() else ())
    source = form.prompts.strip() or config.bench_prompts
    prompts = check("prompts", lambda: load_prompts(source) if source else list(BUILTIN))
    baseline = form.baseline.strip()
    if baseline and targets is not None and modes is not None:
        names = [t.label for t in targets] + [f"{t.label} @{m}" for t in targets for m in modes]
        if baseline not in names:
            problems.append(("baseline", f"baseline {baseline!r} is not one of the configurations: {', '.join(names)}"))
    if problems:
        raise FormError(problems)
    assert targets is not None and prompts is not None and levels is not None and trials is not None
    if max_tokens is not None:
        prompts = [Prompt(p.text, max_tokens) for p in prompts]
    return BenchPlan(
        targets=tuple(targets),
        prompts=tuple(prompts),
        prompts_source=source or "built-in",
        concurrency=tuple(levels),
        trials=trials,
        warmups=warmups,
        ignore_eos=form.ignore_eos,
        power_modes=tuple(modes or ()),
    )


def power_change_text(modes: tuple[str, ...], now: str) -> str:
    """What a power A/B will do, in order, for the question asked before it starts."""

    def what(spec: str) -> str:
        return f"jetson_clocks {'on' if CLOCKS[spec] else 'off'}" if spec in CLOCKS else f"nvpmodel mode {spec}"

    steps = "\n".join(f"  {i}. switch to {what(m)}, then run the whole bench" for i, m in enumerate(modes, 1))
    return (
        f"now: {now}\n{steps}\n  {len(modes) + 1}. put back {now}\n"
        "The original mode is restored at the end, also when the bench fails or is cancelled. "
        "A mode change can take a few seconds; some need a reboot and are refused."
    )
