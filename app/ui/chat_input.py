"""The message box: Enter sends, Shift+Enter starts a new line, pasted images become attachments."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.attachments import kind_of


class ChatInput(QPlainTextEdit):
    send_requested = Signal()
    attach = Signal(object)  # a Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(
            self.tr("Message Hearth… (Enter sends, Shift+Enter for a new line)")
        )
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.send_requested.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        if source.hasUrls():  # images attach here; other files go on to the window (transcribe)
            return _all_images(source)
        return source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasImage():
            image = QImage(source.imageData())
            if not image.isNull():
                folder = Path(tempfile.gettempdir()) / "hearth-pasted"
                folder.mkdir(exist_ok=True)
                path = folder / f"pasted-{int(time.time() * 1000)}.png"
                image.save(str(path))
                self.attach.emit(path)
                return
        if source.hasUrls() and _all_images(source):
            for url in source.urls():
                self.attach.emit(Path(url.toLocalFile()))
            return
        super().insertFromMimeData(source)


def _all_images(source: QMimeData) -> bool:
    urls = source.urls()
    return bool(urls) and all(
        u.isLocalFile() and kind_of(Path(u.toLocalFile())) == "image" for u in urls
    )
