"""The chat the UI shows: endpoint, model, settings and the turns so far (pure state).

The runtime's state holds one ``ChatSession`` (immutable); the dashboard's chat pane and the
full Chat screen both draw it, so zooming keeps the conversation and the answer being streamed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from console.chat import context
from console.chat.capability import Capabilities
from console.chat.endpoints import Endpoint
from console.chat.model import ChatMessage, Conversation, ImageRef, MessageStats, ShapeCheck, ToolCall
from console.chat.shape import KINDS as SHAPE_KINDS
from console.chat.shape import Shape, schema_problem
from console.chat.wire import ChatRequest, ModelInfo, user_content, within_images

MAX_TITLE = 60


@dataclass(frozen=True)
class ChatSettings:
    system_prompt: str = ""
    temperature: float | None = 0.7
    top_p: float | None = 1.0
    max_tokens: int | None = 512
    extra_body: dict[str, Any] = field(default_factory=dict)
    shape: Shape | None = None  # the answer's shape (structured output); None: free text
    mode: str = "chat"  # chat | completion (/v1/completions: what is typed is the whole prompt)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "extra_body": self.extra_body,
        }
        if self.shape is not None:  # the schema as JSON text: the store masks values by key name (a "token" field)
            sh = self.shape
            out["shape"] = {"kind": sh.kind, "schema_json": json.dumps(sh.schema), "pattern": sh.pattern}
            out["shape"] |= {"choices": list(sh.choices), "spec": sh.spec}
        if self.mode != "chat":
            out["mode"] = self.mode
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], default: ChatSettings) -> ChatSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k not in ("shape", "mode")}
        shape = _shape_from(data.get("shape"))
        mode = "completion" if data.get("mode") == "completion" else "chat"
        return replace(default, **known, shape=shape, mode=mode)


def _shape_from(data: Any) -> Shape | None:
    """A saved shape; None for none or a damaged one (a schema the library cannot check against included)."""
    if not isinstance(data, dict) or data.get("kind") not in SHAPE_KINDS:
        return None
    if data["kind"] == "schema" and not isinstance(data.get("schema_json"), str):
        return None  # a schema shape without its schema would pass any answer
    try:
        schema = json.loads(data["schema_json"]) if isinstance(data.get("schema_json"), str) else {}
    except ValueError:
        return None
    if not isinstance(schema, dict) or (data["kind"] == "schema" and schema_problem(schema) is not None):
        return None
    choices = tuple(str(c) for c in data.get("choices") or () if isinstance(c, str))
    return Shape(str(data["kind"]), dict(schema), choices, str(data.get("pattern") or ""), str(data.get("spec") or ""))


class SettingsError(ValueError):
    """Settings typed in the form that cannot be used: every bad field, by its label, and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)  # (field, "Label: why")
        super().__init__("\n".join(why for _, why in problems))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.problems)


LABELS = {
    "temperature": "Temperature",
    "top_p": "top_p",
    "max_tokens": "max_tokens",
    "extra_body": "Extra body fields",
}


def parse_settings(
    system_prompt: str,
    temperature: str,
    top_p: str,
    max_tokens: str,
    extra_body: str,
    max_model_len: int | None = None,
) -> ChatSettings:
    """The settings form's text fields into settings; empty numbers mean the server's default.

    Every field is checked before any error is raised, so one SettingsError names every bad one;
    max_tokens must leave room in the model's context (``max_model_len``) for the question."""
    problems: list[tuple[str, str]] = []

    def bad(name: str, why: str) -> None:
        problems.append((name, f"{LABELS[name]}: {why}"))

    def number(name: str, text: str, lo: float, hi: float) -> float | None:
        if not text.strip():
            return None
        try:
            value = float(text)
        except ValueError:
            bad(name, f"not a number: {text.strip()!r}")
            return None
        if not lo <= value <= hi:
            bad(name, f"must be between {lo:g} and {hi:g}")
            return None
        return value

    temp = number("temperature", temperature, 0, 2)
    top = number("top_p", top_p, 0, 1)
    tokens = number("max_tokens", max_tokens, 1, 10_000_000)
    if tokens is not None and tokens != int(tokens):
        bad("max_tokens", "must be a whole number")
        tokens = None
    elif tokens is not None and max_model_len and tokens >= max_model_len:
        bad(
            "max_tokens",
            f"must be less than the model's context ({max_model_len} tokens), which also holds the "
            f"conversation: e.g. {max(1, max_model_len // 2)}, or empty for the server's default",
        )
    extra: Any = {}
    try:
        extra = json.loads(extra_body) if extra_body.strip() else {}
    except ValueError as exc:
        bad("extra_body", f"not JSON: {exc}")
    else:
        if not isinstance(extra, dict):
            bad("extra_body", 'must be a JSON object, e.g. {"chat_template_kwargs": {}}')
    if problems:
        raise SettingsError(problems)
    return ChatSettings(system_prompt, temp, top, int(tokens) if tokens is not None else None, extra)


@dataclass(frozen=True)
class ChatSession:
    """Immutable: every change returns a new session (the runtime's state holds it)."""

    endpoint: Endpoint | None
    settings: ChatSettings
    model: str | None = None
    models: tuple[ModelInfo, ...] = ()
    conversation_id: int | None = None
    title: str = ""
    messages: tuple[ChatMessage, ...] = ()
    answering: int | None = None  # the answer id being streamed
    answer_content: tuple[str, ...] = ()
    answer_reasoning: tuple[str, ...] = ()
    trimmed: int = 0  # the oldest messages no longer sent (kept, shown, saved): trimmed to fit the context
    context_tokens: int | None = None  # what the conversation holds, by the last answer's usage (None: unknown)
    draft_images: tuple[ImageRef, ...] = ()  # attached to the question being typed
    attaching: int = 0  # images still being read for it (a question waits for them)
    caps: Capabilities | None = None  # what the bound server can take (images, tools), once told

    @property
    def max_model_len(self) -> int | None:
        return next((m.max_model_len for m in self.models if m.id == self.model), None)

    @property
    def overflow(self) -> context.Overflow | None:
        """The last answer failed because the conversation no longer fits the model's context."""
        last = self.messages[-1] if self.messages else None
        if last is None or last.role != "assistant" or last.status != "error" or last.stats is None:
            return None
        return context.overflow(last.stats.error)

    def gauge(self) -> tuple[str, str]:
        """``("ctx 812/1024", level)`` for the pane (level "" | "warn" | "full"); ``("", "")`` with no limit."""
        return context.gauge(self.context_tokens, self.max_model_len, empty=not self.messages[self.trimmed :])

    def _sent(self) -> list[bool]:
        """Which messages a request carries: the ones not trimmed; answers that are done or stopped; questions
        but those the server refused outright (an error and no text: asking again sends them anew)."""
        out = []
        for i, m in enumerate(self.messages):
            answer = self.messages[i + 1] if i + 1 < len(self.messages) else None
            # refused, or answered with tool calls alone (no tool results follow: the pair is left out, or a strict
            # template would see two questions in a row)
            refused = (
                answer is not None
                and answer.role == "assistant"
                and (answer.status == "error" or (bool(answer.tool_calls) and not answer.content))
            )
            if m.mode == "completion":  # a completion is not a turn of the conversation
                out.append(False)
            elif m.role == "user":
                out.append(i >= self.trimmed and not (refused and answer is not None and not answer.content))
            else:
                out.append(i >= self.trimmed and bool(m.content) and m.status in ("done", "stopped"))
        return out

    def request(
        self, extra_user: str | None = None, images: tuple[ImageRef, ...] = (), max_images: int | None = None
    ) -> ChatRequest:
        """What to send: system prompt, the done turns (failed answers left out), the new question and its
        images; in completion mode, the question alone as the prompt. ``max_images`` (the server's
        ``--limit-mm-per-prompt``): earlier turns' images past it go as a note, the newest kept."""
        assert self.endpoint is not None and self.model
        s = self.settings
        common = (s.temperature, s.top_p, s.max_tokens, dict(s.extra_body), s.shape)
        if s.mode == "completion" and extra_user is not None:
            return ChatRequest(self.endpoint, self.model, (), *common, prompt=extra_user)
        turns: list[dict[str, Any]] = []
        if s.system_prompt:
            turns.append({"role": "system", "content": s.system_prompt})
        for m, sent in zip(self.messages, self._sent(), strict=True):
            if sent:
                turns.append({"role": m.role, "content": user_content(m.content, m.images)})
        if extra_user is not None:
            turns.append({"role": "user", "content": user_content(extra_user, images)})
        if max_images is not None:
            turns = within_images(turns, max_images)
        return ChatRequest(self.endpoint, self.model, tuple(turns), *common)

    def begin(
        self,
        question: str,
        answer_id: int,
        images: tuple[ImageRef, ...] = (),
        mode: str = "chat",
        from_draft: bool = True,
    ) -> ChatSession:
        """``from_draft``: the images were the draft's, which they leave (a question asked again keeps its own)."""
        return replace(
            self,
            messages=(*self.messages, ChatMessage("user", question, images=images, mode=mode)),
            title=self.title or title_from(question),
            answering=answer_id,
            answer_content=(),
            answer_reasoning=(),
            draft_images=() if from_draft else self.draft_images,
        )

    def add_text(self, content: str, reasoning: str) -> ChatSession:
        return replace(
            self,
            answer_content=(*self.answer_content, content) if content else self.answer_content,
            answer_reasoning=(*self.answer_reasoning, reasoning) if reasoning else self.answer_reasoning,
        )

    def end(
        self, status: str, stats: MessageStats, tool_calls: tuple[ToolCall, ...] = (), check: ShapeCheck | None = None
    ) -> ChatSession:
        """The answer ended: it becomes the last message (``messages[-1]``)."""
        asked = self.messages[-1] if self.messages else None
        mode = asked.mode if asked is not None and asked.role == "user" else "chat"
        msg = ChatMessage(
            "assistant",
            "".join(self.answer_content),
            "".join(self.answer_reasoning),
            status,
            stats,
            tool_calls=tool_calls,
            check=check,
            mode=mode,
        )
        return replace(
            self,
            messages=(*self.messages, msg),
            answering=None,
            answer_content=(),
            answer_reasoning=(),
            context_tokens=_context_after(stats, self.context_tokens),
        )

    def trim_count(self) -> int:
        """How many more of the oldest messages to stop sending: enough to fit again after a "too long" error
        (by the server's figures), else one turn; 0 when only the last turn is left."""
        rest = self.messages[self.trimmed :]
        sent = self._sent()[self.trimmed :]
        over = self.overflow
        room = self.settings.max_tokens or 256
        if over is not None and over.limit:
            room = min(room, over.limit // 4)
        sizes = [len(m.content) if s else 0 for m, s in zip(rest, sent, strict=True)]
        return context.to_drop(sizes, [m.role for m in rest], over if over and not over.setting else None, room)

    def trim(self, count: int) -> ChatSession:
        """Stop sending the ``count`` oldest messages still sent; what the context holds is unknown until the
        next answer."""
        return replace(self, trimmed=min(len(self.messages), self.trimmed + count), context_tokens=None)

    def with_models(self, models: tuple[ModelInfo, ...]) -> ChatSession:
        """The server's models become the choices; the chosen one stays if it is still listed."""
        model = self.model if self.model in {m.id for m in models} else (models[0].id if models else None)
        return replace(self, models=models, model=model)

    def load(self, conv: Conversation, default: ChatSettings) -> ChatSession:
        return replace(
            self,
            conversation_id=conv.id,
            title=conv.title,
            messages=tuple(m for m in conv.messages if m.role != "system"),
            settings=ChatSettings.from_dict(conv.settings, default),
            model=conv.model or self.model,
            trimmed=_whole(conv.settings.get(TRIMMED)),
            context_tokens=next(
                (_context_after(m.stats, None) for m in reversed(conv.messages) if m.role == "assistant"), None
            ),
        )

    def clear(self) -> ChatSession:
        return replace(self, conversation_id=None, title="", messages=(), trimmed=0, context_tokens=None)

    def saved_settings(self) -> dict[str, Any]:
        """The conversation's settings as the store keeps them, with where the trim stands."""
        return {**self.settings.to_dict(), TRIMMED: self.trimmed} if self.trimmed else self.settings.to_dict()


TRIMMED = "trimmed"  # the key of the trim point in a conversation's saved settings


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _context_after(stats: MessageStats | None, before: int | None) -> int | None:
    """What the context holds after an answer: its prompt and its answer (usage), or what a "too long" error
    said was asked; ``before`` when the answer told nothing."""
    if stats is None:
        return before
    if stats.prompt_tokens is not None:
        return stats.prompt_tokens + (stats.completion_tokens or 0)
    over = context.overflow(stats.error)
    if over is not None and not over.setting and over.used is not None:
        return over.used
    return before


def title_from(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= MAX_TITLE else line[: MAX_TITLE - 1] + "…"


def stats_line(stats: MessageStats | None, status: str = "done") -> str:
    """``TTFT 41 ms · 35.2 tok/s · 19+40 tokens · length`` (what is known)."""
    if stats is None:
        return status
    parts = []
    if stats.ttft is not None:
        parts.append(f"TTFT {stats.ttft * 1000:.0f} ms")
    if stats.decode_tps is not None:
        parts.append(f"{stats.decode_tps:.1f} tok/s")
    if stats.prompt_tokens is not None or stats.completion_tokens is not None:
        parts.append(
            f"{stats.prompt_tokens if stats.prompt_tokens is not None else '?'}+"
            f"{stats.completion_tokens if stats.completion_tokens is not None else '?'} tokens"
        )
    reason = {"abort": "stopped (Esc)"}.get(stats.finish_reason or "", stats.finish_reason)
    if reason:
        parts.append(reason)
    elif status not in ("done", "streaming"):
        parts.append(status)
    return " · ".join(parts) or status
