"""Power check and switches on a fake jtop client that behaves like jetson-stats 7.2.2's service."""

from __future__ import annotations

import argparse
import time
from typing import Any

import pytest

from console.doctor import power
from console.doctor.check import OK, SKIP, WARN
from console.doctor.power import (
    PowerError,
    PowerState,
    change_clocks,
    change_mode,
    check_power,
    judge,
    max_mode,
    power_command,
    resolve_mode,
)

ORIN = ("MAXN", "MODE_15W", "MODE_30W", "MODE_50W")


class FakeNvp:
    def __init__(self, svc: FakeJtop) -> None:
        self.svc = svc

    name = property(lambda self: self.svc.models[self.svc.mode])
    id = property(lambda self: self.svc.mode)
    models = property(lambda self: list(self.svc.models))
    status = property(lambda self: list(self.svc.status))

    def get_default(self) -> dict[str, Any]:
        return {"name": self.svc.models[2], "id": 2}

    def is_running(self) -> bool:
        return self.svc.busy > 0


class FakeJc:
    def __init__(self, svc: FakeJtop) -> None:
        self.svc = svc

    def __bool__(self) -> bool:
        return self.svc.clocks

    status = property(lambda self: "running" if self.svc.clocks else self.svc.clocks_thread)

    def is_config(self) -> bool:
        return self.svc.config


class FakeJtop:
    """The service side in one object: requests take effect on the next ``ok()`` tick.

    ``masks``: modes whose GPU power gating differs (jtop marks them False at start and refuses
    them unless forced).  ``reboot``: modes nvpmodel refuses without a reboot (NVPM ERROR).
    """

    def __init__(
        self,
        models: tuple[str, ...] = ORIN,
        mode: int = 0,
        clocks: bool | None = False,
        masks: tuple[int, ...] = (),
        reboot: tuple[int, ...] = (),
        config: bool = True,
        clocks_thread: str = "inactive",
        fail_start: Exception | None = None,
    ) -> None:
        self.models, self.mode, self.clocks, self.config = models, mode, clocks, config
        self.status = [i not in masks for i in range(len(models))]
        self.masks, self.reboot, self.clocks_thread = masks, reboot, clocks_thread
        self.busy, self.pending_mode, self.pending_clocks = 0, None, None
        self.fail_start, self.started, self.closed = fail_start, False, False
        self.nvpmodel_calls: list[int] = []
        self.board = {"hardware": {"Model": "Fake Orin"}}

    def start(self) -> None:
        if self.fail_start:
            raise self.fail_start
        self.started = True

    def close(self) -> None:
        self.closed = True

    def ok(self) -> bool:
        time.sleep(0.001)
        if self.pending_mode is not None and not self.busy:
            target, self.pending_mode = self.pending_mode, None
            if target not in self.masks:  # jtop's service refuses a different mask without force
                self.nvpmodel_calls.append(target)
                self.busy = 2
                self.status[target] = target not in self.reboot
                if target not in self.reboot:
                    self.mode = target
        elif self.busy:
            self.busy -= 1
        if self.pending_clocks is not None:
            self.clocks, self.pending_clocks = self.pending_clocks, None
        return True

    @property
    def nvpmodel(self) -> FakeNvp | None:
        return FakeNvp(self) if self.models else None

    @nvpmodel.setter
    def nvpmodel(self, value: int | str) -> None:
        target = value if isinstance(value, int) else self.models.index(value)
        if target != self.mode:
            self.pending_mode = target

    @property
    def jetson_clocks(self) -> FakeJc | None:
        return FakeJc(self) if self.clocks is not None else None

    @jetson_clocks.setter
    def jetson_clocks(self, value: bool) -> None:
        if not self.config and not value:
            raise RuntimeError("I cannot set jetson_clocks.\nPlease shutdown manually jetson_clocks")
        self.pending_clocks = value


def state(mode: str | None = "MAXN", clocks: bool | None = True, **kw: Any) -> PowerState:
    modes = kw.pop("modes", ORIN)
    return PowerState(
        mode=mode,
        mode_id=modes.index(mode) if mode else None,
        modes=modes if mode else (),
        clocks=clocks,
        mode_ok=kw.pop("mode_ok", (True,) * len(modes)),
        **kw,
    )


def test_max_mode_per_board() -> None:
    assert max_mode(ORIN) == "MAXN"
    assert max_mode(("MAXN", "120W", "90W", "70W")) == "MAXN"  # Thor
    assert max_mode(("15W", "25W", "MAXN_SUPER", "7W")) == "MAXN_SUPER"  # Orin Nano Super
    assert max_mode(("MODE_10W", "MODE_20W", "MODE_15W")) == "MODE_20W"
    assert max_mode(("A", "B")) == "A"
    assert max_mode(()) is None


def test_resolve_mode_by_name_or_id() -> None:
    s = state()
    assert resolve_mode(s, "mode_30w") == (2, "MODE_30W")
    assert resolve_mode(s, "3") == (3, "MODE_50W")
    assert resolve_mode(s, 0) == (0, "MAXN")
    with pytest.raises(PowerError, match="0 MAXN, 1 MODE_15W"):
        resolve_mode(s, "TURBO")
    with pytest.raises(PowerError):
        resolve_mode(s, "9")
    with pytest.raises(PowerError, match="no nvpmodel"):
        resolve_mode(state(mode=None), "MAXN")


def test_judge_ok_at_max_with_clocks() -> None:
    c = judge(state("MAXN", True))
    assert c.id == "power" and c.status == OK
    assert c.evidence[0].startswith("nvpmodel MAXN (id 0); modes: 0 MAXN, 1 MODE_15W")
    assert judge(state("MAXN", None)).status == OK  # no jetson_clocks binary: the mode is all there is


def test_judge_warns_below_max_and_names_the_command() -> None:
    c = judge(state("MODE_30W", True))
    assert c.status == WARN
    assert c.fix.startswith("jetconsole doctor --power-mode MAXN (nvpmodel may still ask for a reboot")
    assert "--clocks" not in c.fix
    c = judge(state("MODE_30W", False))
    assert c.fix.startswith("jetconsole doctor --power-mode MAXN --clocks on")
    c = judge(state("MAXN", False))
    assert c.status == WARN and c.fix == "jetconsole doctor --clocks on"
    assert "jetson_clocks off" in c.evidence


def test_judge_reboot_marked_modes() -> None:
    c = judge(state("MODE_30W", True, mode_ok=(False, True, True, True)))
    assert "jtop marks MAXN as needing a reboot" in " ".join(c.evidence)
    assert "sudo nvpmodel -m 0 and answer YES" in c.fix and "never reboots" in c.fix
    c = judge(state("MAXN", True, mode_ok=(True, True, False, True)))
    assert c.status == OK and "MODE_30W as needing a reboot" in c.evidence[-1]


def test_judge_skip_and_uncontrolled() -> None:
    assert judge(PowerState()).status == SKIP
    c = judge(state("MAXN", False, clocks_status="uncontrolled"))
    assert "jetson_clocks off (uncontrolled)" in c.evidence and "cannot control" in c.fix


def test_check_skips_without_a_jtop_socket(tmp_path) -> None:
    c = check_power(socket_path=str(tmp_path / "jtop.sock"))
    assert c.status == SKIP and "no jtop service" in c.evidence[0] and "not a Jetson" in c.evidence[0]


def test_check_warns_when_the_service_refuses() -> None:
    fake = FakeJtop(fail_start=PermissionError("[Errno 13] Permission denied"))
    c = check_power(lambda: fake, socket_path=None)
    assert c.status == WARN and "refused the connection" in c.evidence[0] and "jtop group" in c.fix


def test_check_reads_through_the_client() -> None:
    fake = FakeJtop(mode=2, clocks=False)
    c = check_power(lambda: fake, socket_path=None)
    assert c.status == WARN and fake.started and fake.closed
    assert c.fix.startswith("jetconsole doctor --power-mode MAXN --clocks on")


def test_change_mode_live() -> None:
    fake = FakeJtop(mode=2)
    r = change_mode(fake, "MAXN", timeout=5)
    assert r.ok and not r.reboot_needed and r.before.mode == "MODE_30W" and r.after.mode == "MAXN"
    assert fake.nvpmodel_calls == [0]
    assert change_mode(fake, "0").message == "already MAXN"


def test_change_mode_refused_by_nvpmodel_needs_a_reboot() -> None:
    fake = FakeJtop(mode=0, reboot=(2,))
    r = change_mode(fake, "MODE_30W", timeout=5)
    assert not r.ok and r.reboot_needed and r.after.mode == "MAXN"
    assert "nvpmodel refused it without a reboot" in r.message and "sudo nvpmodel -m 2" in r.message
    assert "jtop marks MODE_30W as needing a reboot" in " ".join(judge(r.after).evidence)


def test_change_mode_predicted_by_jtop_returns_after_settling(monkeypatch) -> None:
    monkeypatch.setattr(power, "SETTLE_S", 0.05)
    fake = FakeJtop(mode=2, masks=(0,))
    began = time.monotonic()
    r = change_mode(fake, "MAXN", timeout=10)
    assert time.monotonic() - began < 2
    assert not r.ok and r.reboot_needed and "before the attempt" in r.message
    assert fake.nvpmodel_calls == []  # jtop's service refused it: nvpmodel never ran


def test_change_mode_times_out_without_an_answer() -> None:
    fake = FakeJtop(mode=2)
    fake.ok = lambda: True  # type: ignore[method-assign]  # a service that never acts
    r = change_mode(fake, "MAXN", timeout=0.2)
    assert not r.ok and not r.reboot_needed and "did not report" in r.message


def test_change_clocks() -> None:
    fake = FakeJtop(clocks=False)
    r = change_clocks(fake, True, timeout=5)
    assert r.ok and r.after.clocks is True
    assert change_clocks(fake, True).message == "already on"
    r = change_clocks(fake, False, timeout=5)
    assert r.ok and r.after.clocks is False


def test_change_clocks_off_without_a_stored_config() -> None:
    fake = FakeJtop(clocks=True, config=False, clocks_thread="uncontrolled")
    r = change_clocks(fake, False, timeout=1)
    assert not r.ok and "no stored clock config" in r.message and fake.clocks is True
    with pytest.raises(PowerError, match="not available"):
        change_clocks(FakeJtop(clocks=None), True)


def args(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"power_mode": None, "clocks": None, "yes": False, "dry_run": False, **kw})


class Audit(list):
    def __call__(self, event: str, data: dict[str, Any]) -> None:
        self.append((event, data))


def test_command_dry_run_changes_nothing(capsys) -> None:
    fake, audit = FakeJtop(mode=2), Audit()
    rc = power_command(args(power_mode="MAXN", clocks="on", dry_run=True), lambda: fake, None, audit=audit)
    out = capsys.readouterr().out
    assert rc == 1 and fake.mode == 2 and fake.clocks is False and audit == []
    assert "plan: (dry run, nothing done)" in out and "set nvpmodel MODE_30W -> MAXN (id 0)" in out
    assert "switch jetson_clocks on" in out


def test_command_asks_and_declines(capsys) -> None:
    fake, audit = FakeJtop(mode=2), Audit()
    rc = power_command(args(power_mode="MAXN"), lambda: fake, None, ask=lambda _t, _q: False, audit=audit)
    assert rc == 1 and fake.mode == 2 and "nothing changed" in capsys.readouterr().out
    assert audit == [("power.confirm", {"plan": ["set nvpmodel MODE_30W -> MAXN (id 0)"], "confirmed": False})]


def test_command_applies_and_prints_before_after(capsys) -> None:
    fake, audit = FakeJtop(mode=2), Audit()
    rc = power_command(args(power_mode="0", clocks="on"), lambda: fake, None, ask=lambda _t, _q: True, audit=audit)
    out = capsys.readouterr().out
    assert rc == 0 and fake.mode == 0 and fake.clocks is True
    assert "before: nvpmodel MODE_30W (id 2), jetson_clocks off" in out
    assert "after:  nvpmodel MAXN (id 0), jetson_clocks on" in out
    assert [e for e, _ in audit] == ["power.confirm", "power.mode", "power.clocks"]
    assert audit[1][1]["to"] == "MAXN" and audit[1][1]["ok"] is True


def test_command_reports_a_needed_reboot(capsys) -> None:
    fake, audit = FakeJtop(mode=0, reboot=(2,)), Audit()
    rc = power_command(args(power_mode="MODE_30W", yes=True), lambda: fake, None, audit=audit)
    captured = capsys.readouterr()
    assert rc == 1 and fake.mode == 0
    assert "REBOOT NEEDED" in captured.out and "nothing was rebooted" in captured.err
    assert audit[-1][1]["reboot_needed"] is True


def test_command_refusals(capsys, tmp_path) -> None:
    assert power_command(args(), lambda: FakeJtop(), None, audit=Audit()) == 2
    assert power_command(args(power_mode="TURBO", yes=True), lambda: FakeJtop(), None, audit=Audit()) == 2
    assert power_command(args(clocks="on", yes=True), lambda: FakeJtop(clocks=None), None, audit=Audit()) == 2
    assert power_command(args(clocks="on"), socket_path=str(tmp_path / "none.sock"), audit=Audit()) == 2
    assert "no jtop service" in capsys.readouterr().err
    assert power_command(args(power_mode="MAXN", clocks="off"), lambda: FakeJtop(), None, audit=Audit()) == 0


def test_connect_retries_once_after_a_service_restart() -> None:
    """multiprocessing reuses a dead per-thread connection after the service restarts: one retry."""
    made: list[FakeJtop] = []

    def factory() -> FakeJtop:
        made.append(FakeJtop(fail_start=None if made else BrokenPipeError(32, "Broken pipe")))
        return made[-1]

    assert check_power(factory, socket_path=None).fix == "jetconsole doctor --clocks on"
    assert len(made) == 2 and made[1].started and made[1].closed


# ---- one connection per process: the runtime's jtop source lends its client --------------------------------


class LiveFake(FakeJtop):
    """A FakeJtop that a ``JtopSource`` can sample (the reading's other fields empty)."""

    cpu: dict[str, Any] = {}
    gpu: dict[str, Any] = {}
    memory: dict[str, Any] = {"RAM": {"tot": 1024, "used": 512, "shared": 256}}
    power: dict[str, Any] = {}
    temperature: dict[str, Any] = {}
    fan: dict[str, Any] = {}
    local_interfaces: dict[str, Any] = {}
    processes: list[Any] = []
    uptime = None

    def ok(self, spin: bool = False) -> bool:  # type: ignore[override]
        return super().ok()


def test_checks_and_switches_borrow_the_open_source_instead_of_connecting(tmp_path) -> None:
    """While the runtime's jtop source is open, the power check, a mode switch and jtop_shared go through its
    client: no second client is made, the lent one is never closed, and ``ok()`` waits for the source's own
    readings (the poller keeps jtop's tick).  Once it closes, a caller connects on its own again."""
    import threading

    from console.doctor.memory import jtop_shared
    from console.doctor.power import set_mode
    from console.telemetry.jtop_source import JtopSource, live_source

    sock = tmp_path / "jtop.sock"
    sock.touch()
    made: list[LiveFake] = []

    def factory() -> LiveFake:
        made.append(LiveFake(mode=2))
        return made[-1]

    source = JtopSource(interval=0.01, socket_path=str(sock), factory=factory)
    source.open()
    stop = threading.Event()

    def poll() -> None:  # the runtime's polling service, reduced to its loop
        while not stop.is_set():
            source.sample()

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        assert live_source(str(sock)) is source
        c = check_power(socket_path=str(sock))
        assert c.status == WARN and "nvpmodel MODE_30W (id 2)" in c.evidence[0]
        r = set_mode("MAXN", socket_path=str(sock), timeout=5)
        assert r.ok and r.after.mode == "MAXN" and made[0].nvpmodel_calls == [0]
        assert jtop_shared(str(sock)) == 256 * 1024
        assert len(made) == 1 and not made[0].closed
    finally:
        stop.set()
        poller.join(5)
        source.close()
    assert made[0].closed and live_source(str(sock)) is None
    # no source open: a connection of its own (made here by a factory that refuses, as a dead service
    # would: jtop's own client always dials /run/jtop.sock, where a real or emulated service may listen)
    refused: list[int] = []

    class Refusing:
        def start(self) -> None:
            refused.append(1)
            raise ConnectionRefusedError(111, "Connection refused")

    c = check_power(factory=Refusing, socket_path=str(sock))
    assert c.status == WARN and "refused the connection" in c.evidence[0]
    assert refused == [1] and len(made) == 1  # its own connection, not the closed source's client
