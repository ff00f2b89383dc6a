"""The tray's quick-ask window: one question, the answer streamed in, and a button that opens
the exchange in the main window. It is a stored conversation, so nothing asked here is lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.chat_markdown import MarkdownRenderer
from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from app.tasks import Handle
from app.ui.icons import icon


class QuickAsk(QWidget):
    open_requested = Signal(str)  # the conversation's id

    def __init__(
        self,
        calls: EngineCalls,
        asking: Callable[[], dict[str, Any]] = dict,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.calls = calls
        self.asking = asking  # the model and sampling the chat page has chosen
        self.setWindowTitle(self.tr("Ask Hearth"))
        self.resize(460, 320)
        self.question = QLineEdit()
        self.question.setObjectName("quick_question")
        self.question.setAccessibleName(self.tr("Question"))
        self.question.setPlaceholderText(self.tr("Ask anything… (Enter)"))
        self.question.returnPressed.connect(self.ask)
        self.answer = QTextBrowser()
        self.answer.setObjectName("quick_answer")
        self.answer.setAccessibleName(self.tr("Answer"))
        self.status = QLabel()
        self.status.setProperty("muted", True)
        self.open_button = QPushButton(icon("chat"), self.tr("Open in Hearth"))
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.answer, 1)
        layout.addLayout(row)
        self.renderer = MarkdownRenderer(self.tr("Copy"))
        self.conv_id: str | None = None
        self.text = ""
        self._handle: Handle | None = None

    def ask(self) -> None:
        question = self.question.text().strip()
        if not question or self._handle is not None:
            return
        self.text = ""
        self.conv_id = None
        self.answer.clear()
        self.open_button.setEnabled(False)
        self.status.setText(self.tr("Thinking…"))

        params = self.asking()

        def run(client: EngineClient, _handle: Handle) -> Iterator[tuple[str, str]]:
            conv = client.create_conversation(title=question[:60], model=params.get("model"))
            yield ("conversation", conv.id)
            with client.send_message(conv.id, question, **params) as stream:
                for piece in stream.events():
                    if isinstance(piece, str):
                        yield ("text", piece)

        self._handle = self.calls.stream(run, self._item, self._done, self._failed)

    def _item(self, item: tuple[str, str]) -> None:
        kind, value = item
        if kind == "conversation":
            self.conv_id = value
            self.open_button.setEnabled(True)
        else:
            self.text += value
            self.answer.setHtml(self.renderer.render(self.text).html)

    def _done(self, _result: object) -> None:
        self._handle = None
        self.status.setText("")

    def _failed(self, message: str) -> None:
        self._handle = None
        self.status.setText(message)

    def _open(self) -> None:
        if self.conv_id is not None:
            self.open_requested.emit(self.conv_id)
            self.hide()
