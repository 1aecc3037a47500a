"""What a bench run measures, from text: concurrency levels and ``[LABEL=]URL`` targets.

No Textual, no I/O.  The CLI's arguments and the Bench screen's form both parse through here.
"""

from __future__ import annotations

from console import config as cfg
from console.bench.runner import Target
from console.chat.endpoints import endpoints, v1_url
from console.runtime.secrets import mask_url


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ValueError(f"concurrency must be whole numbers separated by commas, e.g. 1,4,16, not {text!r}") from exc
    if not levels or min(levels) < 1:
        raise ValueError(f"concurrency levels must be 1 or more, not {text!r}")
    return tuple(dict.fromkeys(levels))


def _host_and_path(url: str) -> str:
    """A default label from a URL: ``host:port[/path]``, without a user or password (``user:pass@``) and
    with secret query values masked, since the label is shown and saved."""
    rest = url.split("://", 1)[-1]
    netloc, slash, path = rest.partition("/")
    return mask_url(netloc.rpartition("@")[2] + slash + path).removesuffix("/v1")


def parse_targets(specs: list[str], config: cfg.Config, model: str) -> list[Target]:
    """``[LABEL=]URL`` specs into targets, with keys from config; labels made unique."""
    configured = {e.url: e for e in endpoints(config.servers, config.api_keys)}
    if not specs:
        if not configured:
            raise ValueError("no server to measure: pass --endpoint URL or set [endpoints] servers")
        specs = [next(iter(configured))]
    targets: list[Target] = []
    for spec in specs:
        label, sep, url = spec.partition("=")
        if not sep or "://" in label:
            label, url = "", spec
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url!r} (use LABEL=http://host:port)")
        endpoint = configured.get(v1_url(url)) or endpoints((url,), config.api_keys)[0]
        default = _host_and_path(endpoint.url)
        targets.append(Target(label or default, endpoint, model))
    labels = [t.label for t in targets]
    if len(set(labels)) != len(labels):
        raise ValueError(f"two configurations have the same label: {labels}; name them LABEL=URL")
    return targets
