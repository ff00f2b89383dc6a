"""The conversations sidebar: new chat, search (titles and messages), and per conversation
rename, export as Markdown and delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from engine.schemas import Conversation


class ConversationList(QWidget):
    open_requested = Signal(str)
    new_requested = Signal()
    deleted = Signal(str)
    notice = Signal(str)

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.current_id: str | None = None  # shown selected
        self.search = QLineEdit()
        self.search.setAccessibleName(self.tr("Search conversations"))
        self.search.setPlaceholderText(self.tr("Search conversations"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.new_button = QPushButton(self.tr("New chat"))
        self.new_button.clicked.connect(self.new_requested)
        self.list = QListWidget()
        self.list.setObjectName("conversations")
        self.list.setAccessibleName(self.tr("Conversations"))
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(self._open_item)
        self.list.itemClicked.connect(self._open_item)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list)

    def refresh(self) -> None:
        query = self.search.text().strip() or None
        self.calls.run(lambda c: c.conversations(query), self._show)

    def _show(self, found: list[Conversation]) -> None:
        self.list.clear()
        for conv in found:
            item = QListWidgetItem(conv.title or self.tr("New conversation"))
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            item.setToolTip(conv.title or "")
            self.list.addItem(item)
            if conv.id == self.current_id:
                item.setSelected(True)

    def _open_item(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def _menu(self, pos: Any) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        conv_id = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename…"), lambda: self.rename(conv_id, item.text()))
        menu.addAction(self.tr("Export as Markdown…"), lambda: self.export(conv_id))
        menu.addAction(self.tr("Delete"), lambda: self.delete(conv_id))
        menu.exec(self.list.mapToGlobal(pos))

    def rename(self, conv_id: str, current: str, title: str | None = None) -> None:
        if title is None:
            title, ok = QInputDialog.getText(
                self, self.tr("Rename"), self.tr("Title:"), text=current
            )
            if not ok or not title.strip():
                return
        new = title.strip()
        self.calls.run(
            lambda c: c.update_conversation(conv_id, title=new),
            lambda _c: self.refresh(),
        )

    def export(self, conv_id: str, path: Path | None = None) -> None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, self.tr("Export conversation"), "conversation.md", "Markdown (*.md)"
            )
            if not chosen:
                return
            path = Path(chosen)
        target = path

        def write(client: EngineClient) -> Path:
            target.write_text(client.export_conversation(conv_id, "md"), encoding="utf-8")
            return target

        self.calls.run(write, lambda p: self.notice.emit(self.tr("Saved %1").replace("%1", p.name)))

    def delete(self, conv_id: str, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(
                self, self.tr("Delete conversation"), self.tr("Delete this conversation?")
            )
            if answer != QMessageBox.StandardButton.Yes:
                return

        def deleted(_: object) -> None:
            self.deleted.emit(conv_id)
            self.refresh()

        self.calls.run(lambda c: c.delete_conversation(conv_id), deleted)
