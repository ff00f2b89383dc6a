"""Opening the real window against a real engine, and closing it cleanly, for the desktop tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.engine_link import EngineLink
from app.tasks import Tasks
from app.ui.main_window import MainWindow


@dataclass
class Windows:
    """Windows a test opened; each is closed (workers joined, engine stopped) at the end."""

    qtbot: Any
    opened: list[MainWindow] = field(default_factory=list)

    def open(self, env: dict[str, str], timeout_ms: int = 120_000) -> MainWindow:
        tasks = Tasks()
        link = EngineLink(tasks, env)
        window = MainWindow(link, tasks, env)
        self.opened.append(window)
        window.show()
        with self.qtbot.waitSignal(link.ready, timeout=timeout_ms):
            link.start()
        # The first page's data arrives on its own; wait for it so tests start from a known state.
        self.qtbot.waitUntil(lambda: window.chat.model_picker.count() > 0, timeout=30_000)
        self.qtbot.waitUntil(lambda: window.health is not None, timeout=30_000)
        return window

    def close_all(self) -> None:
        for window in self.opened:
            window.close()
            window.deleteLater()  # a closed window is hidden, not gone: later tests pay for it
        self.opened.clear()


def drop_files(widget: Any, paths: list[Path]) -> None:
    """Drop local files on `widget` as a file manager would."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    widget.dropEvent(event)
