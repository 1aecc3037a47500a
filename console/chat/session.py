"""The chat the UI shows: endpoint, model, settings and the turns so far (pure state).

The runtime's state holds one ``ChatSession`` (immutable); the dashboard's chat pane and the
full Chat screen both draw it, so zooming keeps the conversation and the answer being streamed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from console.chat.endpoints import Endpoint
from console.chat.model import ChatMessage, Conversation, MessageStats
from console.chat.wire import ChatRequest, ModelInfo

MAX_TITLE = 60


@dataclass(frozen=True)
class ChatSettings:
    system_prompt: str = ""
    temperature: float | None = 0.7
    top_p: float | None = 1.0
    max_tokens: int | None = 512
    extra_body: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "extra_body": self.extra_body,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], default: ChatSettings) -> ChatSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return replace(default, **known)


class SettingsError(ValueError):
    """A setting typed in the settings form that cannot be used: which one and why."""


def parse_settings(system_prompt: str, temperature: str, top_p: str, max_tokens: str, extra_body: str) -> ChatSettings:
    """The settings form's text fields into settings; empty numbers mean the server's default."""

    def number(name: str, text: str, lo: float, hi: float) -> float | None:
        if not text.strip():
            return None
        try:
            value = float(text)
        except ValueError as exc:
            raise SettingsError(f"{name}: not a number: {text!r}") from exc
        if not lo <= value <= hi:
            raise SettingsError(f"{name}: must be between {lo:g} and {hi:g}")
        return value

    tokens = number("max_tokens", max_tokens, 1, 10_000_000)
    if tokens is not None and tokens != int(tokens):
        raise SettingsError("max_tokens: must be a whole number")
    try:
        extra = json.loads(extra_body) if extra_body.strip() else {}
    except ValueError as exc:
        raise SettingsError(f"extra body: not JSON: {exc}") from exc
    if not isinstance(extra, dict):
        raise SettingsError('extra body: must be a JSON object, e.g. {"chat_template_kwargs": {}}')
    return ChatSettings(
        system_prompt,
        number("temperature", temperature, 0, 2),
        number("top_p", top_p, 0, 1),
        int(tokens) if tokens is not None else None,
        extra,
    )


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

    @property
    def max_model_len(self) -> int | None:
        return next((m.max_model_len for m in self.models if m.id == self.model), None)

    def request(self, extra_user: str | None = None) -> ChatRequest:
        """What to send: system prompt, the done turns (failed answers left out), the new question."""
        assert self.endpoint is not None and self.model
        turns: list[dict[str, str]] = []
        if self.settings.system_prompt:
            turns.append({"role": "system", "content": self.settings.system_prompt})
        for m in self.messages:
            if m.role == "user" or (m.role == "assistant" and m.content and m.status in ("done", "stopped")):
                turns.append({"role": m.role, "content": m.content})
        if extra_user is not None:
            turns.append({"role": "user", "content": extra_user})
        return ChatRequest(
            self.endpoint,
            self.model,
            tuple(turns),
            self.settings.temperature,
            self.settings.top_p,
            self.settings.max_tokens,
            dict(self.settings.extra_body),
        )

    def begin(self, question: str, answer_id: int) -> ChatSession:
        return replace(
            self,
            messages=(*self.messages, ChatMessage("user", question)),
            title=self.title or title_from(question),
            answering=answer_id,
            answer_content=(),
            answer_reasoning=(),
        )

    def add_text(self, content: str, reasoning: str) -> ChatSession:
        return replace(
            self,
            answer_content=(*self.answer_content, content) if content else self.answer_content,
            answer_reasoning=(*self.answer_reasoning, reasoning) if reasoning else self.answer_reasoning,
        )

    def end(self, status: str, stats: MessageStats) -> ChatSession:
        """The answer ended: it becomes the last message (``messages[-1]``)."""
        msg = ChatMessage("assistant", "".join(self.answer_content), "".join(self.answer_reasoning), status, stats)
        return replace(self, messages=(*self.messages, msg), answering=None, answer_content=(), answer_reasoning=())

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
        )

    def clear(self) -> ChatSession:
        return replace(self, conversation_id=None, title="", messages=())


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
