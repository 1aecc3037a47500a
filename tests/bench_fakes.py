"""A power control for bench tests that records what it is asked to change and changes nothing.

Changing a real Jetson's power mode through the jtop service is tested in tests/realparts.
"""

from __future__ import annotations


class FakePower:
    """``mode``: what it says is set now; ``fail_on``: a spec whose switch fails; ``record_reads``: note reads too."""

    def __init__(self, mode: str = "MAXN", mode_id: int = 0, fail_on: str = "", record_reads: bool = False) -> None:
        self.mode = mode
        self.mode_id = mode_id
        self.fail_on = fail_on
        self.record_reads = record_reads
        self.calls: list[str] = []

    def snapshot_state(self) -> object:
        if self.record_reads:
            self.calls.append("read")
        mode, mode_id = self.mode, self.mode_id

        class State:
            def summary(self) -> str:
                return f"nvpmodel {mode} (id {mode_id}), jetson_clocks off"

        state = State()
        state.mode = mode  # type: ignore[attr-defined]
        return state

    def apply(self, spec: str) -> str:
        self.calls.append(spec)
        if spec == self.fail_on:
            raise RuntimeError(f"cannot switch to {spec}")
        return f"mode -> {spec}: done"

    def restore(self, original: object) -> list[str]:
        self.calls.append("restore")
        return [f"restored {self.mode}"]
