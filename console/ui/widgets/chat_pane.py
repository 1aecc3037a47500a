"""The chat pane: the conversation, the answer as it streams, the input line.

Used on the dashboard (bound to the server selected in the servers panel) and, zoomed,
on the Chat screen.  It draws ``ConsoleState.chat``: the pane subscribes to the runtime itself
and takes each chat delta (a question, a batch of text, the end, a conversation loaded) in
order, as a message to itself.  A pane whose screen is hidden skips them and redraws once from
the session when its screen comes back (``catch_up``).
Model text goes through ``visible_controls`` first: escapes show as ␛[…, never act.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from console.chat.context import Overflow
from console.chat.images import cost_line, ref_line
from console.chat.model import ChatMessage, ImageRef
from console.chat.session import ChatSession, stats_line
from console.keymap import CHAT_BINDINGS
from console.runtime.events import (
    CHAT_EVENTS,
    ChatAsked,
    ChatCapabilities,
    ChatEnded,
    ChatImageAttached,
    ChatImageDetached,
    ChatText,
    Event,
)
from console.runtime.sanitise import visible_controls
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings, bound_key
from console.ui.host import host
from console.ui.widgets.chat_image import ChatImage
from console.ui.widgets.chat_input import ChatInput
from console.ui.widgets.markdown_stream import MarkdownStreamView
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText

SHOWN_MESSAGES = 40  # older turns stay in the store; the pane draws the last ones
SHOWN_CHARS = 200_000  # and no more text than this (~40k tokens): drawn lines cost memory


def shown_count(texts: list[str], at_least: int = 1) -> int:
    """How many of the last messages to draw (their texts oldest first, content and reasoning: both
    are drawn): ``at_least``, then back while both budgets (SHOWN_MESSAGES, SHOWN_CHARS) hold."""
    count, chars = 0, 0
    for text in reversed(texts):
        if count >= at_least and (count >= SHOWN_MESSAGES or chars + len(text) > SHOWN_CHARS):
            break
        count, chars = count + 1, chars + len(text)
    return count


class UserView(Vertical):
    """A question: its text, and its images as the terminal can show them."""

    DEFAULT_CSS = "UserView { height: auto; }"

    def __init__(self, text: str, images: tuple[ImageRef, ...] = (), mode: str = "chat") -> None:
        super().__init__()
        self.source = visible_controls(text)
        self.images = images
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Static(self.source, markup=False, classes="chat-user" + (" -completion" if self.mode != "chat" else ""))
        if self.images:
            folder, mode = image_place(self)
            for number, ref in enumerate(self.images, 1):
                yield ChatImage(ref, number, folder, mode)

    @property
    def drawn(self) -> str:
        """What counts against SHOWN_CHARS."""
        return self.source


def image_place(widget: Widget) -> tuple[Path, str]:
    """Where the chat's images are stored and how this terminal shows them (the app's choice)."""
    runtime = getattr(widget.app, "runtime", None)
    folder = runtime.chat.image_folder if runtime is not None else Path(".")
    return folder, getattr(widget.app, "image_mode", "placeholder")


class AnswerView(Vertical):
    """One answer: reasoning apart (collapsible), the Markdown content, its figures."""

    DEFAULT_CLASSES = "chat-answer"

    def __init__(self, message: ChatMessage | None = None, show_reasoning: bool = False) -> None:
        super().__init__()
        self._reasoning = visible_controls(message.reasoning) if message else ""
        self._content = visible_controls(message.content) if message else ""
        self._stats = stats_line(message.stats, message.status) if message else "…"
        self._show_reasoning = show_reasoning
        self._message = message
        self.body = MarkdownStreamView(self._content, done=message is not None, classes="chat-content")
        self.streaming = message is None

    @property
    def source(self) -> str:
        """The answer's Markdown as shown (control characters made visible)."""
        return self.body.source

    @property
    def drawn(self) -> str:
        """What counts against SHOWN_CHARS: the reasoning and the answer, as ``reload`` counts a message."""
        return self._reasoning + self.body.source

    def compose(self) -> ComposeResult:
        reasoning = Collapsible(
            Static(self._reasoning, markup=False, classes="chat-reasoning-text"),
            title="Reasoning",
            collapsed=not self._show_reasoning,
            classes="chat-reasoning",
        )
        reasoning.display = bool(self._reasoning)
        yield reasoning
        yield self.body
        yield Static("", markup=False, classes="chat-calls")
        yield LiveText(self._stats, classes="chat-stats")

    async def add_text(self, content: str, reasoning: str) -> None:
        if reasoning:
            self._reasoning += visible_controls(reasoning)
            box = self.query_one(Collapsible)
            box.display = True
            box.query_one(".chat-reasoning-text", Static).update(self._reasoning)
        if content:
            await self.body.add(visible_controls(content))

    def on_mount(self) -> None:
        self._calls_and_check(self._message)

    def _calls_and_check(self, message: ChatMessage | None) -> None:
        """The tool calls asked for, and the shape's check: under the answer's text, above its figures."""
        box = self.query_one(".chat-calls", Static)
        lines = [f"⚙ tool call: {visible_controls(c.line())}" for c in message.tool_calls] if message else []
        check = message.check if message else None
        if check is not None:
            lines.append(visible_controls(check.line()))
        box.update("\n".join(lines))
        box.display = bool(lines)
        box.set_class(check is not None and not check.valid, "chat-error")
        box.set_class(check is not None and check.valid, "chat-valid")

    async def end(self, message: ChatMessage) -> None:
        await self.body.finish()
        self.streaming = False
        self._calls_and_check(message)
        self.query_one(".chat-stats", LiveText).set(stats_line(message.stats, message.status))
        if message.status == "error" and message.stats and message.stats.error:
            self.query_one(".chat-stats", LiveText).add_class("chat-error")

    def set_reasoning_shown(self, shown: bool) -> None:
        self.query_one(Collapsible).collapsed = not shown


class ChatDelta(Message, bubble=False):
    """A chat event for one pane, with the session as it was right after it."""

    def __init__(self, event: Event, session: ChatSession, version: int) -> None:
        super().__init__()
        self.event, self.session, self.version = event, session, version


class ChatRedraw(Message, bubble=False):
    """Redraw one pane from the session as it is when the message is handled."""


class ChatPane(Panel, can_focus=False):
    """Focus goes straight to the input box; Esc leaves it.  The context gauge is the border's subtitle."""

    BINDINGS = bindings(CHAT_BINDINGS)
    DEFAULT_CSS = """
    ChatPane.-ctx-warn { border-subtitle-color: $warning; }
    ChatPane.-ctx-full { border-subtitle-color: $error; border-subtitle-style: bold; }
    ChatPane .chat-advice { color: $warning; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = "chat") -> None:
        super().__init__("Chat", id=id)
        self.head = LiveText("", classes="chat-head")
        self.chat_log = VerticalScroll(classes="chat-log")
        self.attached = LiveText("", classes="chat-attached")
        self.attached.display = False
        self.input = ChatInput(
            placeholder="Ask… Enter sends · Esc stops · F2 model · F3 settings · ^O conversations",
            classes="chat-input",
        )
        self._came_from: Widget | None = None  # focused before the input was: where leaving the chat goes back to
        self._give_focus_back = False  # F6 or ^O left this pane's screen from its input
        self._answer: AnswerView | None = None
        self._earlier = 0  # messages of the conversation not drawn (older than the budgets)
        self._gauge: str | None = None  # the context gauge in the border, as last set
        self._drawn = -1  # the state version drawn up to: older deltas still queued are skipped
        self._stale = False  # deltas were skipped while the screen was hidden
        self._unsubscribe: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.head
        yield self.chat_log
        yield self.attached
        yield self.input

    def on_mount(self) -> None:
        self.chat_log.anchor()
        self.watch(self.screen, "focused", self._focus_moved)
        runtime = getattr(self.app, "runtime", None)
        if runtime is not None:
            self._unsubscribe = runtime.subscribe(self._from_runtime)
            self._stale = True
            self.catch_up()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # ---- the session's deltas ---------------------------------------------------------
    def _from_runtime(self, state: ConsoleState, event: Event) -> None:
        """In a service's thread: only post (in order) to this pane."""
        if isinstance(event, CHAT_EVENTS):
            self.post_message(ChatDelta(event, state.chat, state.version))

    def _on_screen(self) -> bool:
        """The pane's screen is in front, or under modal dialogs in front."""
        for screen in reversed(self.app.screen_stack):
            if screen is self.screen:
                return True
            if not isinstance(screen, ModalScreen):
                return False
        return False

    async def on_chat_delta(self, message: ChatDelta) -> None:
        message.stop()
        if message.version <= self._drawn:
            return  # already in a reload drawn from a newer session
        if not self._on_screen():
            self._stale = True
            return
        self._drawn = message.version
        event = message.event
        if isinstance(event, ChatAsked):
            await self.question(event.question, event.images, event.mode)
            self.show_draft(message.session)
        elif isinstance(event, ChatText):
            await self.add_text(event.content, event.reasoning)
        elif isinstance(event, ChatEnded):
            if message.session.messages:
                await self.ended(message.session.messages[-1], message.session.overflow)
        elif isinstance(event, ChatImageAttached | ChatImageDetached | ChatCapabilities):
            self.show_draft(message.session)
        else:  # a conversation loaded, cleared or deleted
            await self.reload(message.session)

    def catch_up(self) -> None:
        """Redraw from the session, if deltas were skipped (hidden, or just mounted).  The redraw is a
        message to this pane, so it runs in order with the deltas, never beside them."""
        if not self._stale or getattr(self.app, "runtime", None) is None or not self._on_screen():
            return
        self._stale = False
        self.post_message(ChatRedraw())

    async def on_chat_redraw(self, message: ChatRedraw) -> None:
        """Draw the session as the runtime holds it now; deltas still queued that it holds are skipped."""
        message.stop()
        state = host(self).runtime.state
        self._drawn = state.version
        await self.reload(state.chat)

    # ---- drawing the session ------------------------------------------------------
    def show_head(self, session: ChatSession, server_line: str) -> None:
        model = session.model or "no model yet"
        ctx = f" ({session.max_model_len} ctx)" if session.max_model_len else ""
        s = session.settings
        sampling = " ".join(f"{k} {v:g}" for k, v in (("temp", s.temperature), ("top_p", s.top_p)) if v is not None)
        head = f"{session.endpoint.label if session.endpoint else 'no server'} · {model}{ctx} · {sampling}"
        if s.max_tokens:
            head += f" max {s.max_tokens}"
        if s.mode == "completion":
            head += " · completion (/v1/completions)"
        if s.shape is not None:
            head += f" · answers: {s.shape.label()}"
        if session.caps is not None:
            head += f"\n{session.caps.vision_line()} · {session.caps.tools_line()}"
        if server_line:
            head += f"\n{server_line}"
        self.head.set(head)
        gauge, level = session.gauge()
        if gauge != self._gauge:  # Textual repaints the whole pane on every set, same text or not
            self._gauge = gauge
            self.border_subtitle = gauge
        self.set_class(level == "warn", "-ctx-warn")
        self.set_class(level == "full", "-ctx-full")
        turns = sum(1 for m in session.messages if m.role == "user")
        busy = " · answering" if session.answering is not None else ""
        self.set_summary(f"Chat: {model} · {turns} questions{busy}{f' · {gauge}' if gauge else ''} (a: ask)")

    def show_draft(self, session: ChatSession) -> None:
        """The images attached to the question being typed, what they will cost, and a warning for a
        server that looks text-only (shown before anything is sent)."""
        refs = session.draft_images
        lines = [f"📎 {ref_line(ref, n)}" for n, ref in enumerate(refs, 1)]
        if refs:
            lines.append(
                f"   {cost_line(refs)} before the text · {self._key('chat.attach')} another · "
                f"{self._key('chat.detach')} takes the last off"
            )
            caps = session.caps
            if caps is not None and caps.vision is False:
                lines.append(
                    f"⚠ {session.model or 'this model'} looks {caps.vision_line()}: it will likely refuse images"
                )
        self.attached.set("\n".join(lines))
        self.attached.display = bool(lines)

    async def reload(self, session: ChatSession) -> None:
        """Redraw every shown turn from ``session`` (a conversation opened, or this pane shown again),
        with the answer streamed so far; later batches come through ``add_text``."""
        partial = ("".join(session.answer_content), "".join(session.answer_reasoning))
        await self.chat_log.remove_children()
        self._answer = None
        texts = [m.content + m.reasoning for m in session.messages] + [partial[0] + partial[1]] * (
            session.answering is not None
        )
        keep = shown_count(texts, at_least=2) - (session.answering is not None)
        shown = session.messages[len(session.messages) - keep :] if keep > 0 else []
        self._earlier = len(session.messages) - len(shown)
        views: list[Static | UserView | AnswerView] = [Static(self._earlier_note(), classes="chat-note", markup=False)]
        views[0].display = self._earlier > 0
        reasoning = self._reasoning_shown()
        start = len(session.messages) - len(shown)
        for i, m in enumerate(shown, start):
            if session.trimmed and i == max(session.trimmed, start):
                views.append(Static(self._trim_note(session.trimmed), classes="chat-note chat-trimmed", markup=False))
            views.append(UserView(m.content, m.images, m.mode) if m.role == "user" else AnswerView(m, reasoning))
        over = session.overflow
        if over is not None and session.answering is None:
            views.append(Static(self._advice(over), classes="chat-advice", markup=False))
        if session.answering is not None:
            self._answer = AnswerView(None, reasoning)
            views.append(self._answer)
        self.show_draft(session)
        if views:
            await self.chat_log.mount_all(views)
        if self._answer is not None:
            await self._answer.add_text(*partial)
        self.chat_log.scroll_end(animate=False)

    async def question(self, text: str, images: tuple[ImageRef, ...] = (), mode: str = "chat") -> None:
        self._answer = AnswerView(None, self._reasoning_shown())
        await self.chat_log.mount_all([UserView(text, images, mode), self._answer])
        self.chat_log.anchor()

    async def add_text(self, content: str, reasoning: str) -> None:
        if self._answer is not None:
            await self._answer.add_text(content, reasoning)

    async def ended(self, message: ChatMessage, over: Overflow | None = None) -> None:
        if self._answer is not None:
            await self._answer.end(message)
            if message.stats and message.stats.error:
                await self.chat_log.mount(
                    Static(f"⚠ {visible_controls(message.stats.error)}", classes="chat-error", markup=False)
                )
                if over is not None:
                    await self.chat_log.mount(Static(self._advice(over), classes="chat-advice", markup=False))
            self._answer = None
            await self._trim()

    def _key(self, binding_id: str) -> str:
        """The first key bound to ``binding_id`` (config.toml [keys] included), as the key line shows it."""
        return bound_key(self.app, binding_id)

    def _advice(self, over: Overflow) -> str:
        """What to do when the server refused the conversation for its length."""
        limit = f" ({over.limit} tokens)" if over.limit else ""
        if over.setting:
            return f"→ max_tokens is larger than the model's context{limit}: {self._key('chat.settings')} lowers it."
        return (
            f"→ The conversation no longer fits the model's context{limit}. "
            f"{self._key('chat.trim')}: stop sending the oldest turns and ask again (the system prompt stays; "
            f"nothing is deleted) · {self._key('chat.new')}: start a new conversation"
        )

    @staticmethod
    def _trim_note(trimmed: int) -> str:
        return f"✂ the {trimmed} oldest messages are no longer sent to the model (kept here and in the store)"

    def _earlier_note(self) -> str:
        return f"… {self._earlier} earlier messages (Ctrl+O lists them; export shows all)"

    async def _trim(self) -> None:
        """Drop the oldest drawn turns past the budgets (they stay in the store); the note counts them."""
        turns = [v for v in self.chat_log.children if isinstance(v, UserView | AnswerView)]
        keep = shown_count([v.drawn for v in turns], at_least=2)  # the last question and its answer
        if keep >= len(turns):
            return
        gone = turns[: len(turns) - keep]
        last = self.chat_log.children.index(gone[-1])
        drop = [v for v in self.chat_log.children[: last + 1] if not v.has_class("chat-note")]
        self._earlier += len(gone)
        await self.chat_log.remove_children(drop)
        note = self.chat_log.query_one(".chat-note", Static)
        note.update(self._earlier_note())
        note.display = True

    def _reasoning_shown(self) -> bool:
        control = getattr(self.app, "chat_control", None)
        return bool(control and control.show_reasoning)

    def set_reasoning_shown(self, shown: bool) -> None:
        for view in self.chat_log.query(AnswerView):
            view.set_reasoning_shown(shown)

    # ---- keys -----------------------------------------------------------------------
    def on_chat_input_submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        control = host(self).chat_control
        if control.attach_named(text):
            return  # the images the text names are attached first: Enter again sends, the draft kept as typed
        if control.send_chat(text):
            self.input.value = ""  # kept when nothing was sent: the draft is never lost

    def action_newline(self) -> None:
        self.input.action_newline()

    def action_attach(self) -> None:
        self._give_focus_back = False
        host(self).chat_control.pick_image()

    def action_detach(self) -> None:
        host(self).chat_control.detach_image()

    def action_shape(self) -> None:
        host(self).chat_control.edit_shape()

    def action_mode(self) -> None:
        host(self).chat_control.toggle_mode()

    def action_copy_answer(self) -> None:
        host(self).chat_control.copy_answer()

    def action_trim(self) -> None:
        host(self).chat_control.trim_chat()

    async def action_stop(self) -> None:
        control = host(self).chat_control
        if control.chat.answering is not None:
            control.stop_chat()
        else:
            await self.screen.run_action("leave_chat")

    def action_new_chat(self) -> None:
        host(self).chat_control.new_chat()

    def action_history(self) -> None:
        self._give_focus_back = True
        host(self).chat_control.open_history()

    def action_pick_model(self) -> None:
        host(self).chat_control.pick_model()

    def action_settings(self) -> None:
        host(self).chat_control.edit_settings()

    def action_toggle_reasoning(self) -> None:
        host(self).chat_control.toggle_reasoning()

    async def action_zoom_chat(self) -> None:
        self._give_focus_back = True
        await self.screen.run_action("zoom_chat")

    def action_pick_server(self) -> None:
        host(self).chat_control.pick_server()

    def focus_input(self) -> None:
        self.input.focus()

    # ---- focus: leaving the chat gives it back --------------------------------------
    def _holds(self, widget: Widget) -> bool:
        return widget is self or self in widget.ancestors

    def _focus_moved(self, old: Widget | None, new: Widget | None) -> None:
        """Remember what had focus before the chat took it (``a``, Tab, a click)."""
        if new is not None and old is not None and self._holds(new) and not self._holds(old):
            self._came_from = old

    def shown_again(self, keep_focus: bool = False) -> None:
        """This pane's screen is back in front.  Left with F6 or ^O from the input: focus goes back to where it
        was before the chat took it (a dashboard panel), so the next dashboard key is a key, not text;
        ``keep_focus`` (a conversation was opened to go on with it) leaves it in the input."""
        if not self._give_focus_back:
            return
        self._give_focus_back = False
        back = self._came_from
        focused = self.screen.focused
        if keep_focus or back is None or focused is None or not self._holds(focused):
            return
        if back.is_attached and back.focusable and back.screen is self.screen:
            back.focus()
