"""The servers list: inference containers joined with the configured endpoints (pure).

A container's URL comes from the ``jetconsole.url`` label when a user sets one, else a
published port, else ``--port N`` in its command (host network: every preset launch has
it), else the default port of a known image (vLLM 8000, SGLang 30000).  A configured endpoint that matches no
container gets a row of its own (a server outside Docker, or on another host).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.chat.endpoints import canonical, v1_url
from console.containers.model import ContainerInfo
from console.containers.view import is_inference

DEFAULT_PORTS = (("sglang", 30000), ("vllm", 8000))
URL_LABEL = "jetconsole.url"


@dataclass(frozen=True)
class ServerRow:
    key: str  # container id, or the URL of a configured endpoint
    name: str
    url: str | None  # …/v1, None when it cannot be told (Open WebUI, unknown image)
    container: ContainerInfo | None = None


def container_url(c: ContainerInfo) -> str | None:
    """Where an inference container answers the OpenAI API, as seen from this host."""
    if c.labels.get(URL_LABEL):
        return canonical(c.labels[URL_LABEL])
    image = c.image.lower()
    if "open-webui" in image:
        return None  # a web UI, not an OpenAI server of its own
    m = re.search(r"(?:^|\s)--port[=\s]+(\d+)", c.command)
    inner = int(m.group(1)) if m else next((p for hint, p in DEFAULT_PORTS if hint in image), None)
    for port in c.ports:
        pm = re.match(r"(?:[\d.:\[\]]*:)?(\d+)->(\d+)/tcp", port)
        if pm and (inner is None or int(pm.group(2)) == inner):
            return f"http://127.0.0.1:{pm.group(1)}/v1"
    if inner is None:
        return None
    return f"http://127.0.0.1:{inner}/v1"


def server_rows(containers: tuple[ContainerInfo, ...], configured: tuple[str, ...]) -> list[ServerRow]:
    """Inference containers (running first), then configured endpoints no container answers on.

    Row URLs are ``canonical`` (localhost written 127.0.0.1): the app keys polls and the
    chat's selection by them.
    """
    rows = [
        ServerRow(c.id, c.name, container_url(c), c)
        for c in sorted((c for c in containers if is_inference(c)), key=lambda c: (not c.running, c.name))
    ]
    for url in configured:
        if not any(r.url == canonical(url) for r in rows):
            name = v1_url(url).removeprefix("http://").removesuffix("/v1")
            rows.append(ServerRow(canonical(url), name, canonical(url)))
    return rows
