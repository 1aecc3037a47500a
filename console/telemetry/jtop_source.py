"""Jetson telemetry from the jtop service (jetson-stats) over /run/jtop.sock.

``jtop_reading`` copies what the client holds into plain dicts; ``snapshot_from_jtop``
maps those dicts to a snapshot and is pure, so it is unit-tested on recorded readings
(Orin and Thor shapes).  Every string it keeps (board, CPU and GPU names, governors, sensor
and rail names, process names and users, the hostname) is cleaned there.
jtop units: memory kB, frequencies kHz, power mW/mV/mA.

One connection per process: ``open_client`` is the only place a jtop client is made, and while a
``JtopSource`` is open (the runtime's telemetry) ``live_source`` hands it out, so the doctor, the power
switches and the bench borrow its client (``JtopSource.borrow``) instead of opening their own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from console.runtime.sanitise import clean
from console.telemetry.model import (
    Board,
    Cpu,
    CpuCore,
    Emc,
    Fan,
    Gpu,
    GpuProcess,
    Memory,
    Power,
    PowerMode,
    PowerRail,
    TelemetrySnapshot,
    TempSensor,
)
from console.telemetry.source import SourceUnavailable

JTOP_SOCKET = "/run/jtop.sock"
KIB = 1024
INSTALL_HINT = "on a Jetson: sudo pip3 install jetson-stats && sudo systemctl restart jtop.service"
GROUP_HINT = "add your user to the jtop group (sudo usermod -aG jtop $USER)"


def _text(value: Any) -> str | None:
    """A string jtop reports (read from the board, the kernel or a process), cleaned; None stays None."""
    return None if value is None else clean(str(value))


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _mhz(khz: Any) -> float | None:
    return float(khz) / 1000 if isinstance(khz, (int, float)) and khz > 0 else None


def _busy(times: dict[str, Any]) -> float | None:
    """jtop gives user/nice/system/idle percentages; busy is the first three."""
    parts = [times.get(k) for k in ("user", "nice", "system")]
    if not any(isinstance(p, (int, float)) for p in parts):
        return None
    return float(sum(p for p in parts if isinstance(p, (int, float))))


def _cpu(data: dict[str, Any]) -> Cpu | None:
    cores = []
    for index, core in enumerate(data.get("cpu", [])):
        online = bool(core.get("online", True))
        freq = core.get("freq") or {}
        cores.append(
            CpuCore(
                index=index,
                load=_busy(core) if online else None,
                freq_mhz=_mhz(freq.get("cur")) if online else None,
                max_freq_mhz=_mhz(freq.get("max")),
                governor=_text(core.get("governor")),
                online=online,
            )
        )
    load = _busy(data.get("total") or {})
    model = next((c.get("model") for c in data.get("cpu", []) if c.get("model")), None)
    return Cpu(load=load, cores=tuple(cores), model=_text(model)) if cores or load is not None else None


def _gpus(data: dict[str, Any]) -> tuple[Gpu, ...]:
    gpus = []
    for name, gpu in data.items():
        status = gpu.get("status") or {}
        freq = gpu.get("freq") or {}
        gpus.append(
            Gpu(
                name=clean(str(name)),
                load=_num(status.get("load")),
                freq_mhz=_mhz(freq.get("cur")),
                max_freq_mhz=_mhz(freq.get("max")),
                unified=gpu.get("type", "integrated") == "integrated",
                governor=_text(freq.get("governor")),
            )
        )
    return tuple(gpus)


def _memory(data: dict[str, Any]) -> Memory | None:
    ram = data.get("RAM")
    if not ram:
        return None
    swap = data.get("SWAP") or {}
    total = int(ram.get("tot", 0)) * KIB
    used = int(ram.get("used", 0)) * KIB
    cached = ram.get("cached")
    return Memory(
        total=total,
        used=used,
        available=max(0, total - used),
        cached=int(cached) * KIB if cached is not None else None,
        buffers=int(ram["buffers"]) * KIB if "buffers" in ram else None,
        gpu_shared=int(ram["shared"]) * KIB if ram.get("shared") else None,
        swap_total=int(swap.get("tot", 0)) * KIB,
        swap_used=int(swap.get("used", 0)) * KIB,
        swap_cached=int(swap["cached"]) * KIB if "cached" in swap else None,
    )


def _emc(data: dict[str, Any]) -> Emc | None:
    emc = data.get("EMC")
    if not emc or not emc.get("online", True):
        return None
    return Emc(load=emc.get("val"), freq_mhz=_mhz(emc.get("cur")), max_freq_mhz=_mhz(emc.get("max")))


def _rail(name: str, rail: dict[str, Any]) -> PowerRail:
    def unit(key: str) -> float | None:
        value = rail.get(key)
        return value / 1000 if isinstance(value, (int, float)) else None

    return PowerRail(
        name=clean(str(name)),
        watts=(unit("power") or 0.0),
        volts=unit("volt"),
        amps=unit("curr"),
        avg_watts=unit("avg"),
        warn_amps=unit("warn"),
        crit_amps=unit("crit"),
    )


def _power(data: dict[str, Any]) -> Power | None:
    if not data:
        return None
    rails = tuple(_rail(n, r) for n, r in sorted((data.get("rail") or {}).items()) if r.get("online", True))
    tot = data.get("tot") or {}
    total = tot.get("power")
    return Power(
        total_w=total / 1000 if isinstance(total, (int, float)) else None,
        avg_w=tot["avg"] / 1000 if isinstance(tot.get("avg"), (int, float)) else None,
        rails=rails,
    )


def _temps(data: dict[str, Any]) -> tuple[TempSensor, ...]:
    temps = []
    for name, sensor in data.items():
        if not sensor.get("online", True) or sensor.get("temp", -256) <= -256:
            continue
        temps.append(
            TempSensor(
                name=clean(str(name)),
                celsius=float(sensor["temp"]),
                max_c=_num(sensor.get("max")),
                crit_c=_num(sensor.get("crit")),
            )
        )
    return tuple(temps)


def _fans(data: dict[str, Any]) -> tuple[Fan, ...]:
    fans = []
    for name, fan in data.items():
        speed, rpm = fan.get("speed") or [], fan.get("rpm") or []
        fans.append(
            Fan(
                name=clean(str(name)),
                speed_pct=_num(speed[0]) if speed else None,
                rpm=int(rpm[0]) if rpm else None,
                profile=_text(fan.get("profile")),
            )
        )
    return tuple(fans)


def _processes(rows: list[list[Any]]) -> tuple[GpuProcess, ...]:
    # jtop rows: pid, user, gpu, type, priority, state, cpu%, rss kB, gpu mem kB, name
    procs = []
    for row in rows:
        if len(row) < 10:
            continue
        procs.append(
            GpuProcess(
                pid=int(row[0]),
                user=_text(row[1]),
                gpu=_text(row[2]),
                cpu_pct=_num(row[6]),
                rss=int(row[7]) * KIB,
                gpu_mem=int(row[8]) * KIB,
                name=clean(str(row[9])),
            )
        )
    return tuple(sorted(procs, key=lambda p: -(p.gpu_mem or 0)))


def _board(data: dict[str, Any]) -> Board:
    hw = data.get("hardware") or {}
    libs = data.get("libraries") or {}
    plat = data.get("platform") or {}
    return Board(
        model=_text(hw.get("Model")),
        module=_text(hw.get("Module")),
        soc=_text(hw.get("SoC")),
        l4t=_text(hw.get("L4T")),
        jetpack=_text(hw.get("Jetpack")),
        cuda=_text(libs.get("CUDA") or None),
        kernel=_text(plat.get("Release")),
        hostname=_text(data.get("hostname")),
    )


def _power_mode(nvp: dict[str, Any]) -> PowerMode:
    mode_id = nvp.get("id")
    return PowerMode(
        name=clean(str(nvp["name"])),
        id=mode_id if isinstance(mode_id, int) and not isinstance(mode_id, bool) else None,
        modes=tuple(clean(str(m)) for m in nvp.get("models", ())),
    )


def snapshot_from_jtop(reading: dict[str, Any], now: float | None = None) -> TelemetrySnapshot:
    """Map one jtop reading (plain dicts, see ``jtop_reading``) to a snapshot."""
    nvp = reading.get("nvpmodel")
    uptime = reading.get("uptime")
    return TelemetrySnapshot(
        time=now if now is not None else time.time(),
        sources=("jtop",),
        cpu=_cpu(reading.get("cpu") or {}),
        memory=_memory(reading.get("memory") or {}),
        gpus=_gpus(reading.get("gpu") or {}),
        emc=_emc(reading.get("memory") or {}),
        power=_power(reading.get("power") or {}),
        temps=_temps(reading.get("temperature") or {}),
        fans=_fans(reading.get("fan") or {}),
        power_mode=_power_mode(nvp) if nvp else None,
        jetson_clocks=reading.get("jetson_clocks"),
        board=_board(reading.get("board") or {}),
        processes=_processes(reading.get("processes") or []),
        uptime_s=uptime,
    )


def jtop_reading(j: Any) -> dict[str, Any]:
    """Copy the live jtop client's state into plain dicts (the service may change it)."""
    nvp = j.nvpmodel
    jc = j.jetson_clocks
    uptime = j.uptime
    board = dict(j.board)
    board["hostname"] = (j.local_interfaces or {}).get("hostname")
    return {
        "cpu": j.cpu,
        "gpu": dict(j.gpu),
        "memory": dict(j.memory),
        "power": j.power,
        "temperature": j.temperature,
        "fan": dict(j.fan) if j.fan else {},
        "nvpmodel": {"name": nvp.name, "id": nvp.id, "models": list(nvp.models)} if nvp is not None else None,
        "jetson_clocks": bool(jc) if jc is not None else None,
        "board": board,
        "processes": j.processes,
        "uptime": uptime.total_seconds() if uptime is not None else None,
    }


class NoJtopService(SourceUnavailable):
    """No jtop service to ask here (no socket, jetson-stats not importable): not a Jetson, rather than
    a broken service."""


def open_client(
    interval: float = 1.0, socket_path: str | None = JTOP_SOCKET, factory: Callable[[], Any] | None = None
) -> Any:
    """The one way jetconsole connects to the jtop service: a started client that the caller closes.

    ``socket_path`` None: do not look for the socket; ``factory`` makes the client (tests hand in fakes).
    Raises ``NoJtopService`` where there is none, ``SourceUnavailable`` where it refuses.
    """
    if socket_path and not os.path.exists(socket_path):
        raise NoJtopService(
            f"no jtop service ({socket_path} missing): not a Jetson, or jetson-stats is not installed", INSTALL_HINT
        )
    if factory is None:
        try:
            from jtop import jtop  # deferred: only Jetsons pay for the import
        except ImportError as exc:  # pragma: no cover - jetson-stats is a dependency
            raise NoJtopService(f"jetson-stats not importable: {exc}", "pip install jetson-stats") from exc

        def factory() -> Any:
            return jtop(interval=interval)

    client = factory()
    try:
        try:
            client.start()
        except (BrokenPipeError, ConnectionResetError, EOFError):
            # the service restarted since this thread last talked to it: multiprocessing keeps one
            # connection per address and thread and reuses the dead one; drop it and try once more
            _drop_stale_connection(socket_path or JTOP_SOCKET)
            client = factory()
            client.start()
    except Exception as exc:  # jtop raises JtopException for permissions, version skew
        raise SourceUnavailable(f"jtop service refused the connection: {exc}", GROUP_HINT) from exc
    return client


def _drop_stale_connection(address: str) -> None:
    from multiprocessing.managers import BaseProxy

    tls = BaseProxy._address_to_local.get(address, (None,))[0]
    conn = getattr(tls, "connection", None)
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass
        del tls.connection


_live: dict[str, JtopSource] = {}  # socket path -> the open source of this process
_live_lock = threading.Lock()


def live_source(socket_path: str | None = JTOP_SOCKET) -> JtopSource | None:
    """The open ``JtopSource`` of this process for ``socket_path`` (the runtime's), else None."""
    with _live_lock:
        return _live.get(socket_path or JTOP_SOCKET)


class JtopSource:
    """Reads the jtop service; ``sample()`` blocks until jtop publishes the next reading.

    While open it is the process's one jtop connection: ``borrow()`` lends its client to actions.
    """

    name = "jtop"
    paced = True

    def __init__(
        self, interval: float = 1.0, socket_path: str = JTOP_SOCKET, factory: Callable[[], Any] | None = None
    ) -> None:
        self.interval = interval
        self.socket_path = socket_path
        self.factory = factory  # makes the client (tests hand in fakes); None: jetson-stats' jtop
        self._jtop: Any = None
        self._fresh = False
        self._readings = 0  # readings sampled so far: what a borrower's ``ok()`` waits on
        self._tick = threading.Condition()

    def open(self) -> None:
        self._jtop = open_client(self.interval, self.socket_path, self.factory)
        self._fresh = True
        with _live_lock:
            _live[self.socket_path] = self

    def sample(self) -> TelemetrySnapshot:
        if self._jtop is None:
            raise RuntimeError("jtop source not open")
        # start() already waited for a first reading: use it at once, then wait for each next one
        if not self._jtop.ok(spin=self._fresh):
            raise ConnectionError("jtop service stopped")
        self._fresh = False
        snapshot = snapshot_from_jtop(jtop_reading(self._jtop))
        with self._tick:
            self._readings += 1
            self._tick.notify_all()
        return snapshot

    def close(self) -> None:
        with _live_lock:
            if _live.get(self.socket_path) is self:
                del _live[self.socket_path]
        client, self._jtop = self._jtop, None
        with self._tick:
            self._tick.notify_all()  # a borrower waiting for a reading gives up now
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a dead connection; nothing to recover
                pass

    @property
    def client(self) -> Any:
        """The live jtop client (None when closed)."""
        return self._jtop

    def next_reading(self, timeout: float) -> bool:
        """Wait until this source samples its next reading; False on timeout or when it closed."""
        with self._tick:
            seen = self._readings
            return self._tick.wait_for(lambda: self._readings != seen or self._jtop is None, timeout) and (
                self._jtop is not None
            )

    def borrow(self) -> Borrowed | None:
        """The client for one action (read the power mode, switch it), never closed by the borrower; None
        when the source is closed."""
        return Borrowed(self) if self._jtop is not None else None


class Borrowed:
    """The runtime's jtop client seen by an action: reads and writes go to the live client; ``ok()``
    waits for the runtime's next reading instead of taking jtop's own tick from its poller."""

    TIMEOUT_GAIN = 3.0  # jtop's own: ok() gives up after three intervals without a reading

    def __init__(self, source: JtopSource) -> None:
        self._source = source

    @property
    def _client(self) -> Any:
        client = self._source.client
        if client is None:
            raise ConnectionError("jtop service stopped")
        return client

    def ok(self, spin: bool = False) -> bool:
        return spin or self._source.next_reading(max(1.0, self._source.interval) * self.TIMEOUT_GAIN)

    @property
    def nvpmodel(self) -> Any:
        return self._client.nvpmodel

    @nvpmodel.setter
    def nvpmodel(self, value: Any) -> None:
        self._client.nvpmodel = value

    @property
    def jetson_clocks(self) -> Any:
        return self._client.jetson_clocks

    @jetson_clocks.setter
    def jetson_clocks(self, value: Any) -> None:
        self._client.jetson_clocks = value

    @property
    def board(self) -> Any:
        return self._client.board

    @property
    def memory(self) -> Any:
        return self._client.memory
