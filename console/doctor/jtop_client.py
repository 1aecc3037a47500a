"""One jtop client, opened and closed: the connection to the jtop service that power, memory and
bench read through.

No Textual.  ``factory`` is a parameter so the tests hand in fakes; jetson-stats is imported only
when a real client is made (only Jetsons pay for the import).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

JTOP_SOCKET = "/run/jtop.sock"


class PowerUnavailable(Exception):
    """No jtop to ask.  ``skip``: not a Jetson (nothing to check) rather than a broken service."""

    def __init__(self, reason: str, hint: str = "", skip: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.hint, self.skip = reason, hint, skip


@contextmanager
def connect(
    factory: Callable[[], Any] | None = None, socket_path: str | None = JTOP_SOCKET, interval: float = 0.5
) -> Iterator[Any]:
    """A started jtop client, closed afterwards.  ``socket_path`` None: do not look for the socket."""
    if socket_path and not os.path.exists(socket_path):
        raise PowerUnavailable(
            f"no jtop service ({socket_path} absent): not a Jetson, or jetson-stats is not installed",
            "on a Jetson: sudo pip3 install jetson-stats && sudo systemctl restart jtop.service",
            skip=True,
        )
    if factory is None:
        try:
            from jtop import jtop  # deferred: only Jetsons pay for the import
        except ImportError as exc:  # pragma: no cover - jetson-stats is a dependency
            raise PowerUnavailable(
                f"jetson-stats not importable: {exc}", "pip install jetson-stats", skip=True
            ) from exc

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
        raise PowerUnavailable(
            f"jtop service refused the connection: {exc}",
            "add your user to the jtop group (sudo usermod -aG jtop $USER)",
        ) from exc
    try:
        yield client
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a dead connection; nothing to recover
            pass


def _drop_stale_connection(address: str) -> None:
    from multiprocessing.managers import BaseProxy

    tls = BaseProxy._address_to_local.get(address, (None,))[0]  # type: ignore[attr-defined]
    conn = getattr(tls, "connection", None)
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass
        del tls.connection
