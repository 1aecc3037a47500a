"""A new cluster plan: the head and the worker (devices of the fleet's hosts file with ``ssh=``, listed), the
interface each talks over (what a named device offers is read over SSH and shown: its interfaces that are
up, with their IPs and MTU), and a preset, with the image, the model and the mode if not the preset's.
Ctrl+S keeps the plan and runs the preflight on both nodes (the Cluster screen shows its checks; ``u``
then brings it up).  Each node's IP is read from its interface over SSH."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.cluster.planning import PlanRequest
from console.cluster.presets import BUILTIN
from console.keymap import CLUSTER_FORM_BINDINGS
from console.runtime.commands import OfferCluster, RunCluster
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.text import LiveText

FIELDS = (  # (key, label, placeholder)
    ("head", "head device", "a name from the hosts file"),
    ("head_if", "head interface", "the NIC towards the worker (eth1, enP8p1s0)"),
    ("worker", "worker device", "a name from the hosts file"),
    ("worker_if", "worker interface", "the NIC towards the head"),
    ("preset", "preset", ", ".join(BUILTIN)),
    ("image", "image", "(the preset's)"),
    ("model", "model", "(the preset's)"),
    ("mode", "mode", "ray or nnodes (the preset's)"),
)
REQUIRED = ("head", "head_if", "worker", "worker_if")


class ClusterFormScreen(ModalScreen[None]):
    BINDINGS = bindings(CLUSTER_FORM_BINDINGS)
    DEFAULT_CSS = """
    ClusterFormScreen > Vertical { width: 90; height: auto; border: round $accent; padding: 0 1; }
    ClusterFormScreen Input { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New cluster plan", classes="table-title")
            yield LiveText("reading the hosts file…", id="form-devices")
            for key, label, placeholder in FIELDS:
                yield Label(label)
                yield Input(value="orin-gpt-oss-20b" if key == "preset" else "", placeholder=placeholder, id=key)
                if key in ("head", "worker"):
                    yield LiveText("", id=f"{key}-offers")
            yield LiveText("", id="form-error")
            yield Label("Ctrl+S: keep the plan and run the preflight on both nodes    Esc: cancel")

    def on_mount(self) -> None:
        self.query_one("#head", Input).focus()
        host(self).send(OfferCluster())
        self.show_state(host(self).state)

    def on_input_changed(self, event: Input.Changed) -> None:
        """A device named in full: what it offers, read over SSH."""
        cluster = host(self).state.cluster
        if event.input.id in ("head", "worker") and cluster is not None and event.value.strip() in cluster.devices:
            read, _ = cluster.offers.get(event.value.strip(), (False, ""))
            if not read:  # not asked yet, or it could not be read then: ask (again)
                host(self).send(OfferCluster((event.value.strip(),)))
            self.show_state(host(self).state)

    def show_state(self, state: ConsoleState) -> None:
        cluster = state.cluster
        if cluster is None:
            return
        devices = ", ".join(cluster.devices) or cluster.devices_note or "none with ssh= in the hosts file"
        self.query_one("#form-devices", LiveText).set(f"devices: {devices}")
        for key in ("head", "worker"):
            name = self._value(key)
            said = cluster.offers.get(name, (False, "reading its interfaces…"))[1] if name in cluster.devices else ""
            self.query_one(f"#{key}-offers", LiveText).set(f"  {name} offers: {said}" if said else "")

    def _value(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def action_submit(self) -> None:
        missing = [label for key, label, _ in FIELDS if key in REQUIRED and not self._value(key)]
        preset, mode = self._value("preset") or "orin-gpt-oss-20b", self._value("mode")
        problems = [f"{', '.join(missing)}: needed"] if missing else []
        if preset not in BUILTIN:
            problems.append(f"preset {preset!r}: one of {', '.join(BUILTIN)}")
        if mode not in ("", "ray", "nnodes"):
            problems.append(f"mode {mode!r}: ray or nnodes")
        if problems:
            self.query_one("#form-error", LiveText).set("; ".join(problems))
            return
        request = PlanRequest(
            head=self._value("head"),
            worker=self._value("worker"),
            head_if=self._value("head_if"),
            worker_if=self._value("worker_if"),
            preset=preset,
            image=self._value("image") or None,
            model=self._value("model") or None,
            mode=mode or None,
        )
        host(self).send(RunCluster("preflight", request=request))
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
