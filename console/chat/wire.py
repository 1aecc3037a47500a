"""What goes over the wire to an OpenAI-compatible server, as plain values (no I/O, no httpx).

A chat request and its JSON body, and one entry of ``/v1/models``.  The screens, the state
and the session hold these; only ``console.chat.client`` (which imports httpx) sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.chat.endpoints import Endpoint
from console.chat.model import ImageRef
from console.chat.shape import Shape, modern_extra
from console.runtime.sanitise import clean

IMAGE_PART = "image_ref"  # a content part naming a stored image, made an image_url data URL when sent


def _length(value: Any) -> int | None:
    """A context length the server gave as a number (a string or anything else is unknown)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class ModelInfo:
    id: str
    max_model_len: int | None = None
    owned_by: str = ""
    root: str = ""  # the weights path or repo vLLM serves it from

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelInfo:
        """One entry of ``/v1/models``' ``data``; the server's strings cleaned (one-line fields)."""
        return cls(
            clean(str(row.get("id", "?"))),
            _length(row.get("max_model_len")),
            clean(str(row.get("owned_by") or "")),
            clean(str(row.get("root") or "")),
        )


@dataclass(frozen=True)
class ChatRequest:
    """``messages``' contents are strings, or lists of parts where an image is ``{"type": IMAGE_PART, "ref":
    ImageRef}`` (its bytes are read when the body is made). ``prompt`` set: a ``/v1/completions`` request."""

    endpoint: Endpoint
    model: str
    messages: tuple[dict[str, Any], ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the body (chat_template_kwargs…)
    shape: Shape | None = None
    prompt: str | None = None

    @property
    def path(self) -> str:
        return "/completions" if self.prompt is not None else "/chat/completions"

    @property
    def images(self) -> tuple[ImageRef, ...]:
        return tuple(
            part["ref"]
            for m in self.messages
            if isinstance(m.get("content"), list)
            for part in m["content"]
            if part.get("type") == IMAGE_PART
        )


ImageLoader = Callable[[ImageRef], str | None]  # an image's data URL; None: its bytes are gone


def user_content(text: str, images: tuple[ImageRef, ...]) -> str | list[dict[str, Any]]:
    """A question's content: the text alone, or its text and images as content parts."""
    if not images:
        return text
    return [{"type": "text", "text": text}, *({"type": IMAGE_PART, "ref": ref} for ref in images)]


def _note(ref: ImageRef, why: str) -> dict[str, str]:
    return {"type": "text", "text": f"[image {ref.name or ref.sha256[:12]}: {why}]"}


def within_images(turns: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """``turns`` with the oldest image parts made notes until at most ``most`` images are left (the newest)."""
    places = [
        (t, p)
        for t, turn in enumerate(turns)
        if isinstance(turn.get("content"), list)
        for p, part in enumerate(turn["content"])
        if part.get("type") == IMAGE_PART
    ]
    drop = set(places[: max(0, len(places) - most)])
    if not drop:
        return turns
    out = []
    for t, turn in enumerate(turns):
        if any(t == dt for dt, _ in drop):
            parts = [
                _note(part["ref"], "sent in an earlier turn") if (t, p) in drop else part
                for p, part in enumerate(turn["content"])
            ]
            turn = {**turn, "content": parts}
        out.append(turn)
    return out


def _sent_content(content: Any, load: ImageLoader | None) -> Any:
    if not isinstance(content, list):
        return content
    out = []
    for part in content:
        if part.get("type") == IMAGE_PART:
            if load is None:
                raise ValueError("an image part needs a loader")
            url = load(part["ref"])
            out.append(
                {"type": "image_url", "image_url": {"url": url}} if url else _note(part["ref"], "no longer stored")
            )
        else:
            out.append(part)
    return out


def request_body(req: ChatRequest, load: ImageLoader | None = None) -> dict[str, Any]:
    """The JSON body: streaming with usage; ``extra`` may add or override fields, not streaming. Images are
    inlined as data URLs (``load``); the shape's fields are set; a ``guided_*`` field of ``extra`` is moved
    to ``structured_outputs`` (vLLM ≥ 0.12 ignores the old fields silently)."""
    body: dict[str, Any] = {"model": req.model}
    if req.prompt is not None:
        body["prompt"] = req.prompt
    else:
        body["messages"] = [{**m, "content": _sent_content(m.get("content"), load)} for m in req.messages]
    for key in ("temperature", "top_p", "max_tokens"):
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    body.update(modern_extra(req.extra)[0])
    if req.shape is not None:
        body.pop("response_format", None)
        body.pop("structured_outputs", None)
        body.update(req.shape.body())
    body["stream"] = True
    options = dict(body.get("stream_options") or {})
    options["include_usage"] = True
    body["stream_options"] = options
    return body
