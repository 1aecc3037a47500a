"""A launch: the preflight, then create, start and follow the container, as one service on the runner.

Loaded when the first launch is asked for (the launch form's preflight): the preflight's sizing and the presets'
plans are not part of a start.
"""

from __future__ import annotations

from typing import Any

from console.containers import preflight
from console.containers.docker_source import DockerSource, DockerUnavailable
from console.containers.launcher import create_and_start, track
from console.containers.presets import LaunchPlan, Preset
from console.fit.device import engine_memory
from console.runtime import events as ev
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean
from console.runtime.secrets import mask_prose
from console.runtime.services.docker import DockerService


def launch(
    docker: DockerService,
    run_id: int,
    plan: LaunchPlan,
    preset: Preset,
    launch: bool,
    remove_first: str | None = None,
) -> None:
    """Preflight, then (when ``launch``) create, start and follow; reports as events.

    ``remove_first``: a failed container of an earlier try, removed before the preflight.
    """

    def work(source: DockerSource, life: Lifecycle) -> None:
        emit = docker.hub.emit
        try:
            source.open()
            if remove_first:
                source.act("remove", remove_first)
            checks = preflight.run_checks(
                plan,
                source,
                util=preset.gpu_memory_utilization,
                max_model_len=preset.max_model_len,
                memory=engine_memory(docker.hub.state.telemetry.merged),  # a discrete GPU's own, else RAM
            )
            blocked = bool(preflight.blocking(checks))
            emit(ev.PreflightDone(run_id, tuple(checks), blocked, launch))
            if blocked or not launch:
                return
            cid = create_and_start(source, plan)
            docker.on_launched(cid)  # its own tracker follows it below
            docker.refresh()
            emit(ev.LaunchProgress(run_id, None, f"started {plan.name or cid[:12]}"))
            health = f"{plan.url}/health" if plan.url else None

            def progress(e: Any) -> None:
                emit(ev.StartupProgress(cid, e))
                emit(ev.LaunchProgress(run_id, e, container=cid))

            with life.waiting():  # following a start is minutes of waiting
                track(source, cid, health, progress, life.stop_event)
        except DockerUnavailable as exc:
            emit(ev.LaunchProgress(run_id, None, f"{exc} — {exc.hint}"))
        except Exception as exc:  # noqa: BLE001 - Docker refused (bad image, name taken…): say so
            emit(ev.LaunchProgress(run_id, None, clean(mask_prose(f"launch failed: {type(exc).__name__}: {exc}"))))

    docker.with_source(f"launch:{run_id}", work)
