"""Inspect shows a container's secrets masked, as the mask itself (issue 15 item 2): a vLLM container started with
``--api-key sk-…`` among its arguments showed the key in clear, and the masked env values as ``\\u2022`` escapes.

The real ``DockerSource`` answers, its low-level client replaced by one inspect document (a real daemon would do,
but this needs none: tests/realparts/test_containers_ui.py drives a private dockerd)."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from console.containers.docker_source import DockerSource
from console.containers.model import ContainerInfo
from console.runtime import events as ev
from console.runtime.secrets import MASK
from console.runtime.services import docker as docker_service
from console.ui.screens.confirm import TextScreen
from console.ui.screens.containers import ContainersScreen
from tests.app.helpers import live_app, wait_for

KEY = "Zq9Xw7Vt5Ru3Sp1"
VLLM = ContainerInfo(id="c" * 64, name="vllm", image="vllm:1", state="running", status="Up 3 minutes")


class _Api:
    def inspect_container(self, _cid: str) -> dict[str, Any]:
        return {
            "Name": "/vllm",
            "Args": ["serve", "Qwen/Qwen3-8B", "--api-key", f"sk-{KEY}", "--port", "8000"],
            "Config": {"Cmd": ["serve", "Qwen/Qwen3-8B", f"--api-key=sk-{KEY}"], "Env": [f"HF_TOKEN=hf_{KEY}"]},
        }


class _Source(DockerSource):
    def open(self) -> None:
        self._api = _Api()

    def close(self) -> None:
        pass


async def test_inspect_masks_the_command_line_and_shows_the_mask_itself(monkeypatch, orin_snapshot) -> None:
    monkeypatch.setattr(docker_service, "DockerSource", _Source)
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        app.runtime.emit(ev.ContainersListed((VLLM,)))
        await pilot.press("c")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ContainersScreen) and app.screen.query_one(DataTable).row_count
        )
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
        text = str(app.screen.query_one("#text-body", Static).render())
        assert f'"--api-key",\n    "{MASK}"' in text and f"--api-key={MASK}" in text and f"HF_TOKEN={MASK}" in text
        assert KEY[:6] not in text and KEY[-6:] not in text and "\\u2022" not in text
