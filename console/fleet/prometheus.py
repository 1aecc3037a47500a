"""The fleet read from a Prometheus server that scrapes the agents, instead of from each agent.

One instant query a round (``/api/v1/query``) asks for the few series a tile needs, of every target of
the ``jetconsole`` job (deploy/prometheus/ has the scrape config and recording rules).  Each device is
found by its ``device`` label (``jetconsole fleet --targets`` writes one for every hosts-file line) or
else by its agent's ``host:port`` as Prometheus' ``instance``.  A target Prometheus cannot scrape has
``up`` 0; a device it does not scrape has no series: each says so on its tile.  A Prometheus that is
down or answers garbage is every device's error, and the view goes on.  Everything in the answer is
untrusted text: names and labels are cleaned, numbers must be finite.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from console.fleet.hosts import Device
from console.fleet.reading import BadAnswer, Reading, ServerFigures
from console.fleet.state import Answer
from console.runtime.sanitise import clean
from console.runtime.secrets import mask_url

JOB = "jetconsole"
VIA = "prometheus"
MAX_BODY = 64 << 20  # ~4 kB a device: room for thousands
SERIES = (
    "gpu_utilization_ratio",
    "memory_used_bytes",
    "memory_total_bytes",
    "temperature_celsius",
    "power_watts",
    "help_flag",
    "help_flag_raised_timestamp_seconds",
    "server_phase",
    "server_info",
    "server_startup_progress_ratio",
    "server_generation_tokens_per_second",
    "server_requests_running",
    "server_requests_waiting",
)
QUERY = '{__name__=~"up|jetconsole_(' + "|".join(SERIES) + f')",job="{JOB}"}}'
SCRAPED = f'timestamp(up{{job="{JOB}"}})'  # when each target was last scraped (an instant query's own
# sample times are the query's)


@dataclass(frozen=True)
class Sample:
    name: str  # the metric's name without "jetconsole_" ("up" stays "up")
    labels: dict[str, str]
    value: float
    at: float  # Unix time of the scrape


def samples(doc: Any) -> list[Sample]:
    """The samples of an instant query's JSON answer; BadAnswer when it is not one."""
    if not isinstance(doc, dict):
        raise BadAnswer("not a Prometheus answer: no JSON object")
    if doc.get("status") != "success":
        raise BadAnswer(f"Prometheus refused the query: {clean(str(doc.get('error') or doc.get('status')))[:200]}")
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise BadAnswer("not a Prometheus answer: no vector result")
    out = []
    for item in data["result"]:
        if not isinstance(item, dict) or not isinstance(item.get("metric"), dict):
            continue
        pair = item.get("value")
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        try:
            at, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(at) and math.isfinite(value)):
            continue
        labels = {clean(str(k)): clean(str(v)) for k, v in item["metric"].items()}
        name = labels.pop("__name__", "")
        out.append(Sample(name.removeprefix("jetconsole_"), labels, value, at))
    return out


def instance_of(device: Device) -> str:
    """The ``instance`` label Prometheus gives the device's agent: its URL's host:port."""
    parts = urlsplit(device.url)
    return parts.netloc.rpartition("@")[2]


def key_of(sample: Sample) -> str:
    return sample.labels.get("device") or sample.labels.get("instance", "")


def devices_in(found: Sequence[Sample]) -> tuple[Device, ...]:
    """The devices Prometheus scrapes (every target of the job), when no hosts file names them."""
    seen: dict[str, Device] = {}
    for s in found:
        if s.name == "up" and (key := key_of(s)) and key not in seen:
            seen[key] = Device(name=key, url="http://" + s.labels.get("instance", key), group=s.labels.get("group", ""))
    return tuple(sorted(seen.values(), key=lambda d: d.name))


def answers_from(
    found: Sequence[Sample], devices: Sequence[Device], seconds: float, scraped: Sequence[Sample] = ()
) -> list[Answer]:
    """One Answer a device, in the devices' order, from one query's samples; ``scraped`` (SCRAPED's answer)
    dates each device's figures by its last scrape."""
    by_key: dict[str, list[Sample]] = {}
    for s in found:
        by_key.setdefault(key_of(s), []).append(s)
    when = {key_of(s): s.value for s in scraped}
    now_mono, now_wall = time.monotonic(), time.time()
    out = []
    for d in devices:
        key = d.name if d.name in by_key else (instance_of(d) if d.url else "")
        mine = by_key.get(key) or []
        reading, error = _reading(mine)
        if reading is not None and key in when:
            reading = replace(reading, at=when[key])
        # the figures are as old as the scrape, not as the query: a stalled Prometheus makes tiles stale
        at = now_mono - max(0.0, now_wall - reading.at) if reading is not None else now_mono
        out.append(Answer(d.name, reading, error, seconds, at, VIA))
    return out


def _reading(mine: list[Sample]) -> tuple[Reading | None, str | None]:
    up = [s for s in mine if s.name == "up"]
    if not up:
        return None, "Prometheus does not scrape it: add it to the scrape config (jetconsole fleet --targets)"
    if up[0].value != 1:
        return None, "Prometheus cannot scrape its agent (up = 0): it is down, slow or not an agent"
    one: dict[str, float] = {}
    temps: list[float] = []
    gpu: dict[str, float] = {}
    servers: dict[str, dict[str, Any]] = {}
    for s in mine:
        if s.name == "temperature_celsius":
            temps.append(s.value)
        elif s.name == "gpu_utilization_ratio":
            gpu[s.labels.get("gpu", "")] = s.value
        elif s.name.startswith("server_"):
            row = servers.setdefault(s.labels.get("server", ""), {})
            if s.name == "server_phase" and s.value == 1:
                row["phase"] = s.labels.get("phase", "")
            elif s.name == "server_info":
                row["model"] = s.labels.get("model", "")
            else:
                row[s.name] = s.value
        else:
            one[s.name] = s.value
    first_gpu = gpu[min(gpu, key=_gpu_order)] if gpu else None
    flag = one.get("help_flag") == 1
    return (
        Reading(
            at=up[0].at,
            host="",
            gpu_load=first_gpu * 100 if first_gpu is not None else None,
            memory_used=_whole(one.get("memory_used_bytes")),
            memory_total=_whole(one.get("memory_total_bytes")),
            hottest_c=max(temps, default=None),
            power_w=one.get("power_watts"),
            help_flag=flag,
            help_since=one.get("help_flag_raised_timestamp_seconds") if flag else None,
            servers=tuple(_server(name, row) for name, row in sorted(servers.items())),
        ),
        None,
    )


def _server(name: str, row: dict[str, Any]) -> ServerFigures:
    progress = row.get("server_startup_progress_ratio")
    phase = row.get("phase", "")
    return ServerFigures(
        name=name,
        phase=phase,
        model=row.get("model", ""),
        detail=f"{progress * 100:.0f}%" if phase == "STARTING" and progress is not None else "",
        gen_tps=row.get("server_generation_tokens_per_second"),
        running=_whole(row.get("server_requests_running")),
        waiting=_whole(row.get("server_requests_waiting")),
    )


def _gpu_order(label: str) -> tuple[int, str]:
    index, _, _ = label.partition(":")  # "0:Orin": the first GPU is the tile's
    return (int(index), label) if index.isdigit() else (1 << 30, label)


def _whole(value: float | None) -> int | None:
    return int(value) if value is not None else None


@dataclass(frozen=True)
class Round:
    """One query's outcome: the devices (the hosts file's, or those Prometheus scrapes), an Answer each, and
    why Prometheus gave none (None when it answered)."""

    devices: tuple[Device, ...]
    answers: list[Answer]
    error: str | None


async def read_prometheus(client: httpx.AsyncClient, base: str, devices: Sequence[Device], timeout: float) -> Round:
    """One query's Round; with no devices listed, the devices are those Prometheus scrapes."""
    start = time.monotonic()
    try:
        found, scraped = await asyncio.gather(
            _query(client, base, QUERY, timeout), _query(client, base, SCRAPED, timeout)
        )
    except BadAnswer as exc:
        error = clean(f"Prometheus at {mask_url(base)}: {exc}")
        late = [Answer(d.name, None, error, time.monotonic() - start, time.monotonic(), VIA) for d in devices]
        return Round(tuple(devices), late, error)
    listed = tuple(devices) or devices_in(found)
    return Round(listed, answers_from(found, listed, time.monotonic() - start, scraped), None)


async def _query(client: httpx.AsyncClient, base: str, query: str, timeout: float) -> list[Sample]:
    url = base.rstrip("/") + "/api/v1/query"
    try:
        async with client.stream("GET", url, params={"query": query}, timeout=timeout) as response:
            if response.status_code not in (200, 400, 422):  # Prometheus explains a refused query in JSON
                raise BadAnswer(f"HTTP {response.status_code}: is this a Prometheus server?")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise BadAnswer(f"an answer over {MAX_BODY >> 20} MiB")
    except httpx.TimeoutException:
        raise BadAnswer(f"no answer within {timeout:g} s") from None
    except httpx.ConnectError as exc:
        raise BadAnswer("unreachable: " + clean(str(exc).split("] ", 1)[-1] or "cannot connect")) from None
    except httpx.HTTPError as exc:
        raise BadAnswer(clean(f"{type(exc).__name__}: {exc}")) from None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise BadAnswer("not a Prometheus answer: not JSON") from None
    return samples(doc)
