"""Secrets: which names hold credentials, and masking them wherever jetconsole shows or writes text.

A masked value keeps none of its characters (not even a prefix): ``HF_TOKEN=••••``.
Env mappings and lists (``mask_env``), known values in free text (``mask_text``), command
lines as argv or as one string (``mask_argv``, ``mask_command``), URLs (``mask_url``), prose
(``mask_prose``), JSON-like data (``mask_data``) and Docker's inspect document (``mask_inspect``).
Pure functions; nothing here reads the process environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, overload

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


# An environment variable named *_KEY holds a key (STRIPE_KEY, APP_KEY); as a setting's or a JSON field's name
# ("sort_key", a schema's "key") it does not, so only variables are judged by it (``is_secret_variable``).
_VARIABLE_KEY = re.compile(r"(?:^|_)KEY$")


def is_secret_variable(name: str) -> bool:
    """``is_secret``, and any variable named ``*_KEY``: for ``NAME=value`` in env lists and command lines."""
    upper = name.strip().upper()
    return is_secret(name) or (upper not in _NOT_SECRET and _VARIABLE_KEY.search(upper) is not None)


def _hidden(name: str, names: frozenset[str]) -> bool:
    return name in names or is_secret_variable(name)


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


# ---- command lines, URLs and free text --------------------------------------------------------
#
# Values that are secret by where they stand rather than by a known value: the word after
# ``--api-key``, the value of ``HF_TOKEN=...``, the password of ``https://user:pass@host``,
# ``?api_key=...``.  Everything jetconsole writes to disk (bench reports, the audit log, the
# chat store and its exports, remembered settings) goes through these first.

# Long flags that take a credential but whose names ``is_secret`` does not match.
_SECRET_FLAGS = frozenset({"API_KEYS", "PASSWD", "AUTH", "AUTH_TOKEN", "ACCESS_TOKEN", "SECRET"})
# Flags whose names look secret but which are switches or take something else.
_NOT_SECRET_FLAGS = frozenset({"PASSWORD_STDIN", "HF_HUB_DISABLE_IMPLICIT_TOKEN"})
# Query parameters that carry a credential besides those ``is_secret`` matches.
_SECRET_PARAMS = frozenset({"KEY", "SIG", "SIGNATURE", "AUTH", "ACCESS_TOKEN", "CODE"})

_FLAG = re.compile(r"(?<![\w-])(?P<flag>--?[A-Za-z][\w-]*)(?P<sep>=|[ \t]+)(?P<value>\"[^\"]*\"|'[^']*'|[^\s'\"]+)")
_ENV_ANY = re.compile(r"(?<![\w\-?&./%])(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\"[^\"]*\"|'[^']*'|[^\s'\"]+)")
# A preset's environment set on a command line: ``--set env.HF_TOKEN=X`` (the dot keeps _ENV_ANY off it)
_ENV_SETTING = re.compile(
    r"(?P<lead>--set[= ]\s*)(?P<q>['\"])?env\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?!=)"
    # quoted whole (shlex.join quotes a setting with a shell character or a space): the value runs to the quote
    r"(?P<value>(?(q)(?:(?!(?P=q)).)*|(?:\"[^\"]*\"|'[^']*'|[^\s'\"]+)))"
)
_ENV_UPPER = re.compile(r"(?<![\w\-?&./%])(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>\"[^\"]*\"|'[^']*'|[^\s'\"]+)")
# ``api_key='x'``: a keyword argument given a quoted value (SGLang's start-up ``ServerArgs(..., api_key='x')``), a
# credential in prose too, where a lower-case name with a bare value (``password=input()``) is code.
_KEYWORD = re.compile(r"(?<![\w\-?&./%])(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\"[^\"]*\"|'[^']*')")
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][\w+.-]*://)(?P<userinfo>[^\s/?#@'\"]+)@")
_QUERY = re.compile(r"(?P<lead>[?&;])(?P<name>[\w.-]+)=(?P<value>[^&#\s'\"]+)")
_KEYED = re.compile(
    r"(?P<q>[\"'])(?P<name>[\w-]+)(?P=q)(?P<colon>\s*:\s*)(?P<vq>[\"'])(?P<value>(?:\\.|(?!(?P=vq))[^\\])*)(?P=vq)"
)
# ``'api_key': ['k1', 'k2']``: a secret name's list of values (vLLM's start-up "non-default args" line shows
# ``--api-key`` so, as a list), each item masked.
_ITEM = r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|[^\s,\[\]\"']+"
_KEYED_LIST = re.compile(
    r"(?P<head>(?P<q>[\"'])(?P<name>[\w-]+)(?P=q)\s*:\s*\[)"
    r"(?P<items>\s*(?:" + _ITEM + r")(?:\s*,\s*(?:" + _ITEM + r"))*\s*,?\s*)\]"
)
_LIST_ITEM = re.compile(_ITEM)
_GLUED = re.compile(re.escape(MASK) + r"[A-Za-z0-9_-]+")
_BEARER = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)(?P<space>\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# Credentials recognisable by their shape wherever they stand.
_SHAPES = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{20,}"
    r"|sk-[A-Za-z0-9_-]{16,}"
    r"|nvapi-[A-Za-z0-9_-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_\w{20,}"
    r"|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16})"
)


# Every rule above needs one of these in the text (a flag's "--", an assignment's "=", a URL's or a JSON key's ":",
# a scheme word, a token's prefix, or a mask a value continues): text with none of them holds no secret.  One search
# instead of nine substitutions: a streamed chunk (a token or two) almost never has one.
_TRIGGERS = re.compile(
    r"[=:]|--|" + re.escape(MASK) + r"|hf_|sk-|nvapi-|gh[pousr]_|github_pat_|xox[abpr]-|AKIA|bearer|basic|token",
    re.IGNORECASE,
)


def _sub(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str) -> str:
    """``pattern.sub(replace, text)``, but ``text`` itself when no match changes: most matches in a long answer are
    left as they are, and ``re.sub`` would copy the whole text for each rule (a 200 kB answer, folded in the store)."""
    pieces: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        new = replace(m)
        if new != m[0]:
            pieces += (text[last : m.start()], new)
            last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _name(word: str) -> str:
    return word.lstrip("-").replace("-", "_").upper()


def is_secret_flag(flag: str) -> bool:
    """True for a command-line flag that takes a credential: ``--api-key``, ``--hf-token``, ``--password``."""
    if not flag.startswith("--"):
        return False  # short flags are too ambiguous (-p is a port, -k insecure)
    name = _name(flag)
    if not name or name in _NOT_SECRET_FLAGS:
        return False
    return name in _SECRET_FLAGS or is_secret(name)


def _masked(value: str) -> str:
    """MASK in place of ``value``, keeping its quotes; an empty value stays empty."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return f"{value[0]}{MASK}{value[0]}" if len(value) > 2 else value
    return MASK if value else value


def mask_url(url: str) -> str:
    """``url`` with the password of its user info (``https://user:pass@host``) and secret query values masked.

    A user name alone (``https://TOKEN@host``) is masked whole: it is how tokens are often passed.
    """
    return _mask_query(_mask_userinfo(url))


def _mask_userinfo(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        user, colon, _password = m["userinfo"].partition(":")
        return m["scheme"] + (f"{user}:{MASK}" if colon else MASK) + "@"

    return _sub(_USERINFO, sub, text)


def _mask_query(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = _name(m["name"])
        hidden = name in _SECRET_PARAMS or (is_secret(name) and name not in _NOT_SECRET)
        return f"{m['lead']}{m['name']}={MASK}" if hidden else m[0]

    return _sub(_QUERY, sub, text)


def _mask_env_assignments(text: str, pattern: re.Pattern[str]) -> str:
    def sub(m: re.Match[str]) -> str:
        return f"{m['name']}={_masked(m['value'])}" if is_secret_variable(m["name"]) else m[0]

    return _sub(pattern, sub, text)


def _mask_keyed(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if not m["value"] or not is_secret(_name(m["name"])):
            return m[0]
        return f"{m['q']}{m['name']}{m['q']}{m['colon']}{m['vq']}{MASK}{m['vq']}"

    def items(m: re.Match[str]) -> str:
        if not is_secret(_name(m["name"])):
            return m[0]
        return m["head"] + _LIST_ITEM.sub(lambda item: _masked(item[0]), m["items"]) + "]"

    return _sub(_KEYED_LIST, items, _sub(_KEYED, sub, text))


def _mask_common(text: str, prose: bool) -> str:
    text = _mask_userinfo(text)
    text = _mask_query(text)
    text = _mask_keyed(text)
    text = _mask_env_assignments(text, _ENV_UPPER if prose else _ENV_ANY)
    text = _sub(
        _ENV_SETTING,
        lambda m: (
            f"{m['lead']}{m['q'] or ''}env.{m['name']}={_masked(m['value'])}" if is_secret_variable(m["name"]) else m[0]
        ),
        text,
    )
    if prose:
        text = _sub(_KEYWORD, lambda m: f"{m['name']}={_masked(m['value'])}" if is_secret(m["name"]) else m[0], text)

    def bearer(m: re.Match[str]) -> str:  # in prose "Basic questions" is a phrase, "Bearer ab12cd34" a key
        if prose and not _looks_like_a_credential(m["value"]):
            return m[0]
        return f"{m['scheme']}{m['space']}{MASK}"

    text = _sub(_BEARER, bearer, text)
    text = _SHAPES.sub(MASK, text)
    # a value masked in one piece of a stream and continued in the next (``--api-key ••••`` + ``6789abc``)
    return _GLUED.sub(MASK, text)


def _looks_like_a_credential(value: str) -> bool:
    """For free text: ``--api-key to`` is prose, ``--api-key abc123def`` is a key."""
    bare = value.strip("'\"")
    return len(bare) >= 8 and any(c.isdigit() for c in bare)


def _mask_flags(text: str, prose: bool) -> str:
    def sub(m: re.Match[str]) -> str:
        flag, sep, value = m["flag"], m["sep"], m["value"]
        if not is_secret_flag(flag):
            return m[0]
        if sep != "=" and value.startswith("-"):
            return m[0]  # ``--hf-token --port 8000``: the flag used as a switch
        if prose and sep != "=" and not _looks_like_a_credential(value):
            return m[0]
        return f"{flag}{sep}{_masked(value)}"

    return _sub(_FLAG, sub, text)


def mask_command(text: str) -> str:
    """A shell-like command line with every credential in it masked, the rest kept as it is.

    The value after a secret flag (``--api-key X``, ``--api-key=X``, ``--hf-token``, ``--token``,
    ``--password``), secret env assignments (``HF_TOKEN=X vllm serve``, ``-e HF_TOKEN=X``,
    ``--env OPENAI_API_KEY=X``), URL passwords and secret query values, ``"api_key": "X"`` in
    inline JSON, ``Bearer X``, and values shaped like known tokens (``hf_…``, ``sk-…``).
    """
    if not _TRIGGERS.search(text):
        return text
    return _mask_common(_mask_flags(text, prose=False), prose=False)


def mask_prose(text: str) -> str:
    """Free text (a chat message, an error, a note) with the credentials in it masked.

    As :func:`mask_command`, but careful not to garble prose: an env assignment counts only
    with an upper-case name (``HF_TOKEN=X``, not ``password=input()``) and the word after a
    secret flag only when it looks like a key (``--api-key to vllm`` is left alone).
    """
    if not _TRIGGERS.search(text):
        return text
    return _mask_common(_mask_flags(text, prose=True), prose=True)


def mask_argv(argv: Sequence[str]) -> list[str]:
    """A copy of ``argv`` with every credential masked: the argument after a secret flag, the
    value of ``--flag=X`` and of ``NAME=X`` (after ``-e``/``--env`` or as an env prefix), and
    whatever :func:`mask_command` finds inside an argument (``bash -c "..."``, a URL)."""
    out: list[str] = []
    take_next = False
    for arg in argv:
        if take_next and not arg.startswith("-"):
            out.append(MASK if arg else arg)
            take_next = False
            continue
        take_next = "=" not in arg and is_secret_flag(arg)
        out.append(mask_command(arg))
    return out


def mask_inspect(document: Mapping[str, Any]) -> dict[str, Any]:
    """Docker's inspect document with every credential masked: ``Config.Env`` by variable name (a value
    with spaces hidden whole), ``Config.Cmd``, ``Config.Entrypoint`` and ``Args`` as argv (``--api-key X``,
    ``HF_TOKEN=X``), and every other string as a command line (:func:`mask_data`)."""
    config = document.get("Config")
    if isinstance(config, Mapping) and isinstance(config.get("Env"), list):
        document = {**document, "Config": {**config, "Env": mask_env([str(e) for e in config["Env"]])}}
    return dict(mask_data(dict(document)))


def mask_data(value: Any, text: Callable[[str], str] = mask_command) -> Any:
    """JSON-like ``value`` (dicts, lists, strings, numbers) with every credential masked.

    A dict entry whose key names a secret (``api_key``, ``HF_TOKEN``, ``password``) has its
    value replaced by MASK whatever it holds (an empty one is kept); a list of strings is
    masked as an argv (``["vllm", "serve", "--api-key", "X"]``); every other string through
    ``text`` (:func:`mask_command`, or :func:`mask_prose` for what people wrote).
    """
    if isinstance(value, str):
        return text(value)
    if isinstance(value, Mapping):
        return {
            k: (MASK if value_ and isinstance(k, str) and is_secret(_name(k)) else mask_data(value_, text))
            for k, value_ in value.items()
        }
    if isinstance(value, list | tuple):
        items = list(value)
        if items and all(isinstance(i, str) for i in items):
            masked: list[Any] = [text(a) if a == m else m for a, m in zip(items, mask_argv(items), strict=True)]
        else:
            masked = [mask_data(i, text) for i in items]
        return tuple(masked) if isinstance(value, tuple) else masked
    return value
