"""What a dropped file turns into: a transcription card or an image card, with progress and
cancel while the engine works, and the result offered into the chat or as a document."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from app.engine_calls import EngineCalls
from app.engine_client import RESULT_FORMATS
from app.tasks import Handle
from engine.schemas import Job


class _Card(QFrame):
    closed = Signal(object)
    insert_text = Signal(str)
    open_document = Signal(str, str)  # title, text

    def __init__(self, calls: EngineCalls, path: Path) -> None:
        super().__init__()
        self.calls = calls
        self.path = path
        self.job: Job | None = None
        self.watch: Handle | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{path.name}</b>")
        self.status = QLabel(self.tr("Sending…"))
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("✕")
        self.close_button.setFlat(True)
        self.close_button.setToolTip(self.tr("Close"))
        self.close_button.clicked.connect(lambda: self.closed.emit(self))
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.status)
        head.addWidget(self.cancel_button)
        head.addWidget(self.close_button)
        self.body = QVBoxLayout(self)
        self.body.addLayout(head)
        self.body.addWidget(self.progress)

    def submit(self, **fields: object) -> None:
        path = self.path
        self.calls.run(lambda c: c.submit_job(path, **fields), self._submitted, self._failed)

    def _submitted(self, job: Job) -> None:
        self.job = job
        self.watch = self.calls.watch_job(job.id, self._update, self._failed)

    def _update(self, job: Job) -> None:
        self.job = job
        self.progress.setValue(int(job.progress * 100))
        labels = {
            "queued": self.tr("Waiting"),
            "running": self.tr("Working"),
            "succeeded": self.tr("Done"),
            "failed": self.tr("Failed"),
            "cancelled": self.tr("Cancelled"),
        }
        self.status.setText(labels.get(job.status, job.status))
        if job.status == "succeeded":
            self.cancel_button.hide()
            self.progress.hide()
            self.show_result(job)
        elif job.status in ("failed", "cancelled"):
            self.cancel_button.hide()
            if job.error:
                self.status.setText(labels[job.status] + ": " + job.error)

    def _failed(self, message: str) -> None:
        self.status.setText(self.tr("Failed: %1").replace("%1", message))
        self.cancel_button.hide()

    def cancel(self) -> None:
        if self.job is not None:
            job_id = self.job.id
            self.calls.run(lambda c: c.cancel_job(job_id), self._update)
        self.status.setText(self.tr("Cancelling…"))

    def stop_watching(self) -> None:
        if self.watch is not None:
            self.watch.cancel()

    def show_result(self, job: Job) -> None:
        raise NotImplementedError


class TranscriptCard(_Card):
    def __init__(self, calls: EngineCalls, path: Path) -> None:
        super().__init__(calls, path)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumHeight(90)
        self.text.hide()
        self.action_row = QHBoxLayout()
        self.result_buttons: list[QPushButton] = []
        for label, slot in (
            (self.tr("Insert into chat"), lambda: self.insert_text.emit(self.transcript())),
            (
                self.tr("Open as document"),
                lambda: self.open_document.emit(self.path.name, self.transcript()),
            ),
            (self.tr("Export…"), self.export),
        ):
            button = QPushButton(label)
            button.clicked.connect(slot)
            button.setEnabled(False)
            self.result_buttons.append(button)
            self.action_row.addWidget(button)
        self.body.addWidget(self.text)
        self.body.addLayout(self.action_row)
        self.submit(kind="transcription", response_format="verbose_json")

    def transcript(self) -> str:
        return self.text.toPlainText()

    def show_result(self, job: Job) -> None:
        result = job.result if isinstance(job.result, dict) else {}
        self.text.setPlainText(str(result.get("text", "")).strip())
        self.text.show()
        for button in self.result_buttons:
            button.setEnabled(True)

    def export(self, path: Path | None = None) -> None:
        if self.job is None:
            return
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                self.tr("Export transcript"),
                self.path.stem + ".srt",
                "SubRip (*.srt);;WebVTT (*.vtt);;Text (*.txt)",
            )
            if not chosen:
                return
            path = Path(chosen)
        fmt = RESULT_FORMATS.get(path.suffix.lstrip(".").lower(), "text")
        job_id, target = self.job.id, path
        self.calls.run(
            lambda c: c.save_job_result(job_id, target, fmt),
            lambda p: self.status.setText(self.tr("Saved %1").replace("%1", p.name)),
        )


class ImageCard(_Card):
    send_image = Signal(object)  # the image's Path, as an image part of the next message

    def __init__(self, calls: EngineCalls, path: Path, can_caption: bool) -> None:
        super().__init__(calls, path)
        thumb = QLabel()
        pixmap = QPixmap(str(path))
        if not pixmap.isNull():
            thumb.setPixmap(
                pixmap.scaled(
                    96,
                    96,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.ocr_text = QPlainTextEdit()
        self.ocr_text.setReadOnly(True)
        self.ocr_text.setMaximumHeight(80)
        self.ocr_text.hide()
        row = QHBoxLayout()
        row.addWidget(thumb)
        column = QVBoxLayout()
        column.addWidget(self.caption)
        column.addWidget(self.ocr_text)
        row.addLayout(column, 1)
        self.body.addLayout(row)
        actions = QHBoxLayout()
        self.insert_button = QPushButton(self.tr("Insert text into chat"))
        self.insert_button.clicked.connect(
            lambda: self.insert_text.emit(self.ocr_text.toPlainText())
        )
        self.insert_button.setEnabled(False)
        self.send_button = QPushButton(self.tr("Send image to chat"))
        self.send_button.clicked.connect(lambda: self.send_image.emit(self.path))
        actions.addWidget(self.insert_button)
        actions.addWidget(self.send_button)
        actions.addStretch(1)
        self.body.addLayout(actions)
        if not can_caption:
            self.caption.setText(self.tr("No vision model is installed: showing the text only."))
            self.send_button.setEnabled(False)  # no local model could look at it
            self.send_button.setToolTip(
                self.tr("Install a vision model (Models page) to send images.")
            )
        self.submit(kind="image")

    def show_result(self, job: Job) -> None:
        result = job.result if isinstance(job.result, dict) else {}
        caption = result.get("caption")
        if caption:
            self.caption.setText(str(caption))
        ocr = result.get("ocr") or {}
        text = str(ocr.get("text", "") if isinstance(ocr, dict) else ocr).strip()
        self.ocr_text.setPlainText(text or self.tr("(no text found)"))
        self.ocr_text.show()
        self.insert_button.setEnabled(bool(text))
