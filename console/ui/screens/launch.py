"""Launch: pick a preset, edit it, see the exact docker run line, preflight, launch, and
watch the server start (phases, progress, per-phase times) until /health says Ready, or
read why it failed with a one-key fix.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList, ProgressBar

from console.containers import presets as ps
from console.containers.form import FORM_FIELDS, form_values, settings_from_form
from console.containers.launcher import LaunchEvent
from console.containers.preflight import Check
from console.keymap import LAUNCH_BINDINGS
from console.runtime.commands import Launch
from console.runtime.events import Event, LaunchProgress, PreflightDone
from console.servers.failures import Diagnosis
from console.servers.startup import PHASES, StartupState
from console.ui.bindings import bindings
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


def diagnosis_text(d: Diagnosis) -> str:
    text = f"{d.title}\n{d.explanation}\nevidence: {d.evidence}\nfix: {d.fix}"
    if d.action and d.action.settings:
        text += "\nf: relaunch with " + ", ".join(f"{k}={v}" for k, v in d.action.settings.items())
    elif d.action and d.action.command:
        text += f"\nrun: {d.action.command}"
    return text


class LaunchScreen(Screen):
    BINDINGS = bindings(LAUNCH_BINDINGS)

    def __init__(self, preset: str | None = None) -> None:
        super().__init__()
        self.presets = ps.all_presets(host(self).config)
        self.preset_name = preset if preset in self.presets else next(iter(self.presets))
        self.run_id = 0
        self.state = StartupState()
        self.diagnosis: Diagnosis | None = None
        self.container_id: str | None = None

    @property
    def preset(self) -> ps.Preset:
        return self.presets[self.preset_name]

    def compose(self) -> ComposeResult:
        yield LiveText("Launch a server · ctrl+s launch · ctrl+k preflight · Esc back", id="title")
        with Horizontal(id="launch-top"):
            yield OptionList(*self.presets, id="presets")
            with VerticalScroll(id="form"):
                for key, label in FORM_FIELDS:
                    yield Label(label)
                    yield Input(id=f"f-{key}")
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
        for key, text in form_values(self.preset).items():
            self.query_one(f"#f-{key}", Input).value = text
        self._preview()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = str(event.option.prompt)
        if name != self.preset_name:
            self.preset_name = name
            self._fill()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._preview()

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#f-{key}", Input).value for key, _ in FORM_FIELDS}

    def edited(self) -> ps.Preset:
        return ps.apply_overrides(self.preset, settings_from_form(self.values(), self.preset))

    def _preview(self) -> None:
        import os

        try:
            plan = ps.plan(self.edited(), os.environ)
        except ValueError as exc:
            self.query_one("#preview", LiveText).set(f"Cannot launch yet: {exc}")
            return
        self.query_one("#preview", LiveText).set("Equivalent command:\n" + ps.docker_run_line(plan))

    # ---- actions ----------------------------------------------------------------------
    def action_back(self) -> None:
        self.run_id += 1  # stop reporting (the container keeps running; see Containers)
        self.app.pop_screen()

    def _start(self, launch: bool, remove_first: str | None = None) -> None:
        import os

        try:
            preset = self.edited()
            plan = ps.plan(preset, os.environ)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.run_id += 1
        self.state, self.diagnosis, self.container_id = StartupState(), None, None
        self.query_one("#checks", LiveText).set("running preflight…")
        self.query_one("#phases", LiveText).set("")
        self.query_one("#diagnosis", LiveText).set("")
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
        for key, value in d.action.settings.items():
            box = self.query(f"#f-{key}")
            if box:
                box.first(Input).value = str(value)
        failed = self.container_id
        self.notify(
            "relaunching with "
            + ", ".join(f"{k}={v}" for k, v in d.action.settings.items())
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
        self.query_one("#checks", LiveText).set(text)

    def launch_event(self, run_id: int, event: LaunchEvent | None, message: str = "", container: str = "") -> None:
        if run_id != self.run_id:
            return
        if container:
            self.container_id = container
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        if event is None:
            self.query_one("#diagnosis", LiveText).set(message)
            return
        self.state = event.state
        bar.update(progress=round(event.state.progress * 100))
        header = {
            "ready": f"Ready — {event.message}",
            "exited": f"Failed — {event.message}",
            "timeout": f"Not ready — {event.message}",
        }.get(event.kind, f"{event.state.title}…")
        self.query_one("#phases", LiveText).set(header + "\n" + phase_lines(event.state, time.monotonic()))
        if event.diagnosis is not None:
            self.diagnosis = event.diagnosis
            self.query_one("#diagnosis", LiveText).set(diagnosis_text(event.diagnosis))
