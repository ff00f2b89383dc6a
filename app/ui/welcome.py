"""The first-run welcome above the chat: Hearth works offline, what the built-in models are for,
and the catalog model this computer runs best, downloaded in one click and made the default.
Shown until the user dismisses it or the recommended model is in."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from app.engine_calls import EngineCalls
from app.tasks import Handle
from app.ui.icons import icon
from engine.schemas import CatalogEntry

DONE_KEY = "welcome/done"


def gigabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e9:.1f} GB"


class Welcome(QFrame):
    notice = Signal(str)
    model_ready = Signal(str)  # the recommended model is installed and is now the default

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.setObjectName("welcome")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.recommended: CatalogEntry | None = None
        self._handle: Handle | None = None
        title = QLabel(self.tr("Welcome to Hearth"))
        title.setObjectName("page_title")
        about = QLabel(
            self.tr("Everything runs on this computer, and it keeps working with the network "
                    "unplugged. Built in: a tiny chat model for trying Hearth out (its answers "
                    "are rough), Whisper for speech, and a model that searches your files.")
        )  # fmt: skip
        about.setWordWrap(True)
        self.advice = QLabel()
        self.advice.setWordWrap(True)
        self.get_button = QPushButton(icon("download"), self.tr("Download and use it"))
        self.get_button.setObjectName("welcome_download")
        self.get_button.clicked.connect(self.download)
        self.get_button.hide()
        self.progress = QProgressBar()
        self.progress.setAccessibleName(self.tr("Download progress"))
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.dismiss_button = QPushButton(self.tr("Not now"))
        self.dismiss_button.clicked.connect(self.dismiss)
        row = QHBoxLayout()
        row.addWidget(self.get_button)
        row.addWidget(self.progress, 1)
        row.addStretch(1)
        row.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(about)
        layout.addWidget(self.advice)
        layout.addLayout(row)
        self.setVisible(not QSettings().value(DONE_KEY, False, type=bool))

    def refresh(self) -> None:
        if self.isVisible() or not QSettings().value(DONE_KEY, False, type=bool):
            self.calls.run(lambda c: c.catalog(), self._show, lambda _m: None)

    def _show(self, entries: list[CatalogEntry]) -> None:
        best = next((e for e in entries if e.recommended), None)
        self.recommended = best
        if best is None:
            self.advice.setText(self.tr("The catalog on the Models page has larger models."))
            self.get_button.hide()
        elif best.installed:
            self.advice.setText(
                self.tr("%1 is installed: choose it in the model list for better answers.")
                .replace("%1", best.name)
            )  # fmt: skip
            self.get_button.hide()
        else:
            self.advice.setText(
                self.tr("For better answers, get %1 (about %2). It fits this computer's free "
                        "memory, and becomes the default model when it has arrived.")
                .replace("%1", best.name).replace("%2", gigabytes(best.size_bytes))
            )  # fmt: skip
            self.get_button.show()

    def download(self) -> None:
        best = self.recommended
        if best is None or self._handle is not None:
            return
        model_id = best.id

        def done() -> None:
            self._handle = None
            self.notice.emit(self.tr("%1 is in, and is now the default model.")
                             .replace("%1", best.name))  # fmt: skip
            self.model_ready.emit(model_id)
            self.dismiss()

        def failed(message: str) -> None:
            self._handle = None
            self.progress.hide()
            self.get_button.setEnabled(True)
            self.notice.emit(message)

        self.get_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self._handle = self.calls.pull(
            model_id,
            self.progress.setValue,
            done,
            failed,
            then=lambda client: client.update_settings(default_model=model_id),
        )

    def dismiss(self) -> None:
        if self._handle is not None:
            self._handle.cancel()  # the partial file is kept; the Models page resumes it
            self._handle = None
        QSettings().setValue(DONE_KEY, True)
        self.hide()
