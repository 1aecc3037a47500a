"""The app's chat side: one ``ChatSession``, the store, and the worker threads behind them.

Every network or disk call (the answer stream, /v1/models, SQLite, export files) runs in
a thread that only posts ``ChatText`` / ``ChatEnded`` / ``ChatModels`` / ``ChatStored``;
the handlers here update the session and the chat panes on screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from console.chat import export
from console.chat.client import ChatStream, EndpointError, ModelInfo, list_models
from console.chat.model import ChatMessage, MessageStats
from console.chat.runner import run_answer
from console.chat.session import ChatSession, ChatSettings
from console.chat.store import ChatStore, StoreError, default_path
from console.servers.probe import ServerStatus
from console.ui.messages import ChatEnded, ChatModels, ChatStored, ChatText


def settings_from_config(config: object) -> ChatSettings:
    c = config
    return ChatSettings(
        c.chat_system_prompt,
        c.chat_temperature,
        c.chat_top_p,  # type: ignore[attr-defined]
        c.chat_max_tokens,
        dict(c.chat_extra_body),
    )  # type: ignore[attr-defined]


class ChatControl:
    """Mixed into the app (``config``, ``post_message``, ``_spawn``, ``notify``, screens)."""

    def init_chat(self) -> None:
        self.default_settings = settings_from_config(self.config)  # type: ignore[attr-defined]
        url = self.selected_url  # type: ignore[attr-defined]
        self.chat = ChatSession(self.endpoint_for(url) if url else None, self.default_settings)  # type: ignore[attr-defined]
        self.show_reasoning = False
        self._store: ChatStore | None = None
        self._store_error: str | None = None
        self._store_lock = threading.Lock()
        self._streams: dict[int, ChatStream] = {}
        self._panes: list = []  # ChatPane widgets now mounted, in mount order
        self._stale: list = []  # panes that missed updates while their screen was hidden
        self._answers = 0

    # ---- the store, opened on first use in a worker thread -------------------------------
    def _store_path(self) -> Path:
        chosen = self.config.chat_store  # type: ignore[attr-defined]
        return Path(chosen).expanduser() if chosen else default_path()

    def _open_store(self) -> ChatStore | None:
        with self._store_lock:
            if self._store is None and self._store_error is None:
                try:
                    self._store = ChatStore(self._store_path())
                except (StoreError, OSError) as exc:
                    self._store_error = str(exc)
                    self.post_message(ChatStored("failed", text=f"conversations are not saved: {exc}"))  # type: ignore[attr-defined]
            return self._store

    def _store_work(self, name: str, work: Callable[[ChatStore], None]) -> None:
        def run() -> None:
            store = self._open_store()
            if store is None:
                self.post_message(ChatStored("failed", text=f"no conversation store: {self._store_error}"))  # type: ignore[attr-defined]
                return
            try:
                work(store)
            except (StoreError, KeyError, ValueError, OSError) as exc:
                self.post_message(ChatStored("failed", text=f"{name} failed: {exc}"))  # type: ignore[attr-defined]

        self._spawn(run, f"jetconsole-chat-{name}")  # type: ignore[attr-defined]

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

        for screen in reversed(self.screen_stack):  # type: ignore[attr-defined]
            if getattr(pane, "parent", None) is not None and screen in pane.ancestors:  # type: ignore[attr-defined]
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
                self.call_later(self._pane_call, pane, method, *args)  # type: ignore[attr-defined]
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
        self.call_later(self._pane_call, pane, "reload", self.chat, snapshot)  # type: ignore[attr-defined]

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
        if url == self.selected_url:  # type: ignore[attr-defined]
            return
        self.selected_url = url  # type: ignore[attr-defined]
        self.chat.endpoint = self.endpoint_for(url) if url else None  # type: ignore[attr-defined]
        self.chat.models, self.chat.model = (), None
        status = self.server_status.get(url) if url else None  # type: ignore[attr-defined]
        if status is not None:
            self.chat_server_changed(status, None)
        self._refresh_screen()  # type: ignore[attr-defined]

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
                self.post_message(ChatModels(endpoint.url, tuple(list_models(endpoint))))  # type: ignore[attr-defined]
            except EndpointError as exc:
                self.post_message(ChatModels(endpoint.url, (), str(exc)))  # type: ignore[attr-defined]

        self._spawn(work, "jetconsole-chat-models")  # type: ignore[attr-defined]

    def on_chat_models(self, message: ChatModels) -> None:
        if self.chat.endpoint is None or message.url != self.chat.endpoint.url:
            return
        if message.error:
            self.notify(message.error, severity="error", timeout=8)  # type: ignore[attr-defined]
            return
        self._set_models(message.models)
        self._refresh_screen()  # type: ignore[attr-defined]
        self.pick_model()

    def pick_model(self) -> None:
        from console.ui.screens.chat_dialogs import PickScreen

        if not self.chat.models:
            self.notify("Asking the server for its models…", timeout=2)  # type: ignore[attr-defined]
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
                self._refresh_screen()  # type: ignore[attr-defined]

        self.push_screen(PickScreen("Model (from /v1/models)", options, self.chat.model), chosen)  # type: ignore[attr-defined]

    def pick_server(self) -> None:
        from console.ui.screens.chat_dialogs import PickScreen

        rows = [r for r in self.server_rows() if r.url]  # type: ignore[attr-defined]
        if not rows:
            self.notify(
                "No servers: add one to config.toml [endpoints] servers, or launch one (c, n).",  # type: ignore[attr-defined]
                severity="warning",
            )
            return
        options = [(f"{r.name} · {r.url}", r.url) for r in rows]
        self.push_screen(
            PickScreen("Chat with which server?", options, self.selected_url),  # type: ignore[attr-defined]
            lambda url: url and self.select_server(url),
        )

    # ---- settings ---------------------------------------------------------------------------
    def edit_settings(self) -> None:
        from console.ui.screens.chat_dialogs import SettingsScreen

        def done(settings: ChatSettings | None) -> None:
            if settings is not None:
                self.chat.settings = settings
                self._save_settings()
                self._refresh_screen()  # type: ignore[attr-defined]

        self.push_screen(SettingsScreen(self.chat.settings, self.chat.max_model_len), done)  # type: ignore[attr-defined]

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
            self.notify("An answer is still streaming: Esc stops it.", severity="warning")  # type: ignore[attr-defined]
            return False
        if chat.endpoint is None:
            self.notify("No server to ask: pick one with F5 or in the servers panel.", severity="error")  # type: ignore[attr-defined]
            return False
        if not chat.model:
            status = self.selected_status()  # type: ignore[attr-defined]
            why = status.error if status is not None and not status.reachable else "it listed no models yet"
            self.notify(
                f"No model to ask at {chat.endpoint.url}: {why}. F2 asks /v1/models again.",  # type: ignore[attr-defined]
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
        self._refresh_screen()  # type: ignore[attr-defined]

        def work() -> None:
            store = self._open_store()
            message_id = None
            if store is not None:
                try:
                    conv_id = conv if conv is not None else store.new_conversation(title, *meta)
                    if conv is None:
                        self.post_message(ChatStored("created", conv_id))  # type: ignore[attr-defined]
                    store.add_message(conv_id, "user", text)
                    message_id = store.start_message(conv_id)
                except (StoreError, KeyError, ValueError) as exc:
                    self.post_message(ChatStored("failed", text=f"this answer is not saved: {exc}"))  # type: ignore[attr-defined]
                    store = None
            run_answer(
                stream,
                lambda c, r: self.post_message(ChatText(answer, c, r)),  # type: ignore[attr-defined]
                lambda status, stats: self.post_message(ChatEnded(answer, status, stats)),  # type: ignore[attr-defined]
                store,
                message_id,
            )

        self._spawn(work, f"jetconsole-chat-{answer}")  # type: ignore[attr-defined]
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
        stats: MessageStats = message.stats  # type: ignore[assignment]
        ended: ChatMessage = self.chat.end(message.status, stats)
        self._each_pane("ended", ended)
        self._refresh_screen()  # type: ignore[attr-defined]

    # ---- conversations ----------------------------------------------------------------------
    def new_chat(self) -> None:
        if self.chat.answering is not None:
            self.notify("An answer is still streaming: Esc stops it first.", severity="warning")  # type: ignore[attr-defined]
            return
        self.chat.clear()
        self.chat.settings = self.default_settings
        for pane in self.chat_panes():
            self.reload_pane(pane)
        self._refresh_screen()  # type: ignore[attr-defined]

    def open_history(self) -> None:
        from console.ui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen())  # type: ignore[attr-defined]

    def list_conversations(self, needle: str) -> None:
        self._store_work("list", lambda st: self.post_message(ChatStored("listed", (st.conversations(needle), needle))))  # type: ignore[attr-defined]

    def open_conversation(self, conv_id: int) -> None:
        if self.chat.answering is not None:
            self.notify("An answer is still streaming: Esc stops it first.", severity="warning")  # type: ignore[attr-defined]
            return
        self._store_work("open", lambda st: self.post_message(ChatStored("loaded", st.load(conv_id))))  # type: ignore[attr-defined]

    def rename_conversation(self, conv_id: int, title: str) -> None:
        def work(st: ChatStore) -> None:
            st.rename(conv_id, title)
            self.post_message(ChatStored("changed", (conv_id, title), f"renamed to {title!r}"))  # type: ignore[attr-defined]

        self._store_work("rename", work)

    def delete_conversation(self, conv_id: int) -> None:
        def work(st: ChatStore) -> None:
            st.delete(conv_id)
            self.post_message(ChatStored("deleted", conv_id, "conversation deleted"))  # type: ignore[attr-defined]

        self._store_work("delete", work)

    def export_conversation(self, conv_id: int, fmt: str) -> None:
        folder = self._store_path().parent / "exports"

        def work(st: ChatStore) -> None:
            conv = st.load(conv_id)
            text = export.to_markdown(conv) if fmt == "md" else export.to_json(conv)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / export.export_filename(conv, fmt)
            path.write_text(text, encoding="utf-8")
            self.post_message(ChatStored("exported", str(path), f"exported to {path}"))  # type: ignore[attr-defined]

        self._store_work("export", work)

    def on_chat_stored(self, message: ChatStored) -> None:
        from console.ui.screens.history import HistoryScreen

        kind = message.kind
        if kind == "failed":
            self.notify(message.text, severity="error", timeout=8)  # type: ignore[attr-defined]
        elif kind == "created":
            self.chat.conversation_id = message.payload  # type: ignore[assignment]
        elif kind == "listed":
            summaries, needle = message.payload  # type: ignore[misc]
            for screen in self.screen_stack:  # type: ignore[attr-defined]
                if isinstance(screen, HistoryScreen):
                    screen.show_list(summaries, needle)
        elif kind == "loaded":
            self.chat.load(message.payload, self.default_settings)  # type: ignore[arg-type]
            for pane in self.chat_panes():
                self.reload_pane(pane)
            self._refresh_screen()  # type: ignore[attr-defined]
        else:  # changed, deleted, exported
            if kind == "changed" and message.payload[0] == self.chat.conversation_id:  # type: ignore[index]
                self.chat.title = message.payload[1]  # type: ignore[index]
            if kind == "deleted" and message.payload == self.chat.conversation_id:
                self.chat.clear()
                for pane in self.chat_panes():
                    self.reload_pane(pane)
            self.notify(message.text, timeout=6)  # type: ignore[attr-defined]
            for screen in self.screen_stack:  # type: ignore[attr-defined]
                if isinstance(screen, HistoryScreen):
                    screen.refresh_list()

    def close_chat(self) -> None:
        for stream in list(self._streams.values()):
            stream.cancel()
