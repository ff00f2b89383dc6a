"""What the side-by-side pages share: two panes in a splitter, and files dropped on the page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


def two_panes(page: QWidget, left: QWidget, right: QWidget, sizes: tuple[int, int]) -> None:
    """`left` and `right` side by side in a splitter filling `page`."""
    splitter = QSplitter()
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setSizes(list(sizes))
    QVBoxLayout(page).addWidget(splitter)


class DropPage(QWidget):
    """A page that takes local files dropped on it: `files_dropped` gets their paths."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)

    def files_dropped(self, paths: list[Path]) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.files_dropped(paths)
