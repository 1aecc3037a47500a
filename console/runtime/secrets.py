"""Secrets: which environment names hold credentials, and masking them for display.

A masked value keeps none of its characters (not even a prefix): ``HF_TOKEN=••••``.
Pure functions; nothing here reads the process environment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import overload

MASK = "••••"

# Values shorter than this are not searched for in free text: masking every "1" or "ab"
# in a log would garble it while protecting nothing a real credential looks like.
MIN_TEXT_SECRET_LEN = 4

_EXACT = frozenset(
    {
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HUGGINGFACE_TOKEN",
        "HUGGINGFACEHUB_API_TOKEN",
        "NGC_API_KEY",
        "NGC_CLI_API_KEY",
        "OPENAI_API_KEY",
        "VLLM_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "WEBUI_SECRET_KEY",
        "TOKEN",
        "API_KEY",
        "APIKEY",
    }
)

# Names that match a pattern below but are switches, not credentials.
_NOT_SECRET = frozenset(
    {
        "HF_HUB_DISABLE_IMPLICIT_TOKEN",
    }
)

_PATTERNS = (
    re.compile(r"_TOKEN$"),  # GITHUB_TOKEN, WANDB_TOKEN (not MAX_TOKENS, not TOKENIZERS_PARALLELISM)
    re.compile(r"_?API_?KEY$"),  # OPENAI_API_KEY, NGC_APIKEY
    re.compile(r"_ACCESS_KEY$"),  # AWS_SECRET_ACCESS_KEY, MINIO_ROOT_ACCESS_KEY
    re.compile(r"_PRIVATE_KEY$"),
    re.compile(r"SECRET"),  # *_SECRET, *_SECRET_KEY, CLIENT_SECRET
    re.compile(r"PASSW(OR)?D"),  # *PASSWORD*, *_PASSWD
    re.compile(r"_CREDENTIALS?$"),
    re.compile(r"_AUTH_KEY$"),
)


def is_secret(name: str) -> bool:
    """True when an environment variable of this name holds a credential (case-insensitive)."""
    upper = name.strip().upper()
    if not upper or upper in _NOT_SECRET:
        return False
    return upper in _EXACT or any(p.search(upper) for p in _PATTERNS)


def _hidden(name: str, names: frozenset[str]) -> bool:
    return name in names or is_secret(name)


@overload
def mask_env(env: Mapping[str, str], names: Iterable[str] = ()) -> dict[str, str]: ...
@overload
def mask_env(env: list[str], names: Iterable[str] = ()) -> list[str]: ...


def mask_env(env: Mapping[str, str] | list[str], names: Iterable[str] = ()) -> dict[str, str] | list[str]:
    """A copy of ``env`` with the values of secret variables replaced by ``MASK``.

    ``env`` is a mapping or a list of ``NAME=VALUE`` strings (docker inspect's
    ``Config.Env``); the result has the same shape.  ``names`` are treated as secret in
    addition to those ``is_secret`` recognises.  An empty value stays empty (there is
    nothing to hide, and "the token is empty" is worth seeing); a list entry without
    ``=`` (docker's pass-through form) is kept as it is.
    """
    extra = frozenset(names)
    if isinstance(env, Mapping):
        return {k: (MASK if v and _hidden(k, extra) else v) for k, v in env.items()}
    out: list[str] = []
    for item in env:
        key, sep, value = item.partition("=")
        out.append(f"{key}={MASK}" if sep and value and _hidden(key, extra) else item)
    return out


def secret_values(env: Mapping[str, str], names: Iterable[str] = ()) -> list[str]:
    """The values of the secret variables in ``env`` (for ``mask_text``)."""
    extra = frozenset(names)
    return [v for k, v in env.items() if v and _hidden(k, extra)]


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each known secret value replaced by ``MASK``.

    For free text such as a command line or container logs.  Longer values are
    replaced first, so a secret that contains another is hidden whole.  Values shorter
    than ``MIN_TEXT_SECRET_LEN`` are skipped.
    """
    values = sorted({s for s in secrets if s and len(s) >= MIN_TEXT_SECRET_LEN}, key=len, reverse=True)
    if not values:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return pattern.sub(MASK, text)
