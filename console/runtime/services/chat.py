"""Chat: the answers, the model list and the conversation store, as runtime services.

Every network or disk call (the answer stream, /v1/models, SQLite, export files) runs on the
runner and only emits events; the session itself lives in ``ConsoleState.chat``.  Whoever draws
the chat (a pane, the CLI) subscribes to ``ChatAsked`` / ``ChatText`` / ``ChatEnded``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.chat.endpoints import Endpoint, is_local
from console.chat.images import ImageError
from console.chat.model import ChatMessage, ImageRef, MessageStats
from console.chat.session import ChatSettings
from console.chat.shape import modern_extra, shape_of_body
from console.chat.store import ChatStore, StoreError, default_path
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.state import launch_line

if TYPE_CHECKING:  # the client (httpx) loads with the first request, off the first frame
    from console.chat.client import ChatStream

STILL_STREAMING = "An answer is still streaming: Esc stops it first."
NOTHING_TO_TRIM = (
    "Nothing left to trim: the last question alone does not fit the model's context. "
    "Shorten it, start a new conversation (Ctrl+N), or serve the model with a larger --max-model-len."
)
TOO_MANY_MAX_TOKENS = "max_tokens is larger than the model's context ({limit} tokens): lower it in the settings (F3)."
TEXT_ONLY = (
    "{model} looks text-only ({why}): the server will likely refuse the image. Enter again sends it anyway; "
    "pick a vision model (F2) or another server (F5)."
)
IMAGES_NEED_CHAT = "Images go only with chat questions: completion mode (F8) sends text alone."
STILL_ATTACHING = "An image is still being read: send again in a moment (the question is kept)."
TOO_MANY_IMAGES = (
    "This server takes at most {most} image(s) a question (--limit-mm-per-prompt) and this question has {count}: "
    "take some off (the chat's Remove-last-image key) and send again."
)


def settings_from_config(config: Any) -> ChatSettings:
    """The ``[chat]`` section's defaults for a new conversation."""
    return ChatSettings(
        config.chat_system_prompt,
        config.chat_temperature,
        config.chat_top_p,
        config.chat_max_tokens,
        dict(config.chat_extra_body),
    )


class ChatService:
    def __init__(self, hub: Hub, store_path: str, default_settings: ChatSettings, persist: bool = True) -> None:
        """``persist=False``: nothing is written to (or read from) the store; answers stream all the same."""
        self.hub = hub
        self.default_settings = default_settings
        self.store_path = Path(store_path).expanduser() if store_path else default_path()
        self._store: ChatStore | None = None
        self._store_error: str | None = None if persist else "this run keeps no conversations"
        self._store_lock = threading.Lock()
        self._streams: dict[int, ChatStream] = {}
        self._answers = 0
        self._lock = threading.Lock()
        self.persist = persist
        self.image_folder = self.store_path.parent / "images"
        self._image_bytes: dict[str, bytes] = {}  # attached when nothing is stored (persist off), by sha256
        self._warned: tuple[str, ...] | None = None  # the images a text-only warning was given for
        self.caps_command = ""  # the launch line the capabilities were last told from
        self._caps_lock = threading.Lock()
        self._gone_warned: set[str] = set()  # images whose lost file was said once

    # ---- the store, opened on first use in a service thread ------------------------------------
    def _open_store(self) -> ChatStore | None:
        with self._store_lock:
            if self._store is None and self._store_error is None:
                try:
                    self._store = ChatStore(self.store_path)
                except (StoreError, OSError) as exc:
                    self._store_error = str(exc)
                    self._fail(f"conversations are not saved: {exc}")
            return self._store

    def _fail(self, text: str) -> None:
        self.hub.emit(ev.Notice(text, "error", 8))

    def _store_work(self, name: str, work: Callable[[ChatStore], None]) -> None:
        def run(_life: Lifecycle) -> None:
            store = self._open_store()
            if store is None:
                self._fail(f"no conversation store: {self._store_error}")
                return
            try:
                work(store)
            except (StoreError, KeyError, ValueError, OSError) as exc:
                self._fail(f"{name} failed: {exc}")

        self.hub.runner.spawn(f"chat-{name}", run)

    # ---- server and model ----------------------------------------------------------------------
    def bind(self, endpoint: Endpoint | None) -> None:
        """Bind the chat to another server; its models come from its probe (or F2)."""
        self.hub.emit(ev.ChatBound(endpoint))
        status = self.hub.state.servers.selected_status
        if endpoint is not None and status is not None and status.models:
            self.hub.emit(ev.ChatModelsListed(endpoint.url, status.models))

    def fetch_models(self, then: Callable[[], None] | None = None) -> None:
        endpoint = self.hub.state.chat.endpoint
        if endpoint is None:
            return

        def work(_life: Lifecycle) -> None:
            from console.chat.client import EndpointError, list_models

            try:
                models = tuple(list_models(endpoint))
            except EndpointError as exc:
                self._fail(str(exc))
                return
            self.hub.emit(ev.ChatModelsListed(endpoint.url, models))
            if then is not None:
                then()

        self.hub.runner.spawn("chat-models", work)

    def choose_model(self, model: str) -> None:
        self.hub.emit(ev.ChatModelChosen(model))
        self._save_settings()

    def choose_settings(self, settings: ChatSettings) -> None:
        self.hub.emit(ev.ChatSettingsChosen(settings))
        self._save_settings()

    def choose_shape(self, spec: str) -> None:
        """The answers' shape as typed: parsed (a schema file read) in a thread; a notice says what is wrong."""

        def work(_life: Lifecycle) -> None:
            from dataclasses import replace

            from console.chat.shape import ShapeError, parse_shape

            try:
                shape = parse_shape(spec)
            except ShapeError as exc:
                self._fail(f"answer shape not set: {exc}")
                return
            self.choose_settings(replace(self.hub.state.chat.settings, shape=shape))
            said = f"answers must be: {shape.label()}" if shape is not None else "answers are free text again"
            self.hub.emit(ev.Notice(said, timeout=6))

        self.hub.runner.spawn("chat-shape", work)

    def choose_mode(self, mode: str) -> None:
        from dataclasses import replace

        if mode not in ("chat", "completion"):
            self._fail(f"no chat mode {mode!r}: chat or completion")
            return
        self.choose_settings(replace(self.hub.state.chat.settings, mode=mode))

    def _save_settings(self) -> None:
        chat = self.hub.state.chat
        conv, settings, model = chat.conversation_id, chat.saved_settings(), chat.model or ""
        if conv is not None:
            self._store_work("save settings", lambda st: st.update_settings(conv, model=model, settings=settings))

    # ---- what the server can take, images -------------------------------------------------------
    def capabilities(self) -> Any:
        """What the bound server can take (images, tool_choice auto, its image budget), from its model, the
        model's config.json where the weights are local (a disk read: call in a service thread) and its launch
        line; emitted for the chat to show."""
        from console.chat.capability import capabilities, model_files

        state = self.hub.state
        chat = state.chat
        url = chat.endpoint.url if chat.endpoint is not None else ""
        model = next((m for m in chat.models if m.id == chat.model), None)
        command = launch_line(state, url) if url else ""
        # a model folder is read on this disk only for a server on this host: a remote root names its disk
        files = model_files(model.root) if model is not None and url and is_local(url) else None
        caps = capabilities(chat.model or "", model.root if model else "", (), command, files)
        with self._caps_lock:  # told from what is still so: a slower reader of an older state says nothing
            now = self.hub.state
            current = now.chat.endpoint is not None and now.chat.endpoint.url == url and now.chat.model == chat.model
            if current and launch_line(now, url) == command:
                self.caps_command = command
                if caps != now.chat.caps:
                    self.hub.emit(ev.ChatCapabilities(url, chat.model or "", caps))
        return caps

    def read_capabilities(self) -> None:
        self.hub.runner.spawn("chat-capabilities", lambda _life: self.capabilities())

    def launch_line_changed(self) -> None:
        """The containers were listed again: what the server can take is told anew if its launch line changed
        (the containers are often listed after the models)."""
        chat = self.hub.state.chat
        if (
            chat.endpoint is not None
            and chat.model
            and launch_line(self.hub.state, chat.endpoint.url) != self.caps_command
        ):
            self.read_capabilities()

    def attach(self, path: str) -> None:
        """Read, check, downscale and store an image for the question being typed; a notice says what is wrong.
        Until it is attached or refused, a question waits (``attaching``)."""
        self.hub.emit(ev.ChatImageAttaching(path))

        def work(_life: Lifecycle) -> None:
            try:
                from console.chat import images

                caps = self.capabilities()
                prepared = images.prepare(path, caps.budget)
                if self.persist:
                    images.save(prepared, self.image_folder)
            except ImageError as exc:
                self._refused(path, str(exc))
                return
            except OSError as exc:
                self._refused(path, f"the image could not be stored in {self.image_folder}: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - never leave the question waiting on an image
                self._refused(path, f"{path}: could not be attached: {type(exc).__name__}: {exc}")
                return
            if not self.persist:  # nothing stored (the CLI): the bytes stay here until sent
                self._image_bytes[prepared.ref.sha256] = prepared.data
            self.hub.emit(ev.ChatImageAttached(prepared.ref))

        self.hub.runner.spawn("chat-attach", work)

    def _refused(self, path: str, why: str) -> None:
        self.hub.emit(ev.ChatImageFailed(path, why))
        self._fail(why)

    def detach(self, index: int) -> None:
        """Take an image off the question being typed (-1: the last one)."""
        if self.hub.state.chat.draft_images:
            self.hub.emit(ev.ChatImageDetached(index))

    def image_url(self, ref: ImageRef) -> str | None:
        """An image's data URL (in the answer's thread: a disk read); None, and a notice, when its bytes are
        gone (the image goes as a note: one lost file does not stop the conversation)."""
        from console.chat import images

        data = self._image_bytes.get(ref.sha256)
        if data is None:
            try:
                data = images.load(ref, self.image_folder)
            except images.ImageError as exc:
                if ref.sha256 not in self._gone_warned:  # said once, not at every later question
                    self._gone_warned.add(ref.sha256)
                    self.hub.emit(ev.Notice(f"{exc}: it goes as a note", "warning", 8))
                return None
        return images.data_url(ref, data)

    # ---- asking and answering ------------------------------------------------------------------
    def send(self, text: str, force: bool = False, again: tuple[ImageRef, ...] | None = None) -> bool:
        """Start an answer to ``text`` (with the images attached); False (and a notice saying why) when it
        cannot. A question with images for a server that looks text-only is held once with a warning;
        sending it again (or ``force``) sends it anyway, and the server's own refusal is shown. ``again``: a
        question asked again with its own images (the draft's stay for the next question)."""
        from console.chat.client import ChatStream
        from console.chat.runner import run_answer

        with self._lock:
            chat = self.hub.state.chat
            if chat.answering is not None:
                self.hub.emit(ev.Notice("An answer is still streaming: Esc stops it.", "warning"))
                return False
            if chat.attaching and again is None:
                self.hub.emit(ev.Notice(STILL_ATTACHING, "warning", 6))
                return False
            images = chat.draft_images if again is None else again
            if images and chat.settings.mode == "completion":
                self.hub.emit(ev.Notice(IMAGES_NEED_CHAT, "warning", 8))
                return False
            caps = chat.caps
            if caps is not None and caps.max_images is not None and len(images) > caps.max_images:
                said = TOO_MANY_IMAGES.format(count=len(images), most=caps.max_images)
                self.hub.emit(ev.Notice(said, "warning", 10))
                return False
            held = tuple(i.sha256 for i in images)
            if images and caps is not None and caps.vision is False and not force and self._warned != held:
                self._warned = held
                said = TEXT_ONLY.format(model=chat.model or "the model", why=caps.vision_why)
                self.hub.emit(ev.Notice(said, "warning", 12))
                return False
            if chat.endpoint is None:
                self.hub.emit(ev.Notice("No server to ask: pick one with F5 or in the servers panel.", "error"))
                return False
            if not chat.model:
                status = self.hub.state.servers.selected_status
                why = status.error if status is not None and not status.reachable else "it listed no models yet"
                self.hub.emit(
                    ev.Notice(f"No model to ask at {chat.endpoint.url}: {why}. F2 asks /v1/models again.", "error", 8)
                )
                return False
            self._answers += 1
            self._warned = None
            answer = self._answers
            request = chat.request(text, images, caps.max_images if caps is not None else None)
            modern, moved = modern_extra(request.extra)
            shape = request.shape or shape_of_body(modern)  # a shape the extra body asks for is checked too
            if moved:
                said = f"{', '.join(moved)} sent as structured_outputs: vLLM ≥ 0.12 ignores the old fields silently"
                self.hub.emit(ev.Notice(said, "warning", 8))
            stream = ChatStream(request, load=self.image_url)
            self._streams[answer] = stream
            conv, title = chat.conversation_id, chat.title
            mode = chat.settings.mode
            self.hub.emit(ev.ChatAsked(answer, text, images, mode, again is None))
            title = title or self.hub.state.chat.title
            meta = (chat.endpoint.url, chat.model, chat.settings.to_dict())
            asked = ChatMessage("user", text, images=images, mode=mode)  # built here: the state moves on

        def work(life: Lifecycle) -> None:
            store = self._open_store()
            message_id = None
            if store is not None:
                try:
                    conv_id = conv if conv is not None else store.new_conversation(title, *meta)
                    if conv is None:
                        self.hub.emit(ev.ChatCreated(conv_id))
                    store.add_message(conv_id, "user", text, extra=asked.extra())
                    message_id = store.start_message(conv_id)
                except (StoreError, KeyError, ValueError) as exc:
                    self._fail(f"this answer is not saved: {exc}")
                    store = None

            def ended(status: str, stats: MessageStats) -> None:
                self._streams.pop(answer, None)
                calls = stream.tool_calls()
                check = None
                if shape is not None and status == "done" and not calls:
                    check = shape.check("".join(stream_text), stats.finish_reason)  # never raises
                self.hub.emit(ev.ChatEnded(answer, status, stats, calls, check))
                kept = ChatMessage("assistant", "", tool_calls=calls, check=check, mode=mode).extra()
                if store is not None and message_id is not None and kept:
                    try:
                        store.set_extra(message_id, kept)
                    except (StoreError, KeyError) as exc:
                        self._fail(f"this answer's check and calls are not saved: {exc}")

            stream_text: list[str] = []

            def text_came(content: str, reasoning: str) -> None:
                if content:
                    stream_text.append(content)
                self.hub.emit(ev.ChatText(answer, content, reasoning))

            with life.waiting():  # the server's pace, not ours
                run_answer(stream, text_came, ended, store, message_id)

        self.hub.runner.spawn(f"chat-answer:{answer}", work)
        return True

    def trim(self) -> bool:
        """Stop sending the oldest turns (kept in the conversation and the store); after a "too long" error,
        ask its question again.  False, and a notice saying what to do, when there is nothing to trim."""
        with self._lock:
            chat = self.hub.state.chat
            if chat.answering is not None:
                self.hub.emit(ev.Notice(STILL_STREAMING, "warning"))
                return False
            over = chat.overflow
            if over is not None and over.setting:
                self.hub.emit(ev.Notice(TOO_MANY_MAX_TOKENS.format(limit=over.limit), "error", 10))
                return False
            count = chat.trim_count()
            if count == 0:
                self.hub.emit(ev.Notice(NOTHING_TO_TRIM, "warning", 10))
                return False
            self.hub.emit(ev.ChatTrimmed(count))
            asked = chat.messages[-2] if over is not None and len(chat.messages) >= 2 else None
            retry = asked if asked is not None and asked.role == "user" else None
        self._save_settings()
        self.hub.emit(ev.Notice(f"{count} oldest messages are no longer sent (still in the conversation)", timeout=6))
        return self.send(retry.content, again=retry.images) if retry else True

    def stop(self) -> None:
        """Stop the answer streaming now (the server aborts it)."""
        stream = self._streams.get(self.hub.state.chat.answering or -1)
        if stream is not None:
            stream.cancel()

    # ---- conversations -------------------------------------------------------------------------
    def new(self) -> bool:
        if self.hub.state.chat.answering is not None:
            self.hub.emit(ev.Notice(STILL_STREAMING, "warning"))
            return False
        self.hub.emit(ev.ChatCleared(self.default_settings))
        return True

    def list(self, needle: str) -> None:
        self._store_work("list", lambda st: self.hub.emit(ev.ChatListed(tuple(st.conversations(needle)), needle)))

    def open(self, conv_id: int) -> None:
        if self.hub.state.chat.answering is not None:
            self.hub.emit(ev.Notice(STILL_STREAMING, "warning"))
            return
        self._store_work("open", lambda st: self.hub.emit(ev.ChatLoaded(st.load(conv_id), self.default_settings)))

    def rename(self, conv_id: int, title: str) -> None:
        def work(st: ChatStore) -> None:
            st.rename(conv_id, title)
            self.hub.emit(ev.ChatRenamed(conv_id, title))
            self.hub.emit(ev.Notice(f"renamed to {title!r}", timeout=6))

        self._store_work("rename", work)

    def delete(self, conv_id: int) -> None:
        def work(st: ChatStore) -> None:
            st.delete(conv_id)
            self.hub.emit(ev.ChatDeleted(conv_id))
            self.hub.emit(ev.Notice("conversation deleted", timeout=6))

        self._store_work("delete", work)

    def export(self, conv_id: int, fmt: str) -> None:
        folder = self.store_path.parent / "exports"

        def work(st: ChatStore) -> None:
            from console.chat import export

            conv = st.load(conv_id)
            text = export.to_markdown(conv) if fmt == "md" else export.to_json(conv)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / export.export_filename(conv, fmt)
            path.write_text(text, encoding="utf-8")
            self.hub.emit(ev.Notice(f"exported to {path}", timeout=6))

        self._store_work("export", work)

    def close(self) -> None:
        for stream in list(self._streams.values()):
            stream.cancel()
