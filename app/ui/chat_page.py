"""The chat: conversations on the left, the streamed transcript, the input, parameters on the right.

Local text turns go through the engine's stored conversations (context builder, memory, partial
replies kept). Turns with an image, or to a remote model, go through chat completions (routing,
redaction, image parts) and are recorded in the same conversation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.attachments import image_part, kind_of
from app.engine_calls import EngineCalls
from app.engine_client import ChatStream, EngineClient
from app.presets import PresetStore
from app.tasks import Handle
from app.ui.chat_input import ChatInput
from app.ui.citations import place_of, source_url
from app.ui.collection_picker import CollectionPicker
from app.ui.conversation_list import ConversationList
from app.ui.dictation_bar import DictationBar
from app.ui.icons import icon
from app.ui.params_panel import ParamsPanel
from app.ui.theme import colours
from app.ui.transcript_view import TranscriptView, Turn, stored_turns
from app.ui.welcome import Welcome
from engine.schemas import Conversation, ModelCard, ToolRun

RENDER_INTERVAL_MS = 50  # a streamed reply is redrawn at most this often


@dataclass
class Reply:
    """The reply being streamed now."""

    handle: Handle
    turn: Turn
    started: float
    recorded: bool  # chat-completions path: the reply is recorded when it ends
    first_token: float | None = None
    stream: ChatStream | None = None


def _icon_button(words: str) -> QPushButton:
    """A secondary button shown as its icon alone (set by `restyle`), which keeps the row
    narrow; its words are the tooltip (the accessible name is set with the others)."""
    button = QPushButton()
    button.setToolTip(words.replace("…", ""))
    return button


class ChatPage(QWidget):
    notice = Signal(str)

    def __init__(self, calls: EngineCalls, presets: PresetStore) -> None:
        super().__init__()
        self.calls = calls
        self.conv_id: str | None = None
        self.turns: list[Turn] = []
        self.reply: Reply | None = None
        self.attachments: list[Path] = []
        self.models: dict[str, ModelCard] = {}
        self.wanted_model: str | None = None  # chosen before the model list had it
        self.default_model: str | None = None
        # The open conversation's system prompt and overflow policy as the engine has them.
        self._framing: tuple[str | None, str] | None = None
        self._editing_id: int | None = None
        self._dirty = False
        self._render_timer = QTimer(self)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render_if_dirty)

        self.sidebar = ConversationList(calls)
        self.sidebar.open_requested.connect(self._open_requested)
        self.sidebar.new_requested.connect(self.new_chat)
        self.sidebar.deleted.connect(self._deleted)
        self.sidebar.notice.connect(self.notice)
        self.search = self.sidebar.search
        self.conversations = self.sidebar.list

        # Centre: model picker, transcript, attachments, input
        self.model_picker = QComboBox()
        self.model_picker.setObjectName("model_picker")
        self.model_picker.setMinimumWidth(260)
        self.params_toggle = QToolButton()
        self.params_toggle.setText(self.tr("Parameters"))
        self.params_toggle.setCheckable(True)
        self.params_toggle.setChecked(True)
        self.collections = CollectionPicker()
        self.collections.changed.connect(self._collections_changed)
        # Opens a citation's file (replaced in tests).
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Model")))
        top.addWidget(self.model_picker, 1)
        top.addWidget(self.collections)
        top.addWidget(self.params_toggle)
        self.chat_view = TranscriptView()
        self.chat_view.setObjectName("transcript")
        self.chat_view.notice.connect(self.notice)
        self.chat_view.tool_decided.connect(self.decide_tool_call)
        self.chat_view.redraw_needed.connect(self.redraw)
        self.chat_view.citation_opened.connect(self.open_citation)
        self.attachment_bar = QLabel()
        self.attachment_bar.setWordWrap(True)
        self.attachment_bar.hide()
        self.input = ChatInput()
        self.input.setObjectName("message_box")
        self.input.setMaximumHeight(120)
        self.input.send_requested.connect(self.send_message)
        self.input.attach.connect(self.add_attachment)
        self.attach_button = _icon_button(self.tr("Attach…"))
        self.attach_button.clicked.connect(self._choose_attachment)
        self.dictation = DictationBar(calls, self.input)
        self.dictation.notice.connect(self.notice)
        self.dictation.send_requested.connect(self.send_message)
        self.regenerate_button = _icon_button(self.tr("Regenerate"))
        self.regenerate_button.clicked.connect(self.regenerate)
        self.edit_button = _icon_button(self.tr("Edit last"))
        self.edit_button.clicked.connect(self.edit_last)
        self.stop_button = _icon_button(self.tr("Stop"))
        self.stop_button.clicked.connect(self.stop_reply)
        self.stop_button.setEnabled(False)
        self.tools_box = QCheckBox(self.tr("Tools"))
        self.tools_box.setObjectName("tools_box")
        self.tools_box.setToolTip(
            self.tr("Let the model use tools: built-in ones and your MCP servers' (Settings).")
        )
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send_message)
        buttons = QHBoxLayout()
        buttons.addWidget(self.attach_button)
        buttons.addWidget(self.dictation)
        buttons.addWidget(self.tools_box)
        buttons.addStretch(1)
        buttons.addWidget(self.regenerate_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        centre = QWidget()
        middle = QVBoxLayout(centre)
        middle.setContentsMargins(0, 0, 0, 0)
        middle.addLayout(top)
        self.welcome = Welcome(calls)
        self.welcome.notice.connect(self.notice)
        middle.addWidget(self.welcome)
        middle.addWidget(self.chat_view, 1)
        self.drop_area = QVBoxLayout()  # result cards of dropped files go here
        middle.addLayout(self.drop_area)
        middle.addWidget(self.attachment_bar)
        middle.addWidget(self.input)
        middle.addLayout(buttons)

        self.params = ParamsPanel(presets)
        self.params.problem.connect(self.notice)
        self.params_toggle.toggled.connect(self.params.setVisible)

        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(centre)
        splitter.addWidget(self.params)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 640, 260])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.chat_view.example_chosen.connect(self._use_example)
        self._name_for_assistive_tech()
        self._update_buttons()
        self.restyle()

    def _name_for_assistive_tech(self) -> None:
        for widget, name in (
            (self.model_picker, self.tr("Model")), (self.chat_view, self.tr("Conversation")),
            (self.input, self.tr("Message")), (self.attach_button, self.tr("Attach a file")),
            (self.regenerate_button, self.tr("Regenerate the last reply")),
            (self.edit_button, self.tr("Edit the last message")),
            (self.stop_button, self.tr("Stop the reply")), (self.send_button, self.tr("Send")),
            (self.tools_box, self.tr("Let the model use tools")),
            (self.params_toggle, self.tr("Show parameters")),
        ):  # fmt: skip
            widget.setAccessibleName(name)

    def _use_example(self, text: str) -> None:
        self.input.setPlainText(text)
        self.input.setFocus()

    # -- loading ---------------------------------------------------------------------------
    def show_models(self, cards: list[ModelCard]) -> None:
        """The picker's models (chat kinds of the engine's list), keeping the user's choice."""
        current = self.model_picker.currentData()
        self.model_picker.clear()
        self.models = {}
        for card in cards:
            if card.kind != "chat":
                continue
            self.models[card.id] = card
            self.model_picker.addItem(f"{card.id}  ·  {self.plain_capabilities(card)}", card.id)
        index = self.model_picker.findData(self.wanted_model or current or self.default_model)
        self.model_picker.setCurrentIndex(max(index, 0))
        if self.wanted_model in self.models:
            self.wanted_model = None

    def plain_capabilities(self, card: ModelCard) -> str:
        """What a model does, in words: the picker shows this instead of API terms."""
        words = [self.tr("chat")]
        if "vision" in card.capabilities:
            words.append(self.tr("sees images"))
        if "custom" in card.capabilities:
            words.append(self.tr("tuned by you"))
        if card.embedded:
            words.append(self.tr("tiny, for trying Hearth out"))
        if card.size_bytes:
            words.append(f"{card.size_bytes / 1e9:.1f} GB" if card.size_bytes >= 1e9
                         else f"{card.size_bytes / 1e6:.0f} MB")  # fmt: skip
        return ", ".join(words)

    def restyle(self) -> None:
        """Icons and the transcript in the theme's colours (after a theme change)."""
        for button, name in ((self.attach_button, "attach"), (self.regenerate_button, "regenerate"),
                             (self.edit_button, "edit"), (self.stop_button, "stop")):  # fmt: skip
            button.setIcon(icon(name))
        self.send_button.setIcon(icon("send", colours().on_accent))
        self.dictation.restyle()
        self.redraw()

    def choose_model(self, model_id: str) -> None:
        """Pick `model_id` now, or as soon as the model list has it."""
        index = self.model_picker.findData(model_id)
        self.wanted_model = None if index >= 0 else model_id
        if index >= 0:
            self.model_picker.setCurrentIndex(index)

    def set_default_model(self, model_id: str | None) -> None:
        """The engine's default, chosen when the user has not picked another."""
        first_time = self.default_model is None
        self.default_model = model_id
        index = self.model_picker.findData(model_id)
        if first_time and index >= 0:
            self.model_picker.setCurrentIndex(index)

    def refresh_conversations(self) -> None:
        self.sidebar.current_id = self.conv_id
        self.sidebar.refresh()

    def _open_requested(self, conv_id: str) -> None:
        if conv_id != self.conv_id or not self.turns:
            self.open_conversation(conv_id)

    def _deleted(self, conv_id: str) -> None:
        if conv_id == self.conv_id:
            self.new_chat()

    def open_conversation(self, conv_id: str) -> None:
        self.stop_reply()
        self.calls.run(lambda c: c.conversation(conv_id), self._show_conversation)

    def _show_conversation(self, conv: Conversation) -> None:
        self.conv_id = conv.id
        self._framing = (conv.system_prompt, conv.overflow_policy)
        self.turns = stored_turns([m.model_dump() for m in conv.messages or []])
        self.collections.select(conv.vector_store_ids)
        if conv.model and self.model_picker.findData(conv.model) >= 0:
            self.model_picker.setCurrentIndex(self.model_picker.findData(conv.model))
        self.redraw()
        self._update_buttons()

    def new_chat(self) -> None:
        self.stop_reply()
        self.conv_id = None
        self.turns = []
        self.conversations.clearSelection()
        self.redraw()
        self.input.setFocus()
        self._update_buttons()

    # -- collections and their citations ---------------------------------------------------
    def _collections_changed(self, ids: list[str]) -> None:
        conv_id = self.conv_id
        if conv_id is not None:
            self.calls.run(lambda c: c.update_conversation(conv_id, vector_store_ids=ids))

    def open_citation(self, citation: dict[str, Any]) -> None:
        """Open the cited file at its page or time (a watched folder's file where it is, an
        uploaded one from the engine)."""
        cache = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))
        store_id, file_id = citation["vector_store_id"], citation["file_id"]

        def opened(path: Path) -> None:
            where = place_of(citation)
            self.open_url(source_url(path, citation))
            self.notice.emit(self.tr("Opened %1").replace(
                "%1", citation["filename"] + (f", {where}" if where else "")))  # fmt: skip

        self.calls.run(lambda c: c.source_of(store_id, file_id, cache / "sources"), opened)

    # -- attachments -----------------------------------------------------------------------
    def _choose_attachment(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Attach images"), "", "Images (*.png *.jpg *.jpeg *.webp *.gif *.bmp)"
        )
        for name in files:
            self.add_attachment(Path(name))

    def add_attachment(self, path: Path) -> None:
        if kind_of(path) != "image":
            self.notice.emit(
                self.tr(
                    "Only images can be attached to a message; drop audio on the window to transcribe it."
                )
            )
            return
        self.attachments.append(path)
        self._show_attachments()

    def _show_attachments(self) -> None:
        names = ", ".join(p.name for p in self.attachments)
        self.attachment_bar.setText(self.tr("Attached: %1").replace("%1", names))
        self.attachment_bar.setVisible(bool(self.attachments))

    def current_model(self) -> str | None:
        data = self.model_picker.currentData()
        return str(data) if data else None

    def model_takes_images(self) -> bool:
        card = self.models.get(self.current_model() or "")
        return card is not None and "vision" in card.capabilities

    # -- sending ---------------------------------------------------------------------------
    def send_message(self) -> None:
        text = self.input.toPlainText().strip()
        if self.reply is not None or self.dictation.active or (not text and not self.attachments):
            return
        if self.calls.link.state not in ("ready", "busy"):  # keep what was typed for later
            self.notice.emit(
                self.tr("The engine is not ready yet; your message is kept in the box.")
            )
            return
        if self.attachments and not self.model_takes_images():
            self.notice.emit(
                self.tr(
                    "The chosen model does not take images; pick a vision model, or drop the image on the window for a caption and its text."
                )
            )
            return
        model = self.current_model()
        params = self.params.values()
        images = list(self.attachments)
        editing = self._editing_id
        card = self.models.get(model or "")
        remote = card is not None and "remote" in card.capabilities
        turn = Turn("user", text, images=[p.name for p in images])
        self.turns.append(turn)
        reply = Turn("assistant", "", meta={"model": model})
        self.turns.append(reply)
        self.input.clear()
        self.attachments = []
        self._show_attachments()
        self._editing_id = None
        history = [t for t in self.turns[:-2] if t.content]
        conv_id = self.conv_id
        recorded = remote or bool(images)
        tools = {"tools": True} if self.tools_box.isChecked() and not recorded else {}
        framing = (params.system_prompt or None, params.overflow_policy)
        stored_framing = self._framing
        stores = list(self.collections.chosen)
        self._framing = framing

        def run(client: EngineClient, handle: Handle) -> Iterator[tuple[str, Any]]:
            cid = (
                conv_id
                or client.create_conversation(
                    model=model,
                    system_prompt=params.system_prompt or None,
                    params=params.sampling(),
                    overflow_policy=params.overflow_policy,
                    vector_store_ids=stores,
                ).id
            )
            if conv_id is None:
                yield ("conversation", cid)
            elif framing != stored_framing:  # the panel changed since the conversation was read
                client.update_conversation(
                    cid, system_prompt=framing[0], overflow_policy=framing[1]
                )
            if editing is not None:
                client.truncate_conversation(cid, editing)
            if recorded:
                # The user's words are kept before the model is asked anything.
                ids = client.record_messages(
                    cid, [{"role": "user", "content": _with_names(text, images)}]
                )
                yield ("user_id", ids[0])
                messages: list[dict[str, Any]] = []
                if params.system_prompt:
                    messages.append({"role": "system", "content": params.system_prompt})
                messages += [{"role": t.role, "content": t.content} for t in history]
                parts: list[dict[str, Any]] = [
                    {"type": "text", "text": text or "Describe this image."}
                ]
                parts += [image_part(p) for p in images]
                messages.append({"role": "user", "content": parts})
                stream = client.stream_chat(messages, model=model, **params.sampling())
            else:
                stream = client.send_message(cid, text, model=model, **params.sampling(), **tools)
            yield ("stream", stream)
            with stream:
                for piece in stream.events():
                    yield ("tool", piece) if isinstance(piece, ToolRun) else ("text", piece)
                    if handle.cancelled:
                        break

        handle = self.calls.stream(
            run, self._on_reply_item, self._on_reply_done, self._on_reply_error
        )
        self.reply = Reply(handle=handle, turn=reply, started=time.monotonic(), recorded=recorded)
        self._render_timer.start()
        self.redraw()
        self._update_buttons()

    def _on_reply_item(self, item: tuple[str, Any]) -> None:
        kind, value = item
        reply = self.reply
        if reply is None:
            return
        if kind == "conversation":
            self.conv_id = value
            self.refresh_conversations()
        elif kind == "stream":
            reply.stream = value
        elif kind == "text":
            reply.first_token = reply.first_token or time.monotonic()
            reply.turn.content += value
            self._dirty = True
        elif kind == "tool":
            self._show_tool_run(reply.turn, value)

    def _show_tool_run(self, turn: Turn, run: ToolRun) -> None:
        known = [i for i, r in enumerate(turn.tools) if r.id == run.id]
        if known:
            turn.tools[known[0]] = run
        else:
            turn.tools.append(run)
        self._dirty = True

    def decide_tool_call(self, call_id: str, action: str) -> None:
        """Approve, deny or always allow a call the reply is waiting on."""
        conv_id = self.conv_id
        if conv_id is None or self.reply is None:
            return
        turn = self.reply.turn

        def shown(run: ToolRun) -> None:
            self._show_tool_run(turn, run)
            self.redraw()

        self.calls.run(lambda c: c.decide_tool_call(conv_id, call_id, action), shown)

    def _on_reply_done(self, _: object) -> None:
        self._finish_reply(interrupted=False)

    def _on_reply_error(self, message: str) -> None:
        if self.reply is not None:
            self.reply.turn.meta["error"] = message
        self._finish_reply(interrupted=True)
        self.notice.emit(message)

    def stop_reply(self) -> None:
        """Stop at once: the UI lets go now; the worker closes the stream (and the engine stops
        generating) at its next piece."""
        if self.reply is None:
            return
        self.reply.handle.cancel()
        self.reply.turn.meta["stopped"] = True
        self._finish_reply(interrupted=True)

    def _finish_reply(self, interrupted: bool) -> None:
        reply = self.reply
        if reply is None:
            return
        self.reply = None
        self._render_timer.stop()
        meta = reply.turn.meta
        stream = reply.stream
        if stream is not None:
            usage = stream.usage or {}
            meta["tokens"] = usage.get("completion_tokens")
            if stream.served_by is not None:
                meta["provider"] = stream.served_by.provider
                meta["cost"] = stream.served_by.cost
                meta["currency"] = stream.served_by.currency
                meta["redactions"] = sum(stream.served_by.redactions.values())
            if stream.context is not None:
                meta["left_out"] = stream.context.messages_left_out
                meta["summarized"] = stream.context.summarized_messages
                meta["citations"] = [p.model_dump() for p in stream.context.passages]
        meta.setdefault("provider", "local")
        if reply.first_token is not None:
            generating = time.monotonic() - reply.first_token
            tokens = meta.get("tokens") or max(1, len(reply.turn.content) // 4)
            if generating > 0.05:
                meta["speed"] = round(tokens / generating, 1)
        conv_id = self.conv_id
        if reply.recorded and conv_id is not None and not meta.get("error_before_text"):
            record = {
                "role": "assistant",
                "content": reply.turn.content,
                "model": meta.get("model"),
                "provider": meta.get("provider"),
                "token_count": meta.get("tokens"),
                "interrupted": interrupted,
                "finish_reason": "interrupted" if interrupted else "stop",
            }
            self.calls.run(
                lambda c: c.record_messages(conv_id, [record]), lambda _i: self._reload_ids()
            )
        elif conv_id is not None:
            QTimer.singleShot(300, self._reload_ids)  # the engine writes the reply as it ends
        self.redraw()
        self._update_buttons()

    def _reload_ids(self) -> None:
        """Take the stored messages' ids (regenerate and edit need them), keeping what we show."""
        conv_id = self.conv_id
        if conv_id is None or self.reply is not None:
            return

        def apply(conv: Conversation) -> None:
            if conv.id != self.conv_id or self.reply is not None:
                return
            stored = [
                m
                for m in conv.messages or []
                if m.role in ("user", "assistant") and not m.tool_calls
            ]
            if len(stored) == len(self.turns):
                for turn, message in zip(self.turns, stored, strict=True):
                    turn.id = message.id
            self._update_buttons()
            self.refresh_conversations()

        self.calls.run(lambda c: c.conversation(conv_id), apply)

    # -- regenerate and edit ---------------------------------------------------------------
    def _last_user(self) -> Turn | None:
        return next((t for t in reversed(self.turns) if t.role == "user"), None)

    def regenerate(self) -> None:
        last = self._last_user()
        if self.reply is not None or last is None or last.id is None or last.images:
            return
        index = self.turns.index(last)
        self.turns = self.turns[:index]
        self._editing_id = last.id
        self.input.setPlainText(last.content)
        self.send_message()

    def edit_last(self) -> None:
        last = self._last_user()
        if self.reply is not None or last is None or last.id is None:
            return
        index = self.turns.index(last)
        self.turns = self.turns[:index]
        self._editing_id = last.id  # deleted from the engine when the edit is sent
        self.input.setPlainText(last.content)
        self.input.setFocus()
        self.redraw()
        self._update_buttons()

    # -- showing ---------------------------------------------------------------------------
    def insert_text(self, text: str) -> None:
        cursor = self.input.textCursor()
        cursor.insertText(text)
        self.input.setFocus()

    def _update_buttons(self) -> None:
        streaming = self.reply is not None
        last = self._last_user()
        self.send_button.setEnabled(not streaming)
        self.stop_button.setEnabled(streaming)
        can_redo = not streaming and last is not None and last.id is not None
        self.regenerate_button.setEnabled(can_redo and last is not None and not last.images)
        self.edit_button.setEnabled(can_redo)

    def _render_if_dirty(self) -> None:
        if self._dirty:
            self.redraw()

    def redraw(self) -> None:
        self._dirty = False
        self.chat_view.show_turns(self.turns, self.reply.turn if self.reply else None)


def _with_names(text: str, images: list[Path]) -> str:
    names = ", ".join(p.name for p in images)
    return f"{text}\n\n[images: {names}]" if images else text
