"""Frozen chat records shared by the client, the store, the exporters and the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MessageStats:
    """How one answer came: timings in seconds from the moment the request was sent."""

    ttft: float | None = None  # first content or reasoning token
    total: float | None = None  # last byte of the stream
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    decode_tps: float | None = None  # (completion_tokens - 1) / (total - ttft): TTFT left out
    finish_reason: str | None = None  # stop | length | abort (stopped here) | error | None (cut)
    error: str | None = None  # the server's own message, or what went wrong on the way

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MessageStats:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class ImageRef:
    """An image a message carries: its bytes are stored once, under the data dir, named by ``sha256``
    (what was sent, after the client's downscale); history, search and exports keep only this."""

    sha256: str
    mime: str  # image/jpeg | image/png
    width: int  # as sent
    height: int
    name: str = ""  # the file's name as the user gave it (no folder)
    source_width: int = 0  # as read from the file
    source_height: int = 0
    tokens: int | None = None  # the prompt tokens it should cost (the model family's rule), None: unknown
    size: int = 0  # bytes as sent

    @property
    def file_name(self) -> str:
        """Its file in the image folder."""
        return f"{self.sha256}.{'png' if self.mime == 'image/png' else 'jpg'}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageRef | None:
        """None for a row that is not one (a damaged or hand-edited store)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            ref = cls(**known)
        except TypeError:
            return None
        ok = len(ref.sha256) == 64 and all(c in "0123456789abcdef" for c in ref.sha256)
        return ref if ok else None


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for (``delta.tool_calls``): the function and its arguments as the model wrote them."""

    name: str
    arguments: str
    id: str = ""

    def line(self) -> str:
        return f"{self.name}({self.arguments})"


@dataclass(frozen=True)
class ShapeCheck:
    """An answer checked against the shape asked for (a JSON schema, a choice, a regex)."""

    kind: str  # schema | choice | regex
    valid: bool
    error: str = ""  # the first error, said plainly
    pretty: str = ""  # a valid JSON answer, pretty-printed (what a copy takes)

    def line(self) -> str:
        what = {"schema": "JSON schema", "choice": "choice", "regex": "regex"}.get(self.kind, self.kind)
        return f"✓ valid ({what})" if self.valid else f"✗ invalid ({what}): {self.error}"


@dataclass(frozen=True)
class ChatMessage:
    """One turn. ``status``: done | streaming (being written) | stopped (Esc) | error | interrupted
    (the program died while it streamed: what was saved is kept)."""

    role: str  # system | user | assistant
    content: str
    reasoning: str = ""
    status: str = "done"
    stats: MessageStats | None = None
    id: int | None = None  # the store's row id
    created: float = 0.0
    images: tuple[ImageRef, ...] = ()  # a question's attachments
    tool_calls: tuple[ToolCall, ...] = ()  # an answer's calls
    check: ShapeCheck | None = None  # an answer checked against its shape
    mode: str = "chat"  # chat | completion (/v1/completions: the question is the whole prompt)

    def extra(self) -> dict[str, Any]:
        """What the store keeps beside the text (``messages.extra``), empty when there is nothing."""
        out: dict[str, Any] = {}
        if self.images:
            out["images"] = [i.to_dict() for i in self.images]
        if self.tool_calls:
            out["tool_calls"] = [asdict(t) for t in self.tool_calls]
        if self.check is not None:
            out["check"] = asdict(self.check)
        if self.mode != "chat":
            out["mode"] = self.mode
        return out


def extra_fields(data: dict[str, Any] | None) -> dict[str, Any]:
    """``ChatMessage`` fields from a stored ``extra`` (what ``ChatMessage.extra`` wrote); unknown or damaged
    parts are left out."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    images = [ImageRef.from_dict(i) for i in data.get("images") or () if isinstance(i, dict)]
    if images:
        out["images"] = tuple(i for i in images if i is not None)
    calls = data.get("tool_calls") or ()
    out["tool_calls"] = tuple(
        ToolCall(str(c.get("name", "")), str(c.get("arguments", "")), str(c.get("id", "")))
        for c in calls
        if isinstance(c, dict)
    )
    check = data.get("check")
    if isinstance(check, dict) and check.get("kind"):
        out["check"] = ShapeCheck(
            str(check["kind"]), bool(check.get("valid")), str(check.get("error", "")), str(check.get("pretty", ""))
        )
    if data.get("mode") == "completion":
        out["mode"] = "completion"
    return out


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: float
    updated: float
    endpoint: str = ""
    model: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # system prompt, sampling, extra body
    messages: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    updated: float
    model: str
    message_count: int
    snippet: str = ""  # where a search matched, else the start of the first user message
