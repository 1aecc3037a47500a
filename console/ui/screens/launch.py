"""Launch: pick a preset, edit it, see the exact docker run line, preflight, launch, and
watch the server start (phases, progress, per-phase times) until /health says Ready, or
read why it failed with a one-key fix.
"""

from __future__ import annotations

import os
import time

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList, ProgressBar

from console.containers import presets as ps
from console.containers.form import (
    FORM_FIELDS,
    draft_values,
    fields_for,
    fix_values,
    fix_words,
    form_message,
    form_plan,
    form_values,
    label_for,
)
from console.containers.launcher import LaunchEvent
from console.containers.preflight import Check
from console.keymap import LAUNCH_BINDINGS
from console.runtime.commands import Launch
from console.runtime.events import Event, LaunchProgress, PreflightDone
from console.servers.failures import Diagnosis
from console.servers.startup import PHASES, StartupState
from console.ui.bindings import bindings, bound_key
from console.ui.host import host
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.text import LiveText


def phase_lines(state: StartupState, now: float) -> str:
    times = state.elapsed(now)
    current = state.phase
    out = []
    for phase in PHASES:
        if phase.key == "start":
            continue
        if phase.key in times and phase.key != current:
            mark = "✓"
        elif phase.key == current:
            mark = "▶" if not state.ready else "✓"
        else:
            mark = "·"
        took = f"{times[phase.key]:6.1f} s" if phase.key in times else ""
        out.append(f" {mark} {phase.title:<24}{took}")
    details = ", ".join(
        f"{k} {v}" for k, v in state.details.items() if k in ("architecture", "shards", "model_gib", "kv_tokens", "url")
    )
    if details:
        out.append(f"   {details}")
    return "\n".join(out)


def check_lines(checks: list[Check]) -> str:
    marks = {"ok": "[ok]  ", "warn": "[warn]", "fail": "[FAIL]"}
    lines = []
    for c in checks:
        lines.append(f"{marks[c.level]} {c.name:<10} {c.detail}")
        if c.fix and c.level != "ok":
            lines.append(f"{'':18}→ {c.fix}")
    return "\n".join(lines)


def verdict_line(checks: list[Check], blocked: bool, launching: bool) -> str:
    """One line for a preflight's outcome: what failed first, or how many passed."""
    failed = [c for c in checks if c.level == "fail"]
    warned = sum(c.level == "warn" for c in checks)
    if blocked or failed:
        first = failed[0] if failed else None
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        return "✗ Preflight failed" + (f": {first.detail}{more}" if first else "") + " — nothing started"
    tail = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
    return f"✓ Preflight passed ({len(checks) - warned} ok{tail})" + (": starting…" if launching else "")


def diagnosis_text(d: Diagnosis, kind: str, fix_key: str = "ctrl+f") -> str:
    text = f"{d.title}\n{d.explanation}\nevidence: {d.evidence}\nfix: {d.fix}"
    if d.action and d.action.settings:
        text += f"\n{fix_key}: relaunch with " + fix_words(kind, d.action.settings)
    elif d.action and d.action.command:
        text += f"\nrun: {d.action.command}"
    return text


class LaunchScreen(Screen):
    """The form and preset list on top; under them one line with the verdict (always in sight), then the
    preview, the checks, the phases and the diagnosis in one scroll that moves to each new result."""

    BINDINGS = bindings(LAUNCH_BINDINGS)
    DEFAULT_CSS = """
    LaunchScreen #verdict {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $boost;
        text-style: bold;
    }
    LaunchScreen #launch-output {
        height: 1fr;
    }
    """

    def __init__(self, preset: str | None = None) -> None:
        super().__init__()
        self.presets = ps.all_presets(host(self).config)
        self.preset_name = preset if preset in self.presets else next(iter(self.presets))
        self.run_id = 0
        self.state = StartupState()
        self.diagnosis: Diagnosis | None = None
        self.container_id: str | None = None
        self.problem = ""  # why the form cannot launch as it stands
        self.checked: tuple[str, dict[str, str]] | None = None  # the preset and form of the last run
        self.results = ""  # the last run's check lines
        self.outcome = ""  # the last run's verdict

    @property
    def preset(self) -> ps.Preset:
        return self.presets[self.preset_name]

    def _key(self, binding: str) -> str:
        return bound_key(self.app, binding)

    def compose(self) -> ComposeResult:
        yield LiveText(
            f"Launch a server · {self._key('launch.launch')} launch · {self._key('launch.preflight')} preflight"
            f" · {self._key('launch.back')} back",
            id="title",
        )
        with Horizontal(id="launch-top"):
            yield OptionList(*self.presets, id="presets")
            with VerticalScroll(id="form", can_focus=False):  # Tab goes to the first field
                for key, label in FORM_FIELDS:
                    yield Label(label, id=f"l-{key}")
                    yield Input(id=f"f-{key}")
        yield LiveText("", id="verdict")
        with VerticalScroll(id="launch-output"):
            yield LiveText("", id="preview", classes="panel-text")
            yield LiveText("", id="checks", classes="panel-text")
            yield ProgressBar(total=100, show_eta=False, id="progress")
            yield LiveText("", id="phases", classes="panel-text")
            yield LiveText("", id="diagnosis", classes="panel-text")
        yield KeyHints()

    def on_mount(self) -> None:
        options = self.query_one("#presets", OptionList)
        options.highlighted = list(self.presets).index(self.preset_name)
        self.query_one("#progress").display = False
        self._fill()
        options.focus()

    def _fill(self) -> None:
        """The form for the chosen preset: its values, and only the fields its kind uses."""
        kind = self.preset.kind
        used = fields_for(kind)
        draft = host(self).launch_drafts.get(self.preset_name, {})
        for key, text in (form_values(self.preset) | draft).items():
            self.query_one(f"#f-{key}", Input).value = text
            self.query_one(f"#f-{key}", Input).display = key in used
            label = self.query_one(f"#l-{key}", Label)
            label.update(label_for(key, kind))
            label.display = key in used
        self._refresh()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = str(event.option.prompt)
        if name != self.preset_name:
            self.preset_name = name
            self._forget()
            self._fill()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._keep_draft()
        self._refresh()

    def _keep_draft(self) -> None:
        """The form as edited, kept for this preset (Esc, another preset or a new visit loses nothing)."""
        drafts = host(self).launch_drafts
        values = draft_values(self.values())  # a field with a credential is not kept (shown again later)
        if values.items() <= form_values(self.preset).items():
            drafts.pop(self.preset_name, None)
        else:
            drafts[self.preset_name] = values

    def action_reset(self) -> None:
        """The preset's own values again (the edits to it are dropped)."""
        host(self).launch_drafts.pop(self.preset_name, None)
        self._fill()
        self.notify(f"{self.preset_name}: the preset's own values", timeout=3)

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#f-{key}", Input).value for key, _ in FORM_FIELDS}

    def _forget(self) -> None:
        """Another preset: the last one's results go; its launch goes on, followed in Containers."""
        if self.container_id is not None and self.outcome and not self.outcome.startswith(("Ready", "Failed")):
            self.notify("the launch goes on: follow it in Containers", timeout=4)
        self.run_id += 1
        self.checked, self.results, self.outcome = None, "", ""
        self.state, self.diagnosis, self.container_id = StartupState(), None, None
        self.query_one("#phases", LiveText).set("")
        self.query_one("#diagnosis", LiveText).set("")
        self.query_one("#progress").display = False

    def stale(self) -> bool:
        """True when the form changed after the last preflight or launch: its results are not this form's."""
        return self.checked is not None and self.checked != (self.preset_name, self.values())

    def _refresh(self) -> None:
        """Preview, check lines and verdict for the form as it is now."""
        try:
            _, plan = form_plan(self.values(), self.preset, os.environ)
        except ValueError as exc:
            self.problem = str(exc)
            self.query_one("#preview", LiveText).set(f"Cannot launch yet: {exc}")
        else:
            self.problem = ""
            self.query_one("#preview", LiveText).set("Equivalent command:\n" + ps.docker_run_line(plan))
        self._show_results()

    def _show_results(self) -> None:
        stale = self.stale()
        results = self.results
        if stale and results:
            results = (
                f"Stale — from before the form changed; {self._key('launch.preflight')} checks it again:\n" + results
            )
        self.query_one("#checks", LiveText).set(results)
        again = f"{self._key('launch.preflight')} preflight · {self._key('launch.launch')} launch"
        if self.problem:
            verdict = f"✗ Cannot launch yet: {self.problem}"
        elif stale:
            verdict = f"Stale: the form changed after the last run — {again}"
        else:
            verdict = self.outcome or f"Not checked yet — {again}"
        self.query_one("#verdict", LiveText).set(verdict)

    def _reveal(self, selector: str) -> None:
        """Bring a result into view once it is laid out (the preview above it may be long)."""
        output = self.query_one("#launch-output", VerticalScroll)
        widget = self.query_one(selector)
        self.call_after_refresh(output.scroll_to_widget, widget, animate=False, top=True)

    # ---- actions ----------------------------------------------------------------------
    def action_back(self) -> None:
        self.run_id += 1  # stop reporting (the container keeps running; see Containers)
        self.app.pop_screen()

    def _start(self, launch: bool, remove_first: str | None = None) -> None:
        try:
            preset, plan = form_plan(self.values(), self.preset, os.environ)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.run_id += 1
        self.state, self.diagnosis, self.container_id = StartupState(), None, None
        self.checked, self.results, self.outcome = (self.preset_name, self.values()), "", "Preflight running…"
        self.query_one("#checks", LiveText).set("running preflight…")
        self.query_one("#phases", LiveText).set("")
        self.query_one("#diagnosis", LiveText).set("")
        self.query_one("#progress").display = False
        self._show_results()
        host(self).send(Launch(self.run_id, plan, preset, launch, remove_first))

    def action_preflight(self) -> None:
        self._start(launch=False)

    def action_launch(self) -> None:
        self._start(launch=True)

    def action_apply_fix(self) -> None:
        d = self.diagnosis
        if not d or not d.action or not d.action.settings:
            self.notify("no fix to apply", timeout=2)
            return
        try:
            fixed = fix_values(self.values(), self.preset.kind, d.action.settings.items())
        except ValueError as exc:
            self.notify(form_message(exc), severity="error")
            return
        for key, value in fixed.items():
            self.query_one(f"#f-{key}", Input).value = value
        failed = self.container_id
        self.notify(
            "relaunching with "
            + fix_words(self.preset.kind, d.action.settings)
            + (" (the failed container is removed first)" if failed else ""),
            timeout=6,
        )
        self._start(launch=True, remove_first=failed)

    # ---- reports from the runtime (routed by the app) ----------------------------------------
    def take_event(self, event: Event) -> None:
        if isinstance(event, PreflightDone):
            self.preflight_done(event.run_id, list(event.checks), event.blocked, event.launching)
        elif isinstance(event, LaunchProgress):
            self.launch_event(event.run_id, event.event, event.message, event.container)

    def preflight_done(self, run_id: int, checks: list[Check], blocked: bool, launching: bool) -> None:
        if run_id != self.run_id:
            return
        text = check_lines(checks)
        if blocked:
            text += "\nPreflight failed: nothing was started."
        elif launching:
            text += "\nPreflight passed: starting…"
        self.results = text
        self.outcome = verdict_line(checks, blocked, launching)
        self._show_results()
        self._reveal("#checks")

    def launch_event(self, run_id: int, event: LaunchEvent | None, message: str = "", container: str = "") -> None:
        if run_id != self.run_id:
            return
        if container:
            self.container_id = container
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        if event is None:
            self.query_one("#diagnosis", LiveText).set(message)
            self.outcome = message
            self._show_results()
            self._reveal("#progress")
            return
        self.state = event.state
        bar.update(progress=round(event.state.progress * 100))
        header = {
            "ready": f"Ready — {event.message}",
            "exited": f"Failed — {event.message}",
            "timeout": f"Not ready — {event.message}",
        }.get(event.kind, f"{event.state.title}…")
        self.query_one("#phases", LiveText).set(header + "\n" + phase_lines(event.state, time.monotonic()))
        self.outcome = header
        if event.diagnosis is not None:
            self.diagnosis = event.diagnosis
            self.query_one("#diagnosis", LiveText).set(
                diagnosis_text(event.diagnosis, self.preset.kind, self._key("launch.fix"))
            )
            self.outcome = f"{header} · {event.diagnosis.title}"
        self._show_results()
        self._reveal("#diagnosis" if event.diagnosis is not None else "#progress")
