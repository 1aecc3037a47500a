"""An organiser action asked from the Fleet screen: its plan (every device's exact command, and the
devices refused with why), then, on ``y``, each device's progress and outcome as they come.  ``n`` or Esc
before that runs nothing (and the audit log says so); once it runs, Esc closes this view and the action
goes on (``x`` on the Fleet screen shows it again while it is the latest)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable

from console.fleet.actions import DESCRIPTIONS, Outcome
from console.fleet.state import ActionRun
from console.keymap import FLEET_ACTION_BINDINGS
from console.runtime.commands import DeclineFleetAction, RunFleetAction
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText


class FleetActionScreen(Screen):
    BINDINGS = bindings(FLEET_ACTION_BINDINGS)
    DEFAULT_CSS = """
    FleetActionScreen #action-plan { height: auto; max-height: 60%; }
    FleetActionScreen #action-prompt { height: auto; text-style: bold; }
    """

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        yield LiveText("", id="title")
        yield LiveText("", id="action-plan")
        table: DataTable = DataTable(id="action-results", cursor_type="row")
        table.add_columns("device", "result")
        yield table
        yield LiveText("", id="action-prompt")
        yield KeyHints()

    def on_mount(self) -> None:
        self.show_state(host(self).state)

    def run(self) -> ActionRun | None:
        fleet = host(self).state.fleet
        run = fleet.action if fleet is not None else None
        return run if run is not None and run.run_id == self.run_id else None

    def show_state(self, state: ConsoleState) -> None:
        run = self.run()
        if run is None:
            return
        devices = f"{len(run.devices)} device{'s' * (len(run.devices) != 1)}"
        self.query_one("#title", LiveText).set(f"Fleet · {run.action} on {devices}: {DESCRIPTIONS[run.action]}")
        plan_box, prompt = self.query_one("#action-plan", LiveText), self.query_one("#action-prompt", LiveText)
        if run.error:
            plan_box.set(f"could not be planned: {run.error}")
            prompt.set("Esc: close")
            return
        if run.plan is None:
            plan_box.set("planning… (a launch reads each device's L4T over SSH)")
            return
        lines = [f"{s.device}: {s.shown}" + (f"   # {s.note}" if s.note else "") for s in run.plan.steps]
        lines += [f"{name}: refused: {why}" for name, why in run.plan.refused]
        plan_box.set("\n".join(lines) or "nothing to run")
        if run.declined:
            prompt.set("not run (the audit log says so) · Esc: close")
        elif not run.started:
            count = len(run.plan.steps)
            prompt.set(f"y: run it on {count} device{'s' * (count != 1)}   n / Esc: cancel" if count else "Esc: close")
        else:
            done = {o.device: o for o in run.outcomes}
            rows = [
                (name, [name, _result(done[name]) if name in done else run.progress.get(name, "waiting")])
                for name in [*(s.device for s in run.plan.steps), *(n for n, _ in run.plan.refused)]
            ]
            sync_rows(self.query_one(DataTable), rows)
            good = sum(o.ok for o in run.outcomes)
            total = len(rows)
            prompt.set(
                f"{good}/{total} done" + ("" if run.finished else " · running… (Esc closes this view; it goes on)")
            )

    def action_run(self) -> None:
        run = self.run()
        if run is not None and run.plan is not None and run.plan.steps and not run.started and not run.declined:
            host(self).send(RunFleetAction(self.run_id))

    def action_close(self) -> None:
        run = self.run()
        if run is not None and run.plan is not None and not run.started and not run.declined:
            host(self).send(DeclineFleetAction(self.run_id))
        self.app.pop_screen()


def _result(outcome: Outcome) -> Text:
    """An outcome's summary, in red when the device did not do it."""
    return Text(outcome.summary, style="" if outcome.ok else "bold red")
