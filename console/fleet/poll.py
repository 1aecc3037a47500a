"""Reading every device's agent at once: one asyncio round, each device under its own time limit.

A round asks every agent for ``/v1/state`` concurrently (one httpx connection pool, kept between rounds)
and gives one ``Answer`` per device as it comes: a dead device answers "connection refused" at once, a
stopped one runs into its own ``timeout``; neither holds up the others.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from console.fleet.hosts import Device
from console.fleet.reading import BadAnswer, reading
from console.fleet.ssh import SshSettings, read_over_ssh
from console.fleet.state import Answer
from console.runtime.sanitise import clean

MAX_BODY = 1 << 20  # an agent's answer is ~5 kB; a bigger one is not an agent


def token_for(device: Device) -> str | None:
    """The device's bearer token (its file's first line); None without one or when unreadable."""
    if not device.token_file:
        return None
    try:
        lines = Path(device.token_file).expanduser().read_text().split()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[0] if lines else None


async def read_device(client: httpx.AsyncClient, device: Device, timeout: float) -> Answer:
    start = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            got = reading(await get_json(client, f"{device.url}/v1/state", token_for(device), timeout))
        return Answer(device.name, got, None, time.monotonic() - start, time.monotonic())
    except TimeoutError:
        error = f"no answer within {timeout:g} s"
    except httpx.ConnectError as exc:
        error = "unreachable: " + (str(exc).split("] ", 1)[-1] or "cannot connect")
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    except BadAnswer as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one device's odd answer (or token file) never stops the round
        error = f"bad answer: {type(exc).__name__}: {exc}"
    return Answer(device.name, None, clean(error), time.monotonic() - start, time.monotonic())


async def get_json(client: httpx.AsyncClient, url: str, token: str | None, timeout: float) -> Any:
    """An agent's JSON answer, read up to MAX_BODY bytes; BadAnswer when it is not one, httpx's errors as they
    are."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        if response.status_code == 401:
            raise BadAnswer("the agent wants a token: add token=FILE to this device's line")
        if response.status_code != 200:
            raise BadAnswer(f"HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY:  # read no further: a garbage server does not fill this memory
                raise BadAnswer(f"an answer over {MAX_BODY} bytes is not an agent's")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadAnswer("not a jetconsole agent: its answer is not JSON") from None


async def answers(client: httpx.AsyncClient, devices: Sequence[Device], timeout: float) -> AsyncIterator[Answer]:
    """Every device's answer of one round, in the order they come."""
    for next_answer in asyncio.as_completed([read_device(client, d, timeout) for d in devices]):
        yield await next_answer


def new_client(devices: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max(devices, 1) + 4, max_keepalive_connections=max(devices, 1))
    return httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)


def one_round(devices: Sequence[Device], timeout: float, ssh: SshSettings | None = None) -> list[Answer]:
    """One round for a CLI (``jetconsole fleet``): every answer, in the devices' order; a device without an
    agent is read over SSH at the same time (``ssh``: its settings)."""
    ssh = ssh or SshSettings()
    agents = [d for d in devices if d.url]
    others = [d for d in devices if not d.url]

    async def run() -> list[Answer]:
        async with new_client(len(agents)) as client:
            over_ssh = asyncio.gather(*(read_over_ssh(d, ssh.config, ssh.timeout) for d in others))
            got = {a.name: a async for a in answers(client, agents, timeout)}
            got.update({a.name: a for a in await over_ssh})
        return [got[d.name] for d in devices]

    return asyncio.run(run())
