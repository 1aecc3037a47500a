"""The jtop client that power, memory and bench read and switch through.

No Textual.  Where the runtime's jtop source is open in this process (the app, ``jetconsole doctor``,
``jetconsole bench``), ``connect`` lends its client: one connection to the service per process.
Elsewhere (a test, ``python -m console.doctor.power``) it opens one short-lived connection through the
telemetry's ``open_client``, the only place a jtop client is made.  ``factory`` is a parameter so the
tests hand in fakes; jetson-stats is imported only when a real client is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from console.telemetry.jtop_source import JTOP_SOCKET, NoJtopService, live_source, open_client
from console.telemetry.source import SourceUnavailable

__all__ = ["JTOP_SOCKET", "PowerUnavailable", "connect"]


class PowerUnavailable(Exception):
    """No jtop to ask.  ``skip``: not a Jetson (nothing to check) rather than a broken service."""

    def __init__(self, reason: str, hint: str = "", skip: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.hint, self.skip = reason, hint, skip


@contextmanager
def connect(
    factory: Callable[[], Any] | None = None, socket_path: str | None = JTOP_SOCKET, interval: float = 0.5
) -> Iterator[Any]:
    """A started jtop client: the runtime's, lent (``factory`` None and its source open for ``socket_path``),
    else a short-lived one closed afterwards.  ``socket_path`` None: do not look for the socket."""
    live = live_source(socket_path) if factory is None else None
    borrowed = live.borrow() if live is not None else None
    if borrowed is not None:
        yield borrowed
        return
    try:
        client = open_client(interval, socket_path, factory)
    except NoJtopService as exc:
        raise PowerUnavailable(str(exc), exc.hint, skip=True) from exc
    except SourceUnavailable as exc:
        raise PowerUnavailable(str(exc), exc.hint) from exc
    try:
        yield client
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a dead connection; nothing to recover
            pass
