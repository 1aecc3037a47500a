"""The doctor inside the real app, driven by keys, against real parts: the daemon.json fix through the
Doctor screen on a private dockerd (the real checks, the real fix), and the stuck-memory wizard ending
real orphaned ``VLLM::EngineCore`` processes while an unrelated process and a served engine live on."""

from __future__ import annotations

import json
from pathlib import Path

from console.config import Config
from console.doctor.check import FAIL, OK, Probe
from console.doctor.session import DoctorSetup
from console.themes import load_themes
from console.ui.app import JetconsoleApp
from console.ui.screens.confirm import ConfirmScreen
from console.ui.screens.doctor import DoctorScreen
from tests.app.helpers import wait_for
from tests.realparts.private_dockerd import BUSYBOX_IMAGE
from tests.realparts.test_daemon_json_fix import Restarts, daemon, info, reset  # noqa: F401 - daemon: a fixture
from tests.realparts.test_stuck_memory import alive, processes  # noqa: F401 - processes: a fixture


def gpu_probe(tmp_path: Path, **kw) -> Probe:
    """The real checks, with a marker file standing in for /dev/nvidia0 (the daemon.json check asks for it)."""
    marker = tmp_path / "nvidia0"
    marker.touch()
    return Probe(gpu_markers=(marker,), jtop_socket=str(tmp_path / "no-jtop.sock"), use_nvml=False, **kw)


def app_for(setup: DoctorSetup, docker_host: str = "") -> JetconsoleApp:
    return JetconsoleApp(
        Config(docker_host=docker_host),
        load_themes(),
        remember_theme=False,
        watch_docker=False,
        poll_servers=False,
        doctor=setup,
    )


def status(app: JetconsoleApp, check_id: str) -> str | None:
    return next((c.status for c in app.state.doctor.checks if c.id == check_id), None)


async def open_doctor_on(pilot, app: JetconsoleApp, check_id: str) -> DoctorScreen:
    await pilot.press("D")
    await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
    screen = app.screen
    ids = [c.id for c in screen.checks]  # type: ignore[attr-defined]
    await pilot.press(*["up"] * len(ids), *["down"] * ids.index(check_id))
    assert screen.selected().id == check_id  # type: ignore[attr-defined]
    return screen  # type: ignore[return-value]


async def test_daemon_json_fixed_from_the_doctor_screen(daemon, tmp_path: Path) -> None:  # noqa: F811
    reset(daemon, json.dumps({"log-driver": "json-file", "runtimes": {"custom": {"path": "runc"}}}, indent=2))
    events: list[str] = []
    restarts = Restarts(daemon)
    probe = gpu_probe(tmp_path, docker_host=daemon.url, daemon_json=daemon.config)
    setup = DoctorSetup(
        probe,
        interval=0,
        runtime_path=str(daemon.shim),
        restart=restarts,
        verify_image=BUSYBOX_IMAGE,
        audit=lambda event, data: events.append(event),
    )
    app = app_for(setup, daemon.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: status(app, "daemon-json") == FAIL, timeout=30)
        assert status(app, "docker") == OK
        assert "daemon.json" in app.screen.query_one("#doctor-banner").text
        screen = await open_doctor_on(pilot, app, "daemon-json")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=10)
        diff = str(app.screen.query_one("#confirm-text").render())
        assert '+  "default-runtime": "nvidia"' in diff and "back up" in diff
        await pilot.press("y")
        await wait_for(pilot, lambda: app.state.doctor.fixing is None, timeout=120)
        await wait_for(pilot, lambda: status(app, "daemon-json") == OK, timeout=30)  # the rerun after the fix
        assert restarts.calls == 1
        assert info(daemon)["DefaultRuntime"] == "nvidia"
        kept = json.loads(daemon.config.read_text())
        assert kept["log-driver"] == "json-file" and kept["runtimes"]["custom"] == {"path": "runc"}
        assert app.state.doctor.log[-1] == "done" and "daemon-json.written" in events  # audited
        assert len(list(daemon.config.parent.glob("daemon.json.bak-*"))) >= 1
        assert app.screen is screen
        await pilot.press("escape")
        banner = app.screen.query_one("#doctor-banner")
        # no banner for daemon.json now (another check may fail on a shared machine: orphans of other tests)
        await wait_for(pilot, lambda: not banner.display or "daemon.json" not in banner.text)


async def test_malformed_daemon_json_is_refused_from_the_screen(daemon, tmp_path: Path) -> None:  # noqa: F811
    reset(daemon, "{}\n")
    broken = '{\n  "log-driver": "json-file",\n  "runtimes": {\n}\n'
    daemon.config.write_text(broken)
    restarts = Restarts(daemon)
    probe = gpu_probe(tmp_path, docker_host=daemon.url, daemon_json=daemon.config)
    app = app_for(
        DoctorSetup(probe, interval=0, runtime_path=str(daemon.shim), restart=restarts, audit=lambda event, data: None),
        daemon.url,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: status(app, "daemon-json") == FAIL, timeout=30)
        await open_doctor_on(pilot, app, "daemon-json")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: app.state.doctor.fixing is None and any("refused" in x for x in app.state.doctor.log)
        )
        refusal = next(x for x in app.state.doctor.log if "refused" in x)
        assert f"{daemon.config}:5:1: not valid JSON" in refusal  # file, line, column
        assert not isinstance(app.screen, ConfirmScreen)
    assert daemon.config.read_text() == broken and restarts.calls == 0


async def test_memory_wizard_from_the_screen_ends_only_listed_holders(
    processes: dict[str, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    probe = Probe(
        docker_host=f"unix://{tmp_path}/no-docker.sock",
        daemon_json=tmp_path / "daemon.json",
        jtop_socket=str(tmp_path / "no-jtop.sock"),
        use_nvml=False,
        baseline_gib=1000,
    )
    events: list[tuple[str, dict]] = []
    setup = DoctorSetup(probe, interval=0, restart_cmd="true", audit=lambda event, data: events.append((event, data)))
    app = app_for(setup)
    asked: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: status(app, "memory") == FAIL, timeout=30)  # the orphans are holders
        await open_doctor_on(pilot, app, "memory")
        await pilot.press("enter")
        while True:  # answer each step: yes to ending the holders, no to the rest
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen) or app.state.doctor.fixing is None, timeout=60
            )
            if app.state.doctor.fixing is None:
                break
            question = app.screen
            title = str(question.query_one(".table-title").render())
            asked.append(title)
            await pilot.press("y" if title.endswith("holders") else "n")
            await wait_for(pilot, lambda q=question: app.screen is not q, timeout=30)
        log = "\n".join(app.state.doctor.log)
        assert asked == ["Recovery step: holders", "Recovery step: caches", "Recovery step: docker"]
        assert f"holder: pid {processes['orphan']} VLLM::EngineCore" in log
        assert "skipped: drop the page cache" in log and "skipped: restart Docker" in log
        assert "before:" in log and "after:" in log and "memory is back to the baseline" in log
        assert not alive(processes["orphan"]) and not alive(processes["stubborn"])
        assert alive(processes["unrelated"]) and alive(processes["server"])
        assert [e for e, d in events if e == "memory.step" and d["confirmed"]] == ["memory.step"]
        await wait_for(pilot, lambda: status(app, "memory") == OK, timeout=30)
