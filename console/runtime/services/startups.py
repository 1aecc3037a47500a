"""Following the start of inference containers that are not ready yet, so the HUD and the Servers
panel show the phase of any server, not only of those launched from here."""

from __future__ import annotations

from console.containers.docker_source import DockerSource, DockerUnavailable
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.state import ConsoleState
from console.servers.registry import ServerRow


class StartupFollowers:
    def __init__(self, hub: Hub, docker_url: str) -> None:
        self.hub = hub
        self.docker_url = docker_url
        self.followed: set[str] = set()  # "id@started_at": each start of a container is followed once
        self.launched_here: set[str] = set()  # container ids a launch from here follows itself

    def sync(self, state: ConsoleState, rows: list[ServerRow]) -> None:
        """Follow the log of each running inference container whose server is not ready and that no
        launch from here follows already; ``StartupProgress`` carries the phases to the state."""
        for row in rows:
            c = row.container
            if c is None or not c.running or not row.url or c.id in self.launched_here:
                continue
            start = f"{c.id}@{c.started_at}"
            if start in self.followed:
                continue  # this start was followed (to Ready, or to its failure): a later 503 is not a start
            status = state.servers.status.get(row.url)
            if status is None or status.ready:
                continue  # not polled yet, or ready
            self.followed.add(start)
            self._follow(c.id, row.url)

    def _follow(self, container_id: str, url: str) -> None:
        root = url[:-3] if url.endswith("/v1") else url
        source = DockerSource(self.docker_url)

        def work(life: Lifecycle) -> None:
            from console.containers.launcher import track  # its log patterns load with the first start followed

            try:
                source.open()
                with life.waiting():  # a start takes minutes: following it is waiting, not work
                    track(
                        source,
                        container_id,
                        f"{root}/health",
                        lambda e: self.hub.emit(ev.StartupProgress(container_id, e)),
                        life.stop_event,
                    )
            except DockerUnavailable:
                pass
            except Exception:  # noqa: BLE001 - the container went away mid-follow: the next listing says so
                pass

        self.hub.runner.spawn(f"startup:{container_id[:12]}", work, cleanup=source.close)
