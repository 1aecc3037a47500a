"""Where chat and the server probe talk to: base URLs and API keys (keys never shown)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


def v1_url(url: str) -> str:
    """``http://host:8000``, ``…/`` or ``…/v1`` → ``http://host:8000/v1``."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def canonical(url: str) -> str:
    """One spelling per server, to key polls and selections: ``…/v1``, localhost as 127.0.0.1."""
    return v1_url(url).replace("://localhost:", "://127.0.0.1:").replace("://localhost/", "://127.0.0.1/")


def is_local(url: str) -> bool:
    """A server on this host (loopback): a path it names is a path on this disk."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "0.0.0.0"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def root_url(url: str) -> str:
    """The server root (``/health``, ``/metrics`` live there): ``…/v1`` → ``…``."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def resolve_key(spec: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """``env:NAME`` reads $NAME (None when unset); any other non-empty text is the key itself."""
    if not spec:
        return None
    env = os.environ if env is None else env
    if spec.startswith("env:"):
        return env.get(spec[4:]) or None
    return spec


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible server. ``api_key`` is left out of repr and str."""

    url: str  # …/v1
    api_key: str | None = field(default=None, repr=False)
    key_source: str = ""  # what to show instead of the key: "env:VLLM_API_KEY", "config", ""

    @property
    def root(self) -> str:
        return root_url(self.url)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def label(self) -> str:
        return self.url + (f" (key: {self.key_source})" if self.key_source else "")


def endpoints(
    servers: tuple[str, ...], api_keys: Mapping[str, str], env: Mapping[str, str] | None = None
) -> list[Endpoint]:
    """Configured servers with their keys; ``api_keys`` maps a URL (with or without /v1) to a key spec."""
    by_url = {v1_url(u): spec for u, spec in api_keys.items()}
    out = []
    for url in dict.fromkeys(v1_url(s) for s in servers):
        spec = by_url.get(url)
        source = spec if spec and spec.startswith("env:") else ("config" if spec else "")
        out.append(Endpoint(url, resolve_key(spec, env), source))
    return out


def endpoint_for(configured: Sequence[Endpoint], url: str) -> Endpoint:
    """A configured endpoint for ``url`` (with its key), else a bare one (a container's URL)."""
    return next((e for e in configured if canonical(e.url) == canonical(url)), Endpoint(canonical(url)))
