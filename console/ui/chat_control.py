"""The app's chat side: one ``ChatSession``, the store, and the worker threads behind them.

Every network or disk call (the answer stream, /v1/models, SQLite, export files) runs in
a thread that only posts ``ChatText`` / ``ChatEnded`` / ``ChatModels`` / ``ChatStored``;
the handlers here update the session and the chat panes on screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from textual.message import Message

from console.chat import export
from console.chat.client import ChatStream, EndpointError, ModelInfo, list_models
from console.chat.model import ChatMessage, MessageStats
from console.chat.runner import run_answer
from console.chat.session import ChatSession, ChatSettings
from console.chat.store import ChatStore, StoreError, default_path
from console.runtime import commands as cmd
from console.runtime.runtime import Runtime
from console.runtime.state import ConsoleState, server_rows
from console.servers.probe import ServerStatus
from console.ui.messages import ChatEnded, ChatModels, ChatStored, ChatText


class ChatHost(Protocol):
    """What the chat side uses of the app."""

    config: Any
    runtime: Runtime
    screen_stack: list[Any]

    def send(self, command: cmd.Command) -> Any: ...
    def post_message(self, message: Message) -> bool: ...
    def notify(self, message: str, **kw: Any) -> None: ...
    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
    def call_later(self, callback: Callable[..., Any], *args: Any) -> bool: ...
    def refresh_screen(self) -> None: ...


def settings_from_config(config: object) -> ChatSettings:
    c = config
    return ChatSettings(
        c.chat_system_prompt,
        c.chat_temperature,
        c.chat_top_p,
        c.chat_max_tokens,
        dict(c.chat_extra_body),
    )


class ChatControl:
    """The chat side of the app, composed into it (not a mixin): ``app.chat_control``.

    Its threads run on the runtime's runner and only post messages, which the app hands back to
    the ``on_chat_*`` methods here."""

    def __init__(self, app: ChatHost) -> None:
        self.app = app
        self.default_settings = settings_from_config(self.app.config)
        url = self.app.runtime.state.servers.selected
        self.chat = ChatSession(self.app.runtime.endpoint_for(url) if url else None, self.default_settings)
        self.show_reasoning = False
        self._store: ChatStore | None = None
        self._store_error: str | None = None
        self._store_lock = threading.Lock()
        self._streams: dict[int, ChatStream] = {}
        self._panes: list = []  # ChatPane widgets now mounted, in mount order
        self._stale: list = []  # panes that missed updates while their screen was hidden
        self._answers = 0
        self._last_status: ServerStatus | None = None

    # ---- the store, opened on first use in a worker thread -------------------------------
    def _store_path(self) -> Path:
        chosen = self.app.config.chat_store
        return Path(chosen).expanduser() if chosen else default_path()

    def _open_store(self) -> ChatStore | None:
        with self._store_lock:
            if self._store is None and self._store_error is None:
                try:
                    self._store = ChatStore(self._store_path())
                except (StoreError, OSError) as exc:
                    self._store_error = str(exc)
                    self.app.post_message(ChatStored("failed", text=f"conversations are not saved: {exc}"))
            return self._store

    def _store_work(self, name: str, work: Callable[[ChatStore], None]) -> None:
        def run() -> None:
            store = self._open_store()
            if store is None:
                self.app.post_message(ChatStored("failed", text=f"no conversation store: {self._store_error}"))
                return
            try:
                work(store)
            except (StoreError, KeyError, ValueError, OSError) as exc:
                self.app.post_message(ChatStored("failed", text=f"{name} failed: {exc}"))

        self._spawn(run, f"jetconsole-chat-{name}")

    # ---- panes ----------------------------------------------------------------------------
    def chat_panes(self) -> list:
        """The mounted chat panes (they register themselves): no DOM walk per streamed batch."""
        return list(self._panes)

    def pane_mounted(self, pane: object) -> None:
        self._panes.append(pane)
        self.reload_pane(pane)

    def pane_unmounted(self, pane: object) -> None:
        for panes in (self._panes, self._stale):
            if pane in panes:
                panes.remove(pane)

    def _shown(self, pane: object) -> bool:
        """The pane is on the screen in front, or on the one under modal dialogs in front."""
        from textual.screen import ModalScreen

        for screen in reversed(self.app.screen_stack):
            if getattr(pane, "parent", None) is not None and screen in pane.ancestors:
                return True
            if not isinstance(screen, ModalScreen):
                return False
        return False

    def _hide(self, pane: object) -> None:
        if pane not in self._stale:
            self._stale.append(pane)

    def _each_pane(self, method: str, *args: object) -> None:
        """Call ``method`` on every shown chat pane, in order, on the app's queue (one after another).

        A pane on a hidden screen (the dashboard under the Chat screen) is not drawn batch by batch:
        it is redrawn once from the session when its screen comes back (:meth:`panes_shown`).
        """
        for pane in self.chat_panes():
            if self._shown(pane):
                self.app.call_later(self._pane_call, pane, method, *args)
            else:
                self._hide(pane)

    def reload_pane(self, pane: object) -> None:
        """Redraw one pane from the session as it is now; later batches follow in order."""
        if not self._shown(pane):
            self._hide(pane)
            return
        if pane in self._stale:
            self._stale.remove(pane)
        snapshot = ("".join(self.chat.answer_content), "".join(self.chat.answer_reasoning))
        self.app.call_later(self._pane_call, pane, "reload", self.chat, snapshot)

    def panes_shown(self) -> None:
        """A screen came to the front: redraw its panes that missed updates while hidden."""
        for pane in [p for p in self._stale if self._shown(p)]:
            self.reload_pane(pane)

    @staticmethod
    async def _pane_call(pane: object, method: str, *args: object) -> None:
        from textual.css.query import NoMatches

        if not getattr(pane, "is_attached", False):
            return  # its screen was closed meanwhile
        try:
            result = getattr(pane, method)(*args)
            if hasattr(result, "__await__"):
                await result
        except NoMatches:
            pass

    # ---- server and model -----------------------------------------------------------------
    def select_server(self, url: str | None) -> None:
        """Bind the chat to another server (the servers panel's cursor, or F5)."""
        if url == self.app.runtime.state.servers.selected:
            return
        self.app.send(cmd.SelectServer(url))
        self.chat.endpoint = self.app.runtime.endpoint_for(url) if url else None
        self.chat.models, self.chat.model = (), None
        status = self.app.runtime.state.servers.status.get(url) if url else None
        if status is not None:
            self.chat_server_changed(status, None)
        self.app.refresh_screen()

    def server_changed(self, state: ConsoleState) -> None:
        """After a state change: the selected server's models (from its probe) become the model choices."""
        status = state.servers.selected_status
        if status is not None and status is not self._last_status:
            self._last_status = status
            self.chat_server_changed(status, None)

    def chat_server_changed(self, status: ServerStatus, before: ServerStatus | None) -> None:
        """The selected server's models (from its poller) become the model choices."""
        if status.models and status.models != self.chat.models:
            self._set_models(status.models)

    def _set_models(self, models: tuple[ModelInfo, ...]) -> None:
        self.chat.models = models
        if self.chat.model not in {m.id for m in models}:
            self.chat.model = models[0].id if models else None

    def fetch_models(self) -> None:
        endpoint = self.chat.endpoint
        if endpoint is None:
            return

        def work() -> None:
            try:
                self.app.post_message(ChatModels(endpoint.url, tuple(list_models(endpoint))))
            except EndpointError as exc:
                self.app.post_message(ChatModels(endpoint.url, (), str(exc)))

        self._spawn(work, "jetconsole-chat-models")

    def on_chat_models(self, message: ChatModels) -> None:
        if self.chat.endpoint is None or message.url != self.chat.endpoint.url:
            return
        if message.error:
            self.app.notify(message.error, severity="error", timeout=8)
            return
        self._set_models(message.models)
        self.app.refresh_screen()
        self.pick_model()

    def pick_model(self) -> None:
        from console.ui.screens.chat_dialogs import PickScreen

        if not self.chat.models:
            self.app.notify("Asking the server for its models…", timeout=2)
            self.fetch_models()
            return
        options = [
            (f"{m.id}" + (f"  · max_model_len {m.max_model_len}" if m.max_model_len else ""), m.id)
            for m in self.chat.models
        ]

        def chosen(model: str | None) -> None:
            if model:
                self.chat.model = model
                self._save_settings()
                self.app.refresh_screen()

        self.app.push_screen(PickScreen("Model (from /v1/models)", options, self.chat.model), chosen)

    def pick_server(self) -> None:
        from console.ui.screens.chat_dialogs import PickScreen

        rows = [r for r in server_rows(self.app.runtime.state) if r.url]
        if not rows:
            self.app.notify(
                "No servers: add one to config.toml [endpoints] servers, or launch one (c, n).",
                severity="warning",
            )
            return
        options = [(f"{r.name} · {r.url}", r.url) for r in rows]
        self.app.push_screen(
            PickScreen("Chat with which server?", options, self.app.runtime.state.servers.selected),
            lambda url: url and self.select_server(url),
        )

    # ---- settings ---------------------------------------------------------------------------
    def edit_settings(self) -> None:
        from console.ui.screens.chat_dialogs import SettingsScreen

        def done(settings: ChatSettings | None) -> None:
            if settings is not None:
                self.chat.settings = settings
                self._save_settings()
                self.app.refresh_screen()

        self.app.push_screen(SettingsScreen(self.chat.settings, self.chat.max_model_len), done)

    def _save_settings(self) -> None:
        conv, settings, model = self.chat.conversation_id, self.chat.settings.to_dict(), self.chat.model or ""
        if conv is not None:
            self._store_work("save settings", lambda st: st.update_settings(conv, model=model, settings=settings))

    def toggle_reasoning(self) -> None:
        self.show_reasoning = not self.show_reasoning
        for pane in self.chat_panes():
            pane.set_reasoning_shown(self.show_reasoning)

    # ---- asking and answering ---------------------------------------------------------------
    def send_chat(self, text: str) -> bool:
        """Start an answer to ``text``; False (and a notice saying why) when it cannot."""
        chat = self.chat
        if chat.answering is not None:
            self.app.notify("An answer is still streaming: Esc stops it.", severity="warning")
            return False
        if chat.endpoint is None:
            self.app.notify("No server to ask: pick one with F5 or in the servers panel.", severity="error")
            return False
        if not chat.model:
            status = self.app.runtime.state.servers.selected_status
            why = status.error if status is not None and not status.reachable else "it listed no models yet"
            self.app.notify(
                f"No model to ask at {chat.endpoint.url}: {why}. F2 asks /v1/models again.",
                severity="error",
                timeout=8,
            )
            return False
        self._answers += 1
        answer = self._answers
        request = chat.request(text)
        chat.begin(text, answer)
        stream = ChatStream(request)
        self._streams[answer] = stream
        conv, title = chat.conversation_id, chat.title
        meta = (chat.endpoint.url, chat.model, chat.settings.to_dict())
        self._each_pane("question", text)
        self.app.refresh_screen()

        def work() -> None:
            store = self._open_store()
            message_id = None
            if store is not None:
                try:
                    conv_id = conv if conv is not None else store.new_conversation(title, *meta)
                    if conv is None:
                        self.app.post_message(ChatStored("created", conv_id))
                    store.add_message(conv_id, "user", text)
                    message_id = store.start_message(conv_id)
                except (StoreError, KeyError, ValueError) as exc:
                    self.app.post_message(ChatStored("failed", text=f"this answer is not saved: {exc}"))
                    store = None
            run_answer(
                stream,
                lambda c, r: self.app.post_message(ChatText(answer, c, r)),
                lambda status, stats: self.app.post_message(ChatEnded(answer, status, stats)),
                store,
                message_id,
            )

        self._spawn(work, f"jetconsole-chat-{answer}")
        return True

    def stop_chat(self) -> None:
        stream = self._streams.get(self.chat.answering or -1)
        if stream is not None:
            stream.cancel()

    def on_chat_text(self, message: ChatText) -> None:
        if message.answer != self.chat.answering:
            return
        self.chat.add_text(message.content, message.reasoning)
        self._each_pane("add_text", message.content, message.reasoning)

    def on_chat_ended(self, message: ChatEnded) -> None:
        self._streams.pop(message.answer, None)
        if message.answer != self.chat.answering:
            return
        stats: MessageStats = message.stats
        ended: ChatMessage = self.chat.end(message.status, stats)
        self._each_pane("ended", ended)
        self.app.refresh_screen()

    # ---- conversations ----------------------------------------------------------------------
    def new_chat(self) -> None:
        if self.chat.answering is not None:
            self.app.notify("An answer is still streaming: Esc stops it first.", severity="warning")
            return
        self.chat.clear()
        self.chat.settings = self.default_settings
        for pane in self.chat_panes():
            self.reload_pane(pane)
        self.app.refresh_screen()

    def open_history(self) -> None:
        from console.ui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def list_conversations(self, needle: str) -> None:
        self._store_work(
            "list", lambda st: self.app.post_message(ChatStored("listed", (st.conversations(needle), needle)))
        )

    def open_conversation(self, conv_id: int) -> None:
        if self.chat.answering is not None:
            self.app.notify("An answer is still streaming: Esc stops it first.", severity="warning")
            return
        self._store_work("open", lambda st: self.app.post_message(ChatStored("loaded", st.load(conv_id))))

    def rename_conversation(self, conv_id: int, title: str) -> None:
        def work(st: ChatStore) -> None:
            st.rename(conv_id, title)
            self.app.post_message(ChatStored("changed", (conv_id, title), f"renamed to {title!r}"))

        self._store_work("rename", work)

    def delete_conversation(self, conv_id: int) -> None:
        def work(st: ChatStore) -> None:
            st.delete(conv_id)
            self.app.post_message(ChatStored("deleted", conv_id, "conversation deleted"))

        self._store_work("delete", work)

    def export_conversation(self, conv_id: int, fmt: str) -> None:
        folder = self._store_path().parent / "exports"

        def work(st: ChatStore) -> None:
            conv = st.load(conv_id)
            text = export.to_markdown(conv) if fmt == "md" else export.to_json(conv)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / export.export_filename(conv, fmt)
            path.write_text(text, encoding="utf-8")
            self.app.post_message(ChatStored("exported", str(path), f"exported to {path}"))

        self._store_work("export", work)

    def on_chat_stored(self, message: ChatStored) -> None:
        from console.ui.screens.history import HistoryScreen

        kind = message.kind
        if kind == "failed":
            self.app.notify(message.text, severity="error", timeout=8)
        elif kind == "created":
            self.chat.conversation_id = message.payload
        elif kind == "listed":
            summaries, needle = message.payload
            for screen in self.app.screen_stack:
                if isinstance(screen, HistoryScreen):
                    screen.show_list(summaries, needle)
        elif kind == "loaded":
            self.chat.load(message.payload, self.default_settings)
            for pane in self.chat_panes():
                self.reload_pane(pane)
            self.app.refresh_screen()
        else:  # changed, deleted, exported
            if kind == "changed" and message.payload[0] == self.chat.conversation_id:
                self.chat.title = message.payload[1]
            if kind == "deleted" and message.payload == self.chat.conversation_id:
                self.chat.clear()
                for pane in self.chat_panes():
                    self.reload_pane(pane)
            self.app.notify(message.text, timeout=6)
            for screen in self.app.screen_stack:
                if isinstance(screen, HistoryScreen):
                    screen.refresh_list()

    def _spawn(self, work: Callable[[], None], name: str) -> None:
        self.app.runtime.runner.spawn(name.removeprefix("jetconsole-"), lambda _life: work())

    def close(self) -> None:
        for stream in list(self._streams.values()):
            stream.cancel()
