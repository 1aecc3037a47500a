"""The app's HUD side: the help flag's file and this host's name and address, each read by its
own thread that posts only changes; and following the start of inference containers that are
not ready yet, so the HUD and the Servers panel show the phase for any server, not only for
those launched from here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from console.hud import helpflag
from console.hud.host import hostname, primary_ip
from console.ui.messages import HelpFlagRead, HostRead, LaunchProgress

FOLLOWER_RUN = -1  # LaunchProgress.run_id of the startup followers: never a Launch screen's run
HELP_POLL_S = 1.0
HOST_POLL_S = 60.0


class HudControl:
    """Mixed into the app: ``post_message``, ``_spawn``, ``config`` and ``docker`` come from it."""

    def init_hud(self) -> None:
        self.help_flag = False
        self.host_name = ""
        self.host_ip = ""
        self._hud_stop = threading.Event()
        self._startup_followers: dict[str, threading.Event] = {}
        self._followed: set[str] = set()  # "id@started_at": each start of a container is followed once
        self.launched_here: set[str] = set()  # container ids a launch from this app follows itself

    def help_flag_path(self) -> Path:
        configured = self.config.hud_help_flag_file  # type: ignore[attr-defined]
        return Path(configured).expanduser() if configured else helpflag.path()

    def start_hud_sources(self) -> None:
        self._spawn(self._poll_help_flag, "jetconsole-help-flag")  # type: ignore[attr-defined]
        self._spawn(self._poll_host, "jetconsole-host")  # type: ignore[attr-defined]

    def _poll_help_flag(self) -> None:
        where, last = self.help_flag_path(), None
        while not self._hud_stop.is_set():
            on = helpflag.read(where)
            if on != last:
                self.post_message(HelpFlagRead(on))  # type: ignore[attr-defined]
                last = on
            self._hud_stop.wait(HELP_POLL_S)

    def _poll_host(self) -> None:
        last = None
        while not self._hud_stop.is_set():
            now = (hostname(), primary_ip())
            if now != last:
                self.post_message(HostRead(*now))  # type: ignore[attr-defined]
                last = now
            self._hud_stop.wait(HOST_POLL_S)

    def on_help_flag_read(self, message: HelpFlagRead) -> None:
        if message.error:
            self.notify(f"help flag not changed: {message.error}", severity="error", timeout=6)  # type: ignore[attr-defined]
        else:
            self.help_flag = message.on
        self._refresh_screen()  # type: ignore[attr-defined]

    def on_host_read(self, message: HostRead) -> None:
        self.host_name, self.host_ip = message.host, message.ip
        self._refresh_screen()  # type: ignore[attr-defined]

    def set_help_flag(self, on: bool) -> None:
        """Write the flag in a thread; the poller and this post what it now is."""
        where = self.help_flag_path()

        def work() -> None:
            try:
                helpflag.write(on, where)
                self.post_message(HelpFlagRead(on))  # type: ignore[attr-defined]
            except OSError as exc:
                self.post_message(HelpFlagRead(self.help_flag, str(exc)))  # type: ignore[attr-defined]

        self._spawn(work, "jetconsole-help-flag-write")  # type: ignore[attr-defined]

    # ---- following servers that are starting -------------------------------------------------------------------
    def sync_startup_followers(self) -> None:
        """Follow the log of each running inference container whose server is not ready and that no
        launch from here follows already; ``LaunchProgress`` carries the phases to ``startups``."""
        if not getattr(self, "watch_docker", False):
            return
        for row in self.server_rows():  # type: ignore[attr-defined]
            c = row.container
            if c is None or not c.running or not row.url or c.id in self.launched_here:
                continue
            start = f"{c.id}@{c.started_at}"
            if start in self._followed:
                continue  # this start was followed (to Ready, or to its failure): a later 503 is not a start
            status = self.server_status.get(row.url)  # type: ignore[attr-defined]
            if status is None or status.ready:
                continue  # not polled yet, or ready
            self._followed.add(start)
            self._follow_startup(c.id, row.url)

    def _follow_startup(self, container_id: str, url: str) -> None:
        from console.containers.docker_source import DockerSource, DockerUnavailable
        from console.containers.launcher import track

        stop = threading.Event()
        self._startup_followers[container_id] = stop
        root = url[:-3] if url.endswith("/v1") else url

        def work() -> None:
            source = DockerSource(self.docker.url)  # type: ignore[attr-defined]
            try:
                source.open()
                track(
                    source,
                    container_id,
                    f"{root}/health",
                    lambda e: self.post_message(LaunchProgress(FOLLOWER_RUN, e, container=container_id)),
                    stop,
                )  # type: ignore[attr-defined]
            except DockerUnavailable:
                pass
            except Exception:  # noqa: BLE001 - the container went away mid-follow: the next listing says so
                pass
            finally:
                source.close()
                self._startup_followers.pop(container_id, None)

        self._spawn(work, f"jetconsole-startup-{container_id[:12]}")  # type: ignore[attr-defined]

    def stop_hud_sources(self) -> None:
        self._hud_stop.set()
        for stop in list(self._startup_followers.values()):  # followers remove themselves as they end
            stop.set()
