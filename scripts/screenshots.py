"""Regenerate screenshots/ from the real app with fixed data (the recorded Orin reading).

/opt/jetconsole/bin/python scripts/screenshots.py     (or .venv/bin/python)
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.config import Config  # noqa: E402
from console.runtime import events as ev  # noqa: E402
from console.telemetry.jtop_source import snapshot_from_jtop  # noqa: E402
from tests.app.helpers import feed, frozen_app, ramp  # noqa: E402
from tests.app.test_snapshots import PLAIN_REPORT, REPORT  # noqa: E402
from tests.conftest import orin_reading  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(name: str, app, size: tuple[int, int], keys: tuple[str, ...] = ()) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)
        (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
    print(f"wrote screenshots/{name}.svg")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    orin = snapshot_from_jtop(orin_reading(), now=1_800_000_000.0)
    series = ramp(orin)
    host = dataclasses.replace(
        orin,
        sources=("procfs",),
        gpus=(),
        emc=None,
        power=None,
        fans=(),
        power_mode=None,
        processes=(),
        board=dataclasses.replace(orin.board, model=None, l4t=None, jetpack=None, cuda=None, soc=None),
    )
    await shoot("dashboard-120x40", frozen_app(series, REPORT), (120, 40))
    await shoot("dashboard-80x24", frozen_app(series, REPORT), (80, 24))
    await shoot("plain-box-80x24", frozen_app([host], PLAIN_REPORT), (80, 24), ("tab", "tab"))
    await shoot("telemetry-120x40", frozen_app(series, REPORT), (120, 40), ("t",))
    await shoot("high-contrast-120x40", frozen_app(series, REPORT, Config(theme="high-contrast")), (120, 40))
    await shoot("help-120x40", frozen_app(series, REPORT), (120, 40), ("question_mark",))
    await shoot("containers-120x40", with_containers(frozen_app(series, REPORT)), (120, 40), ("c",))
    await shoot("dashboard-servers-120x40", with_containers(frozen_app(series, REPORT)), (120, 40))
    await shoot("containers-80x24", with_containers(frozen_app(series, REPORT)), (80, 24), ("c",))
    await shoot("launch-120x40", frozen_app(series, REPORT), (120, 40), ("c", "n"))
    await shoot("launch-80x24", frozen_app(series, REPORT), (80, 24), ("c", "n"))
    await doctor_shots(series)
    await bench_shots(series)
    await hud_shots(orin)
    await chat_shots(series)
    await fleet_shots(series)
    await fleet_device_shot(series, orin)
    await fleet_action_shot(series)
    await cluster_shot(series)


async def cluster_shot(series) -> None:
    """The Cluster screen: two Orins up with Ray, their containers, Ray's nodes, the server, a preflight."""
    import os
    import tempfile
    import time

    from console.cluster.plan import ClusterPlan, Node
    from console.cluster.presets import BUILTIN
    from console.cluster.raystatus import RayStatus
    from console.cluster.record import Record
    from console.cluster.status import ClusterStatus, NodeStatus
    from console.doctor.check import Check

    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp()  # the screen's own read finds no cluster: this one shows
    plan = ClusterPlan(
        Node("orin-a", "enP8p1s0", "10.10.0.1"), Node("orin-b", "enP8p1s0", "10.10.0.2"), BUILTIN["orin-gpt-oss-20b"]
    )
    status = ClusterStatus(
        (
            NodeStatus("orin-a", "head", "running (0)", ("INFO:     Application startup complete.",)),
            NodeStatus("orin-b", "worker", "running (0)", ()),
        ),
        RayStatus(active=("node_4f3e", "node_9a8b"), used=(("CPU", 0.0, 24.0), ("GPU", 2.0, 2.0))),
        "ready",
        "run 1 wait 0 KV 3% gen 11.9 tok/s TTFT p50 412 ms",
    )
    checks = (
        Check("head.interface", "head orin-a: enP8p1s0 is up with 10.10.0.1", "ok", ("enP8p1s0 carries 10.10.0.1",)),
        Check("link.mtu", "MTU agrees on both ends", "ok", ("MTU 9000 on both",)),
        Check("link.speed", "link speed agrees", "ok", ("10000 Mb/s on both",)),
        Check("image.same", "the same image on both nodes (dustynv/vllm:r36.4.0)", "ok", ("sha256:6f0c1e… on both",)),
        Check("head.memory", "head orin-a: memory for its half of the model", "ok", ("61.4 GiB in all, 57.2 free",)),
        Check("env.same", "the same environment on both nodes (names only)", "warn", ("only on orin-a: NCCL_DEBUG",)),
        Check("link.test", "link test: all-reduce between the nodes", "ok", ("gloo: 9.21 Gbit/s, latency 88 µs",)),
    )
    app = frozen_app(series, REPORT, start_screen="cluster")
    async with app.run_test(size=(120, 40)) as pilot:
        while app.runtime.state.cluster is None or not app.runtime.state.cluster.reads:
            await pilot.pause(0.05)
        emit = app.runtime.emit
        emit(ev.ClusterRead(Record(plan, "http://orin-a:8000/v1", 0.0), "", status, time.monotonic()))
        emit(ev.ClusterBegan("preflight"))
        emit(ev.ClusterEnded("preflight: 0 failures, 1 warnings (2.3 s)", checks))
        await pilot.pause(0.3)
        name = "cluster-120x40"
        (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
    print(f"wrote screenshots/{name}.svg")


async def fleet_device_shot(series, orin) -> None:
    """Enter on a device: its whole answer, served by a loopback stand-in for its agent (a fixed /v1/state)."""
    import json

    from console.fleet.hosts import Device
    from console.fleet.schema import SCHEMA, VERSION
    from console.ui.screens.fleet_device import DeviceScreen
    from tests.fake_http import serve

    doc = {
        "schema": SCHEMA,
        "version": VERSION,
        "at": 1_800_000_000.0,
        "host": {"name": "thor-02", "ip": "10.20.0.102"},
        "help_flag": {"raised": True, "since": 1_800_000_000.0},
        "telemetry": orin.to_dict(),
        "docker": {"connected": True, "error": None},
        "containers": [
            {
                "name": "vllm",
                "image": "dustynv/vllm:r36.4.0",
                "state": "running",
                "health": "healthy",
                "cpu_pct": 112.0,
                "mem_used": 21 << 30,
            },
            {
                "name": "open-webui",
                "image": "ghcr.io/open-webui/open-webui:main",
                "state": "running",
                "health": "",
                "cpu_pct": 0.4,
                "mem_used": 600 << 20,
            },
        ],
        "servers": [
            {
                "name": "vllm",
                "phase": "READY",
                "model": "Qwen/Qwen3-8B",
                "detail": "",
                "gen_tps": 38.2,
                "running": 3,
                "waiting": 1,
                "kv_usage": 0.41,
                "ttft_p50": 0.182,
            },
        ],
        "doctor": [
            {"id": "disk", "title": "Disk space", "status": "warn"},
            {"id": "docker", "title": "Docker", "status": "ok"},
        ],
    }
    agent = serve(json.dumps(doc).encode())
    device = Device("thor-02", f"http://127.0.0.1:{agent.server_address[1]}", ssh="nvidia@10.20.0.102")
    try:
        app = frozen_app(series, REPORT)
        async with app.run_test(size=(120, 40)) as pilot:
            app.runtime.emit(ev.FleetListed((device,)))
            await app.push_screen(DeviceScreen(device))
            while not (app.runtime.state.fleet and app.runtime.state.fleet.detail):
                await pilot.pause(0.05)
            await pilot.pause(0.3)
            name = "fleet-device-120x40"
            (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
        print(f"wrote screenshots/{name}.svg")
    finally:
        agent.shutdown()


async def fleet_action_shot(series) -> None:
    """An organiser action from the Fleet screen, run on four units: three done, one refused over SSH."""
    from console.fleet.actions import ActionOptions, Outcome, plan_action
    from console.fleet.hosts import Device
    from console.ui.screens.fleet_action import FleetActionScreen

    devices = tuple(Device(f"thor-0{i}", "", ssh=f"nvidia@10.20.0.10{i}") for i in range(1, 5))
    plan = plan_action("flag-off", devices, ActionOptions())
    app = frozen_app(series, REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        emit = app.runtime.emit
        emit(ev.FleetListed(devices))
        emit(ev.FleetActionAsked(1, "flag-off", tuple(d.name for d in devices)))
        emit(ev.FleetActionPlanned(1, plan))
        emit(ev.FleetActionStarted(1))
        for d in devices[:3]:
            emit(ev.FleetActionOutcome(1, Outcome(d.name, True, "done", 0, 0.4)))
        refused = "SSH login refused: nvidia@10.20.0.104: Permission denied (publickey)."
        emit(ev.FleetActionOutcome(1, Outcome("thor-04", False, refused, 255, 0.2)))
        emit(ev.FleetActionFinished(1))
        await app.push_screen(FleetActionScreen(1))
        await pilot.pause(0.3)
        name = "fleet-action-120x40"
        (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
    print(f"wrote screenshots/{name}.svg")


async def fleet_shots(series) -> None:
    """The Fleet screen as tiles at 120x40, as a list at 80x24 and in big type on a 64x20 LCD: six workshop
    units, one with its help flag up, one stale, one down, one read over SSH."""
    import time

    from console.fleet.hosts import Device
    from console.fleet.reading import Reading, ServerFigures
    from console.fleet.state import Answer
    from console.ui.screens.fleet import FleetScreen

    names = ("thor-01", "thor-02", "thor-03", "thor-04", "spark", "orin-lab")
    devices = tuple(Device(n, f"http://10.20.0.{101 + i}:9147", group="rack-a") for i, n in enumerate(names))

    def reading(phase: str, tps: float | None, gpu: float, flag: bool = False) -> Reading:
        server = ServerFigures("vllm", phase, "openai/gpt-oss-120b", "", tps, 3 if tps else 0, 1 if tps else 0)
        since = 1_800_000_000.0 if flag else None
        return Reading(0.0, "", gpu, 61 << 30, 122 << 30, 63.0, 48.5, flag, since, (server,))

    for size in ((120, 40), (80, 24), (64, 20)):
        app = frozen_app(series, REPORT)
        async with app.run_test(size=size) as pilot:
            await pilot.press("F")
            while not isinstance(app.screen, FleetScreen):
                await pilot.pause(0.05)
            now = time.monotonic()
            app.runtime.emit(ev.FleetListed(devices))
            app.runtime.emit(
                ev.FleetAnswered(
                    (
                        Answer("thor-01", reading("READY", 41.7, 88.0), None, 0.02, now),
                        Answer("thor-02", reading("READY", 38.2, 91.0, flag=True), None, 0.02, now),
                        Answer("thor-03", reading("STARTING", None, 12.0), None, 0.9, now, "ssh"),
                        Answer("thor-04", reading("READY", 40.1, 86.0), None, 0.02, now - 12),
                        Answer("spark", reading("READY", 55.3, 93.0), None, 0.01, now, "prometheus"),
                        Answer("orin-lab", None, "unreachable: Connection refused", 0.001, now),
                    )
                )
            )
            app.runtime.emit(ev.FleetAnswered((Answer("thor-04", None, "no answer within 0.75 s", 0.75, now),)))
            await pilot.pause(0.3)
            name = f"fleet-{size[0]}x{size[1]}"
            (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
        print(f"wrote screenshots/{name}.svg")


async def hud_shots(orin) -> None:
    """The HUD at a workshop LCD's 40x12, at 80x24 with the help flag up, and at 160x48."""
    import tempfile

    from tests.app.test_hud_screen import hud_app

    with tempfile.TemporaryDirectory() as tmp:
        flag = Path(tmp) / "help-flag"
        await shoot("hud-40x12", hud_app(orin, flag), (40, 12))
        await shoot("hud-80x24-help", hud_app(orin, flag, help_on=True), (80, 24))
        await shoot("hud-160x48", hud_app(orin, flag), (160, 48))


async def doctor_shots(series) -> None:
    """The Doctor: fixed check results (as on a Thor with daemon.json unfixed), and the real daemon.json fix's
    question for a real file (nothing is written: the shot is taken while it asks)."""
    import shutil

    from console.doctor.check import Probe
    from console.doctor.session import DoctorSetup
    from console.fit.device import DeviceMemory
    from console.ui.screens.fit import FitScreen
    from tests.app.test_doctor_screen import SNAPSHOT_CHECKS, Checks

    tmp = Path("/tmp/jetconsole-screenshots/docker")  # a fixed name: the path shows in the shot
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        path = tmp / "daemon.json"
        path.write_text('{\n  "log-driver": "json-file",\n  "log-opts": {\n    "max-size": "10m"\n  }\n}\n')

        def app():
            # the shot is taken while the fix asks; closing the app answers no, so nothing is run or written
            setup = DoctorSetup(
                Probe(daemon_json=path),
                interval=0,
                checks=Checks(SNAPSHOT_CHECKS),
                audit=lambda event, data: None,
                restart_cmd="systemctl restart docker",
                clock=lambda: 1795000000.0,
            )
            return frozen_app(series, REPORT, doctor=setup)

        await shoot("dashboard-doctor-banner-120x40", app(), (120, 40))
        await shoot("doctor-120x40", app(), (120, 40), ("D",))
        await shoot("doctor-fix-daemon-json-120x40", app(), (120, 40), ("D", "enter"))
        assert not list(tmp.glob("daemon.json.bak-*")), "the screenshot run must not apply the fix"
    finally:
        shutil.rmtree(tmp.parent)
    thor = DeviceMemory(128787600 * 1024, 120000000 * 1024, "Jetson AGX Thor: system RAM (unified)", unified=True)
    fit = frozen_app(series, REPORT)
    async with fit.run_test(size=(120, 40)) as pilot:
        await fit.push_screen(FitScreen(params="8B", quant="nvfp4", context=65536, concurrency=4, memory=lambda: thor))
        await pilot.pause(1.0)
        (OUT / "fit-120x40.svg").write_text(fit.export_screenshot(title="jetconsole — fit-120x40"))
    print("wrote screenshots/fit-120x40.svg")


async def bench_shots(series) -> None:
    """The Bench screen's results from a fixed report (the workshop's FP16 -> FP8 -> NVFP4 -> NVFP4+EAGLE
    comparison, figures made up but plausible), at 120x40 and 80x24."""
    from console.ui.screens.bench import BenchScreen
    from tests.app.test_bench_screen import sample_report

    for size in ((120, 40), (80, 24), (64, 20)):
        name = f"bench-results-{size[0]}x{size[1]}"
        app = frozen_app(series, REPORT)
        async with app.run_test(size=size) as pilot:
            await app.push_screen(BenchScreen(report=sample_report(), baseline="FP16"))
            await pilot.pause(0.3)
            (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
        print(f"wrote screenshots/{name}.svg")


ANSWER = (
    "Jetson **AGX Thor** serves this model with vLLM. Three things decide how fast:\n\n"
    "1. the *quantisation* (FP8 or FP4 weights),\n2. the KV-cache size (`--gpu-memory-utilization`),\n"
    "3. speculative decoding.\n\n```sh\nvllm serve Qwen/Qwen3-8B --max-model-len 32768\n```\n\n"
    "Model output is text: \x1b[31mthis escape\x1b[0m shows, it does not colour your terminal."
)


async def chat_shots(series) -> None:
    """The chat against a replay server (tests/replay.py) serving a reasoning answer and real /metrics."""
    import tempfile

    from console.telemetry.discovery import Discovery
    from console.themes import load_themes
    from console.ui.app import JetconsoleApp
    from tests.replay import ReplayServer, Script, token_frames

    metrics = (ROOT / "tests/data/metrics/vllm-0.32-after.prom").read_text()
    words = [w + " " for w in ANSWER.replace("\n", "\n ").split(" ")]
    reasoning = ["The user asks", " what limits", " decode speed", " on Thor."]
    with ReplayServer(metrics=metrics) as srv, tempfile.TemporaryDirectory() as tmp:
        srv.script = Script(frames=token_frames(words, reasoning, prompt_tokens=31), rate=400, first_delay=0.04)
        config = Config(servers=(srv.url,), chat_store=f"{tmp}/chats.sqlite3", refresh_interval=0.5)

        def app(screen: str = "dashboard") -> JetconsoleApp:
            a = JetconsoleApp(
                config,
                load_themes(),
                remember_theme=False,
                watch_docker=False,
                start_screen=screen,
                discover_fn=lambda: Discovery(sources=[], report=REPORT),
            )
            feed(a, series, REPORT)
            return a

        question = (
            *[{" ": "space", "?": "question_mark"}.get(c, c) for c in "What limits decode speed on Thor?"],
            "enter",
        )
        await shoot_after("chat-120x40", app("chat"), (120, 40), question, ("f4",))
        await shoot_after("dashboard-chat-120x40", app(), (120, 40), ("a", *question), ())
        await shoot_after("conversations-120x40", app("chat"), (120, 40), (), ("ctrl+o",))
        srv.script = Script(frames=token_frames(['{"object": ', '"lighthouse", ', '"colours": 2}']), rate=200)
        await vision_shot(app("chat"), Path(tmp))


async def vision_shot(app, folder: Path) -> None:
    """An image attached and drawn in half cells, a JSON-schema shape, the answer checked under it."""
    from PIL import Image, ImageDraw

    from console.runtime import commands as cmd

    picture = folder / "lighthouse.png"
    img = Image.new("RGB", (1200, 900), (40, 90, 170))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 600, 1200, 900), fill=(30, 60, 40))
    draw.rectangle((540, 200, 660, 640), fill=(235, 235, 225))
    draw.rectangle((540, 320, 660, 380), fill=(200, 40, 40))
    img.save(picture)
    schema = '{"type": "object", "properties": {"object": {"type": "string"}, "colours": {"type": "integer"}}}'
    app.image_mode = "halfcell"
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            if app.chat_control.chat.model:
                break
            await pilot.pause(0.1)
        app.runtime.send(cmd.ChooseShape(schema))
        app.runtime.send(cmd.AttachImage(str(picture)))
        for _ in range(100):
            if app.chat_control.chat.draft_images and app.chat_control.chat.settings.shape:
                break
            await pilot.pause(0.1)
        await pilot.press(*[{" ": "space", "?": "question_mark"}.get(c, c) for c in "What is this?"], "enter")
        for _ in range(200):
            await pilot.pause(0.1)
            if app.chat_control.chat.answering is None and len(app.chat_control.chat.messages) >= 2:
                break
        await pilot.pause(1.0)  # the picture is read in a worker thread
        (OUT / "chat-vision-120x40.svg").write_text(app.export_screenshot(title="jetconsole — chat-vision-120x40"))
    print("wrote screenshots/chat-vision-120x40.svg")


async def shoot_after(name: str, app, size: tuple[int, int], ask: tuple[str, ...], then: tuple[str, ...]) -> None:
    """Type ``ask``, wait until the answer has ended (and the server was polled), press ``then``."""
    async with app.run_test(size=size) as pilot:
        for _ in range(100):
            status = app.runtime.state.servers.selected_status
            if app.chat_control.chat.model and status is not None and status.metrics:
                break
            await pilot.pause(0.1)
        await pilot.press(*ask)
        for _ in range(200):
            await pilot.pause(0.1)
            if app.chat_control.chat.answering is None and (not ask or len(app.chat_control.chat.messages) >= 2):
                break
        await pilot.pause(1.2)  # one more poll: the metrics show the answer
        await pilot.press(*then)
        await pilot.pause(0.5)
        (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"jetconsole — {name}"))
    print(f"wrote screenshots/{name}.svg")


def with_containers(app):
    """Fixed containers, as the Docker watcher would report them (no daemon needed)."""
    from console.containers.model import ContainerInfo, ContainerStats

    rows = (
        ContainerInfo(
            "a" * 64,
            "vllm",
            "nvcr.io/nvidia/vllm:25.09-py3",
            "running",
            "Up 2 hours (healthy)",
            health="healthy",
            runtime="nvidia",
            restart_policy="unless-stopped",
            network="host",
            labels={"jetconsole.preset": "vllm-thor"},
            pids=(5579,),
        ),
        ContainerInfo(
            "b" * 64,
            "open-webui",
            "ghcr.io/open-webui/open-webui:main",
            "running",
            "Up 2 hours",
            runtime="runc",
            restart_policy="always",
            network="host",
            labels={"jetconsole.preset": "open-webui"},
        ),
        ContainerInfo(
            "c" * 64, "sglang-test", "dustynv/sglang:r36.4.0", "exited", "Exited (1) 3 hours ago", runtime="nvidia"
        ),
        ContainerInfo(
            "d" * 64,
            "postgres",
            "postgres:16",
            "running",
            "Up 5 days",
            ports=("5432/tcp",),
            runtime="runc",
            restart_policy="always",
        ),
    )
    app.runtime.emit(ev.ContainersListed(rows))
    app.runtime.emit(
        ev.StatsUpdated(
            (
                (rows[0].id, ContainerStats(rows[0].id, 112.0, 3 * 2**30, 62 * 2**30)),
                (rows[1].id, ContainerStats(rows[1].id, 0.4, 612 * 2**20, 62 * 2**30)),
                (rows[3].id, ContainerStats(rows[3].id, 1.2, 88 * 2**20, 62 * 2**30)),
            )
        )
    )
    return app


if __name__ == "__main__":
    asyncio.run(main())
