"""Model fit: will a model fit this device's memory, and with which vLLM flags?

The form holds what ``jetconsole fit`` takes as flags; the figures are the CLI's own
(``fit.report.evaluate``), recomputed a moment after the typing stops.  config.json and
the device's memory are read by the runtime's fit service (``ReadFitConfig``, ``ReadFitMemory``;
the memory is the runtime's own telemetry, no second connection), which answers with one-shot
events this screen takes; the arithmetic itself is pure and runs here.  Bad input is said inline, next to
the figures of the last input that could be computed; nothing typed is lost.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Select

from console.fit.device import DeviceMemory
from console.fit.model import FitError
from console.fit.report import (
    NOTHING_FITS,
    capacity,
    command_line,
    evaluate,
    fit_args,
    table_rows,
    vllm_flags,
)
from console.fit.sizing import normalize_quant
from console.keymap import FIT_BINDINGS
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.text import LiveText

DEBOUNCE_S = 0.3

# (label, --quant value; "" = what config.json says, else BF16)
PRECISIONS: tuple[tuple[str, str], ...] = (
    ("from config.json (else BF16)", ""),
    ("BF16", "bf16"),
    ("FP16", "fp16"),
    ("FP8", "fp8"),
    ("INT8", "int8"),
    ("INT4", "int4"),
    ("INT4 AWQ", "awq"),
    ("INT4 GPTQ", "gptq"),
    ("NVFP4", "nvfp4"),
    ("MXFP4", "mxfp4"),
    ("FP32", "fp32"),
)
KV_DTYPES: tuple[tuple[str, str], ...] = (("auto (the model's 16 bit)", "auto"), ("fp8", "fp8"))

# field id, label, flag, placeholder
_INPUTS: tuple[tuple[str, str, str, str], ...] = (
    ("config", "config.json or model dir", "--config", "path; blank: size from --params alone"),
    ("params", "parameters", "--params", "8B, 70b, 1.5B, 70e9; blank: estimated"),
    ("context", "context (tokens)", "--context", "blank: from config.json, ≤ 32768"),
    ("concurrency", "sequences at full context", "--concurrency", "1"),
    ("util", "gpu-memory-utilization", "--util", "0.9"),
)
_FLAG_FIELD = {
    "--config": "config",
    "--params": "params",
    "--quant": "quant",
    "--context": "context",
    "--concurrency": "concurrency",
    "--util": "util",
    "--kv-dtype": "kv",
}
_VALUE_W = 31  # label and size columns of the figures, as ``jetconsole fit`` prints them


def figures_text(r: dict[str, Any], width: int) -> str:
    """The CLI's table, each detail wrapped under itself to ``width`` columns."""
    detail_w = max(24, width - _VALUE_W - 2)
    lines = (
        textwrap.wrap(f"model config: {r['config']}", max(width, 40), subsequent_indent="  ", break_on_hyphens=False)
        if r["config"]
        else []
    )
    for label, value, detail in table_rows(r):
        if label == "fits":
            continue  # the verdict line above says it
        chunks = textwrap.wrap(detail, detail_w, break_on_hyphens=False) or [""]
        lines.append(f"{label:<20}{value:>11}  {chunks[0]}".rstrip())
        lines += [" " * (_VALUE_W + 2) + chunk for chunk in chunks[1:]]
    return "\n".join(lines)


def verdict_text(r: dict[str, Any]) -> str:
    return ("FITS: " if r["fits"] else "DOES NOT FIT: ") + r["reason"]


def flags_text(r: dict[str, Any], args: argparse.Namespace) -> str:
    flags = vllm_flags(r)
    lines = ["vLLM flags (F2 copies):", f"  {flags}"] if flags else ["vLLM flags:", f"  {NOTHING_FITS}"]
    if (room := capacity(r)) is not None:
        lines.append(f"  ({room})")
    lines += ["Same check on the command line (F3 copies):", f"  {command_line(args)}"]
    return "\n".join(lines)


class FitScreen(Screen):
    """The model-fit calculator.  ``memory``: a fixed reading of the device's memory (called in the runtime's
    fit service; default: the runtime's telemetry)."""

    BINDINGS = bindings(FIT_BINDINGS)
    DEFAULT_CSS = """
    FitScreen #fit-form {
        height: auto;
        padding: 0 1;
        border-bottom: solid $panel-lighten-2;
    }
    FitScreen .fit-row {
        height: 1;
    }
    FitScreen .fit-row > Label {
        width: 41;
        color: $text-muted;
    }
    /* Focus readable without colour: the focused field's label is bold and reversed. */
    FitScreen .fit-row:focus-within > Label {
        color: $foreground;
        text-style: bold reverse;
    }
    FitScreen .fit-row.-bad > Label {
        color: $error;
        text-style: bold underline;
    }
    FitScreen .fit-row.-bad Input, FitScreen .fit-row.-bad SelectCurrent {
        background-tint: $error 25%;
    }
    FitScreen .fit-row Input, FitScreen .fit-row Select {
        width: 1fr;
    }
    FitScreen #fit-results {
        height: 1fr;
        padding: 0 1;
        scrollbar-gutter: stable;  /* the figures are wrapped to a width that a scrollbar must not change */
    }
    FitScreen #fit-results:focus {
        border-left: thick $primary;
    }
    FitScreen #fit-error {
        height: auto;
        color: $error;
        text-style: bold;
    }
    FitScreen #fit-error.-hint {
        color: $text-muted;
        text-style: none;
    }
    FitScreen #fit-verdict {
        height: auto;
        text-style: bold;
    }
    FitScreen #fit-verdict.-fits {
        color: $success;
    }
    FitScreen #fit-verdict.-nofit {
        color: $error;
    }
    FitScreen #fit-flags, FitScreen #fit-table, FitScreen #fit-notes {
        height: auto;
        margin-top: 1;
    }
    FitScreen #fit-notes {
        color: $text-muted;
    }
    FitScreen #fit-results.-stale #fit-verdict, FitScreen #fit-results.-stale #fit-flags,
    FitScreen #fit-results.-stale #fit-table {
        text-opacity: 60%;
    }
    """

    def __init__(
        self,
        config_path: str | Path | None = None,
        params: str | None = None,
        quant: str | None = None,
        context: str | int | None = None,
        concurrency: str | int | None = None,
        kv_dtype: str = "auto",
        util: str | float | None = None,
        memory: Callable[[], DeviceMemory | None] | None = None,
    ) -> None:
        super().__init__()
        self._initial = {
            "config": config_path,
            "params": params,
            "context": context,
            "concurrency": concurrency,
            "util": util,
        }
        self._quant = quant.strip().lower() if quant else ""
        if self._quant not in {v for _, v in PRECISIONS}:  # "bfloat16", "awq_marlin", "modelopt_fp4" ...
            try:
                self._quant = normalize_quant(self._quant)
            except ValueError:
                self._quant = ""
            if self._quant not in {v for _, v in PRECISIONS}:  # a format with no entry of its own
                self._quant = ""
        self._kv = kv_dtype if kv_dtype in {v for _, v in KV_DTYPES} else "auto"
        self._memory_fn = memory
        self._memory: DeviceMemory | None = None
        self._memory_error: str | None = None
        self._config_text: str | None = None  # the config field's text whose read is current
        self._config: tuple[Path | None, dict[str, Any] | None] | None = None
        self._config_error: str | None = None
        self._timer: Timer | None = None
        self.report: dict[str, Any] | None = None  # the last figures shown
        self.args: argparse.Namespace | None = None  # and the flags they were computed for
        self.error: str | None = None  # what is wrong with the input now, if anything

    # ---- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield LiveText("Model fit · Tab next field · F2 copy vLLM flags · F3 copy command · Esc back", id="title")
        with Vertical(id="fit-form"):
            for key, label, flag, placeholder in _INPUTS[:2]:
                yield self._input_row(key, label, flag, placeholder)
            with Horizontal(classes="fit-row", id="row-quant"):
                yield Label(f"{'weights precision':<26}--quant", markup=False)
                yield Select(PRECISIONS, allow_blank=False, value=self._quant, compact=True, id="fit-quant")
            for key, label, flag, placeholder in _INPUTS[2:4]:
                yield self._input_row(key, label, flag, placeholder)
            with Horizontal(classes="fit-row", id="row-kv"):
                yield Label(f"{'KV cache dtype':<26}--kv-dtype", markup=False)
                yield Select(KV_DTYPES, allow_blank=False, value=self._kv, compact=True, id="fit-kv")
            yield self._input_row(*_INPUTS[4])
        with VerticalScroll(id="fit-results"):
            yield LiveText("reading the device's memory…", id="fit-error", classes="-hint")
            yield LiveText("", id="fit-verdict")
            yield LiveText("", id="fit-flags")
            yield LiveText("", id="fit-table")
            yield LiveText("", id="fit-notes")
        yield KeyHints()

    def _input_row(self, key: str, label: str, flag: str, placeholder: str) -> Horizontal:
        value = self._initial.get(key)
        return Horizontal(
            Label(f"{label:<26}{flag}", markup=False),
            Input("" if value is None else str(value), placeholder=placeholder, compact=True, id=f"fit-{key}"),
            classes="fit-row",
            id=f"row-{key}",
        )

    def on_mount(self) -> None:
        self.query_one("#fit-config", Input).focus()
        host(self).send(cmd.ReadFitMemory(self._memory_fn))
        self._recompute()

    def on_resize(self) -> None:
        if self.report is not None:
            self.query_one("#fit-table", LiveText).set(figures_text(self.report, self._table_width()))

    def _table_width(self) -> int:
        width = self.query_one("#fit-results").scrollable_content_region.width
        return width if width > 0 else 80

    # ---- input -------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._recompute)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._recompute()
        self.focus_next()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._recompute()

    def form_args(self) -> argparse.Namespace:
        """The form as ``jetconsole fit`` arguments."""

        def text(key: str) -> str:
            return self.query_one(f"#fit-{key}", Input).value

        quant, kv = self.query_one("#fit-quant", Select).value, self.query_one("#fit-kv", Select).value
        return fit_args(
            config=text("config"),
            params=text("params"),
            quant=quant if isinstance(quant, str) else None,
            context=text("context"),
            concurrency=text("concurrency"),
            kv_dtype=kv if isinstance(kv, str) else "auto",
            util=text("util"),
        )

    def _recompute(self) -> None:
        """Read config.json again if its field changed (in a worker), else compute now."""
        if self._timer is not None:  # called directly: a pending debounce would only repeat this
            self._timer.stop()
            self._timer = None
        if not self.is_mounted:
            return
        text = self.query_one("#fit-config", Input).value.strip()
        if text != self._config_text:
            self._config_text, self._config, self._config_error = text, None, None
            if text:
                host(self).send(cmd.ReadFitConfig(text))
                return  # FitConfigRead computes
            self._config = (None, None)
        self._compute()

    # ---- reads: the runtime's fit service answers with one-shot events ------------------------
    def take_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.FitMemoryRead):
            self._memory_read(event)
        elif isinstance(event, ev.FitConfigRead):
            self._config_read(event)

    def _memory_read(self, message: ev.FitMemoryRead) -> None:
        self._memory, self._memory_error = message.memory, message.error
        self._compute()

    def _config_read(self, message: ev.FitConfigRead) -> None:
        if message.text != self._config_text:
            return  # the field has changed since: a newer read is coming
        if message.error is not None:
            self._config_error = message.error
        else:
            self._config = (message.path, message.config)
        self._compute()

    # ---- the figures -------------------------------------------------------------------
    def _memory_now(self) -> DeviceMemory:
        if self._memory is None:
            raise FitError(self._memory_error or "the device's memory is not read yet")
        return self._memory

    def _compute(self) -> None:
        if self._memory is None and self._memory_error is None:
            return  # FitMemoryRead computes
        if self._config is None and self._config_error is None:
            return  # FitConfigRead computes
        args = self.form_args()
        if not args.params and not args.model_config:
            self._show_error(
                "Type the path of a model's config.json (or its directory), or a parameter count such as 8B.", hint=True
            )
            return
        try:
            if self._config_error is not None or self._config is None:
                raise FitError(self._config_error or "the model's config.json is not read yet")
            path, config = self._config
            r = evaluate(args, path, config, self._memory_now)
        except FitError as exc:
            self._show_error(str(exc))
            return
        self._show(r, args)

    def _mark(self, field: str | None) -> None:
        for row in self.query(".fit-row"):
            row.set_class(row.id == f"row-{field}", "-bad")

    def _show_error(self, text: str, hint: bool = False) -> None:
        self.error = None if hint else text
        field = None if hint else next((f for flag, f in _FLAG_FIELD.items() if text.startswith(flag)), None)
        self._mark(field)
        stale = self.report is not None
        if stale and not hint:
            text += "\n(the figures below are for the last input that could be computed)"
        box = self.query_one("#fit-error", LiveText)
        box.set_class(hint, "-hint")
        box.set(text)
        box.display = True
        self.query_one("#fit-results").set_class(stale, "-stale")

    def _show(self, r: dict[str, Any], args: argparse.Namespace) -> None:
        self.report, self.args, self.error = r, args, None
        self._mark(None)
        with self.app.batch_update():
            self.query_one("#fit-error", LiveText).set("")
            self.query_one("#fit-error").display = False
            self.query_one("#fit-results").set_class(False, "-stale")
            verdict = self.query_one("#fit-verdict", LiveText)
            verdict.set(verdict_text(r))
            verdict.set_class(r["fits"], "-fits")
            verdict.set_class(not r["fits"], "-nofit")
            self.query_one("#fit-flags", LiveText).set(flags_text(r, args))
            self.query_one("#fit-table", LiveText).set(figures_text(r, self._table_width()))
            self.query_one("#fit-notes", LiveText).set("\n".join(f"note: {n}" for n in r["notes"]))

    # ---- actions -----------------------------------------------------------------------
    def action_back(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.app.pop_screen()

    def _copy(self, what: str, text: str | None) -> None:
        if not text:
            self.notify(f"no {what} to copy yet", timeout=2)
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {what}: {text}", timeout=4)

    def action_copy_flags(self) -> None:
        self._copy("vLLM flags", vllm_flags(self.report) if self.report and self.error is None else None)

    def action_copy_command(self) -> None:
        self._copy("fit command", command_line(self.form_args()))
