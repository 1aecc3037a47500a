"""Model fit: the reads the fit needs, each a one-shot service that only emits an event.

The device's memory is the runtime's own telemetry (``engine_memory`` of the merged snapshot: one
connection per source, none opened here); ``$JETCONSOLE_MEMINFO`` names a meminfo file to size against
instead, as it does for ``jetconsole fit``.  A model's config.json is read from disk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from console.fit.device import MEMINFO_ENV, DeviceMemory, device_memory, engine_memory
from console.fit.model import FitError, load_config
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean_text, clean_tree

FIRST_SAMPLE_S = 10.0  # how long a read waits for the telemetry's first sample of the memory
POLL_S = 0.1
NO_TELEMETRY = "no telemetry of the device's memory: no telemetry source is reading this device"


class FitService:
    def __init__(self, hub: Hub, first_sample_s: float = FIRST_SAMPLE_S) -> None:
        self.hub = hub
        self.first_sample_s = first_sample_s

    def read_memory(self, memory: Callable[[], DeviceMemory | None] | None = None) -> None:
        """Answer with a ``FitMemoryRead``: ``memory()`` when given, else the telemetry's reading (waiting
        for its first sample), else ``$JETCONSOLE_MEMINFO``'s file."""

        def work(life: Lifecycle) -> None:
            try:
                if memory is not None:
                    read: DeviceMemory | None = memory()
                elif os.environ.get(MEMINFO_ENV):
                    read = device_memory()  # a what-if file: no NVML is opened
                else:
                    read = self._from_telemetry(life)
                    if read is None:
                        return  # the runtime stopped
                event = ev.FitMemoryRead(read)
            except FitError as exc:
                event = ev.FitMemoryRead(None, clean_text(str(exc)))
            except Exception as exc:  # noqa: BLE001 - a broken reading degrades the fit, never the app
                event = ev.FitMemoryRead(None, clean_text(f"cannot read the device's memory: {exc}"))
            self.hub.emit(event)

        self.hub.runner.spawn("fit-memory", work)

    def _from_telemetry(self, life: Lifecycle) -> DeviceMemory | None:
        """``engine_memory`` of the runtime's merged snapshot; raises FitError when none comes in time."""
        deadline = time.monotonic() + self.first_sample_s
        while True:
            telemetry = self.hub.state.telemetry
            memory = engine_memory(telemetry.merged)
            if memory is not None:
                return memory
            if time.monotonic() >= deadline:
                errors = "; ".join(f"{k}: {v}" for k, v in telemetry.errors.items())
                raise FitError(NO_TELEMETRY + (f" ({errors})" if errors else ""))
            if life.wait(POLL_S):
                return None

    def read_config(self, text: str) -> None:
        """Read config.json as typed (a file or a model directory); a ``FitConfigRead`` answers."""

        def work(_life: Lifecycle) -> None:
            try:
                path, config = load_config(text)
            except FitError as exc:
                event = ev.FitConfigRead(text, None, None, clean_text(str(exc)))
            except Exception as exc:  # noqa: BLE001 - said inline like any unreadable file
                event = ev.FitConfigRead(text, None, None, clean_text(f"--config: cannot read {text}: {exc}"))
            else:
                event = ev.FitConfigRead(text, path, clean_tree(config))  # the file's strings: no terminal control
            self.hub.emit(event)

        self.hub.runner.spawn("fit-config", work)
