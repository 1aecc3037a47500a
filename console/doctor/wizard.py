"""The stuck-memory wizard's wiring to Docker, shared by ``doctor --recover-memory`` and the Doctor screen.

``open_wizard`` surveys memory, holders and the running inference containers; ``Wizard.run``
runs the confirmed steps through ``recovery.run`` with Docker's stop/remove and the restart
command.  Blocking; the screen runs it in a worker thread and answers ``ask`` from a dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from console.containers.docker_source import DockerSource, DockerUnavailable
from console.doctor import recovery
from console.doctor.daemon_fix import restart_command, run_command
from console.doctor.memory import JTOP_SOCKET, SharedRead, jtop_shared

Audit = Callable[[str, dict[str, Any]], None]


@dataclass
class Wizard:
    rec: recovery.Recovery
    source: DockerSource | None  # None: Docker unreachable, container steps have nothing to act on
    restart: list[str] | None
    audit: Audit
    docker_error: str = ""
    shared: SharedRead = field(default=jtop_shared)  # jtop's shared GPU memory, measured with the rest

    @property
    def restart_text(self) -> str | None:
        return " ".join(self.restart) if self.restart else None

    def plan(self, steps: tuple[str, ...]) -> list[tuple[str, str]]:
        return self.rec.plan(steps, self.restart_text)

    def survey_lines(self) -> list[str]:
        """What was found: the figures, each holder, each inference container."""
        out = [f"memory: {self.rec.before.line()}"]
        if self.docker_error:
            out.append(f"Docker: {self.docker_error} (container steps skipped)")
        out += [f"  holder: {h.line()}" for h in self.rec.holders]
        out += [f"  inference container: {c.name} ({c.image})" for c in self.rec.containers]
        return out

    def run(
        self,
        steps: tuple[str, ...],
        ask: Callable[[str, str], bool],
        say: Callable[[str], None],
        baseline_gib: float = recovery.DEFAULT_BASELINE_GIB,
    ) -> bool:
        """Each planned step that ``ask`` confirms (audited); True when memory is back under the baseline."""

        def confirmed(step: str, what: str) -> bool:
            yes = ask(step, what)
            self.audit("memory.step", {"step": step, "what": what, "confirmed": yes})
            return yes

        try:
            return recovery.run(
                self.rec,
                steps,
                confirmed,
                {
                    "stop": lambda: self._act("stop"),
                    "remove": lambda: self._act("remove"),
                    "docker": self._restart_docker,
                },
                say,
                self.restart_text,
                baseline_gib=baseline_gib,
                shared=self.shared,
            )
        finally:  # what was done is audited even when a later step fails (EPERM on a root-owned holder)
            for line in self.rec.log:
                self.audit("memory.action", {"line": line})

    def _act(self, action: str) -> str:
        said: list[str] = []
        if self.source is None:  # no Docker: the survey listed no containers to act on
            return ""
        for c in self.rec.containers:
            result = self.source.act(action, c.id, c.name)
            self.audit(
                f"memory.{action}", {"container": c.name, "id": c.id, "ok": result.ok, "message": result.message}
            )
            said.append(result.message)
        return "; ".join(said)

    def _restart_docker(self) -> str:
        if not self.restart:  # the plan offers no restart then
            raise RuntimeError("no command restarts Docker on this host ([doctor] docker_restart)")
        run_command(self.restart)()
        return "Docker restarted"

    def close(self) -> None:
        if self.source is not None:
            self.source.close()


def open_wizard(
    docker_host: str, audit: Audit, restart_cmd: str = "", pids: set[int] | None = None, jtop_socket: str = JTOP_SOCKET
) -> Wizard:
    """Survey now; ``pids``: of the holders found, keep only these (None: every one listed)."""
    from console.containers.model import ContainerInfo
    from console.servers.registry import container_url

    source: DockerSource | None = None
    error = ""
    opened = DockerSource(docker_host, timeout=10)
    try:
        opened.open()
        source = opened
    except DockerUnavailable as exc:
        error = str(exc)

    def inference() -> list[recovery.Container]:
        listed: tuple[ContainerInfo, ...] = source.containers() if source is not None else ()
        return [recovery.Container(c.id, c.name, c.image) for c in listed if c.running and container_url(c)]

    shared = partial(jtop_shared, jtop_socket)
    try:
        rec = recovery.survey(inference if source is not None else None, shared=shared)
    except BaseException:
        if source is not None:
            source.close()
        raise
    if pids is not None:
        rec.holders = [h for h in rec.holders if h.pid in pids]
    return Wizard(rec, source, restart_command(restart_cmd), audit, error, shared)


def reboot_command() -> list[str]:
    import shutil

    return ["systemctl", "reboot"] if shutil.which("systemctl") else ["reboot"]
