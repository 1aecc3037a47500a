"""A real vLLM CPU server in a container on the private dockerd, tracked from its log to Ready."""

from __future__ import annotations

import threading
import time

import httpx

from console.containers.docker_source import DockerSource, wait_until
from console.servers import startup
from tests.conftest import need
from tests.realparts.vllm_server import (
    SERVED_NAME,
    LogFollower,
    free_port,
    remove_container,
    start_vllm_container,
    vllm_available,
)

READY_TIMEOUT = 240  # s; ~60-75 s seen on a 2-core box


def test_vllm_container_startup_tracked_to_ready(dockerd, vllm_model) -> None:
    ok, reason = vllm_available()
    need(ok, reason)
    src = DockerSource(dockerd.url, timeout=30)
    src.open()
    port = free_port()
    cid = start_vllm_container(src.api, vllm_model, port, "jc-vllm-cpu")
    lock = threading.Lock()
    state = startup.StartupState()
    phases: list[str] = []

    def on_line(line: str, t: float) -> None:
        nonlocal state
        with lock:
            state = startup.feed(state, line, t)
            if not phases or phases[-1] != state.phase:
                phases.append(state.phase)

    follower = LogFollower(src.logs(cid, tail=0, follow=True), on_line)
    t0 = time.monotonic()
    try:
        base = f"http://127.0.0.1:{port}"
        healthy = False
        with httpx.Client(base_url=base, timeout=5) as http:
            while time.monotonic() - t0 < READY_TIMEOUT:
                if src.api.inspect_container(cid)["State"]["Status"] != "running":
                    break
                try:
                    healthy = http.get("/health").status_code == 200
                except httpx.HTTPError:
                    healthy = False
                if healthy:
                    break
                time.sleep(1)
            log = follower.text
            assert healthy, f"no /health 200 within {READY_TIMEOUT} s; log tail:\n{log()[-4000:]}"
            # /health can answer before the log reader has seen the last startup lines.
            assert wait_until(lambda: state.phase == "health", timeout=15), (state.phase, log()[-3000:])
            with lock:
                state = startup.health_ok(state, time.monotonic())
                phases.append(state.phase)
            elapsed = time.monotonic() - t0
            print(f"vLLM container ready in {elapsed:.1f} s; phases {phases}; details {state.details}")
            print(f"time per phase: { {k: round(v, 1) for k, v in state.elapsed(time.monotonic()).items()} }")

            assert state.ready and state.progress == 1.0
            for key in ("load", "kv", "api", "health", "ready"):
                assert key in phases, (key, phases)
            order = [startup.ORDER[p] for p in phases]
            assert order == sorted(order), phases
            assert state.details["architecture"] == "LlamaForCausalLM"
            assert state.details["max_model_len"] == "1024"
            assert state.details["version"] == "0.32.0"

            reply = http.post(
                "/v1/chat/completions",
                timeout=60,
                json={
                    "model": SERVED_NAME,
                    "max_tokens": 8,
                    "stream": False,
                    "messages": [{"role": "user", "content": "Hello!"}],
                },
            )
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["model"] == SERVED_NAME and body["usage"]["completion_tokens"] >= 1
    finally:
        remove_container(src.api, cid)
        follower.close()
        src.close()
