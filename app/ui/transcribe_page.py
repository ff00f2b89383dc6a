"""A queue of files to transcribe, Buzz-like: per-file progress, language and model, bulk export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.attachments import AUDIO
from app.engine_calls import EngineCalls
from app.engine_client import RESULT_FORMATS, EngineClient
from app.tasks import Handle
from app.ui.recorder_bar import RecorderBar
from engine.schemas import Job

LANGUAGES = ("", "en", "zh", "es", "fr", "de", "ja", "ko", "ru", "pt", "it")


@dataclass
class QueuedFile:
    path: Path
    language: QComboBox
    model: QComboBox
    progress: QProgressBar
    status: QTableWidgetItem
    job: Job | None = None
    watch: Handle | None = None


class TranscribePage(QWidget):
    notice = Signal(str)

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.files: list[QueuedFile] = []
        self.speech_models: list[str] = []
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("transcription_queue")
        self.table.setAccessibleName(self.tr("Transcriptions"))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("File"),
                self.tr("Language"),
                self.tr("Model"),
                self.tr("Progress"),
                self.tr("Status"),
            ]
        )
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        add = QPushButton(self.tr("Add files…"))
        add.clicked.connect(self._choose)
        self.start_button = QPushButton(self.tr("Transcribe all"))
        self.start_button.clicked.connect(self.start_all)
        self.cancel_button = QPushButton(self.tr("Cancel all"))
        self.cancel_button.clicked.connect(self.cancel_all)
        self.export_format = QComboBox()
        for fmt in ("srt", "vtt", "txt"):
            self.export_format.addItem(fmt.upper(), fmt)
        export = QPushButton(self.tr("Export all…"))
        export.clicked.connect(self._choose_export)
        clear = QPushButton(self.tr("Clear finished"))
        clear.clicked.connect(self.clear_finished)
        self.recorder = RecorderBar()
        self.recorder.notice.connect(self.notice)
        self.recorder.recorded.connect(self._recorded)
        row = QHBoxLayout()
        for w in (add, self.recorder, self.start_button, self.cancel_button, clear):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(QLabel(self.tr("Format")))
        row.addWidget(self.export_format)
        row.addWidget(export)
        layout = QVBoxLayout(self)
        hint = QLabel(
            self.tr(
                "Add audio or video files, or record from the microphone; choose a language and model for each, and transcribe them in the background."
            )
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(row)
        layout.addWidget(self.table)

    def set_speech_models(self, ids: list[str]) -> None:
        self.speech_models = ids
        for f in self.files:
            current = f.model.currentData()
            f.model.clear()
            for model_id in ids:
                f.model.addItem(model_id, model_id)
            f.model.setCurrentIndex(max(0, f.model.findData(current)))

    def _choose(self) -> None:
        pattern = "Audio/video (" + " ".join(f"*{s}" for s in sorted(AUDIO)) + ")"
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Add files"), "", pattern)
        self.add_files([Path(n) for n in names])

    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(path.name))
            language = QComboBox()
            for code in LANGUAGES:
                language.addItem(code or self.tr("auto"), code)
            model = QComboBox()
            for model_id in self.speech_models:
                model.addItem(model_id, model_id)
            progress = QProgressBar()
            progress.setRange(0, 100)
            status = QTableWidgetItem(self.tr("Ready"))
            self.table.setCellWidget(row, 1, language)
            self.table.setCellWidget(row, 2, model)
            self.table.setCellWidget(row, 3, progress)
            self.table.setItem(row, 4, status)
            self.files.append(QueuedFile(path, language, model, progress, status))

    def _recorded(self, path: Path) -> None:
        """A finished recording is queued and transcribed like a dropped file."""
        self.notice.emit(
            self.tr("Recording saved as %1; transcribing it.").replace("%1", path.name)
        )
        self.add_files([path])
        self._start(self.files[-1])

    def start_all(self) -> None:
        for f in self.files:
            if f.job is None:
                self._start(f)

    def _start(self, f: QueuedFile) -> None:
        fields: dict[str, object] = {"kind": "transcription", "response_format": "verbose_json"}
        if f.language.currentData():
            fields["language"] = f.language.currentData()
        if f.model.currentData():
            fields["model"] = f.model.currentData()
        f.status.setText(self.tr("Sending…"))
        path = f.path

        def submitted(job: Job) -> None:
            f.job = job
            f.watch = self.calls.watch_job(
                job.id, lambda j: self._update(f, j), lambda m: self._failed(f, m)
            )

        self.calls.run(
            lambda c: c.submit_job(path, **fields), submitted, lambda m: self._failed(f, m)
        )

    def _update(self, f: QueuedFile, job: Job) -> None:
        f.job = job
        f.progress.setValue(int(job.progress * 100))
        f.status.setText(job.status if not job.error else f"{job.status}: {job.error}")

    def _failed(self, f: QueuedFile, message: str) -> None:
        f.status.setText(self.tr("Failed: %1").replace("%1", message))

    def cancel_all(self) -> None:
        for f in self.files:
            if f.job is not None and f.job.status in ("queued", "running"):
                self._cancel(f, f.job.id)

    def _cancel(self, f: QueuedFile, job_id: str) -> None:
        self.calls.run(lambda c: c.cancel_job(job_id), lambda job: self._update(f, job))

    def clear_finished(self) -> None:
        for i in reversed(range(len(self.files))):
            f = self.files[i]
            if f.job is not None and f.job.status in ("succeeded", "failed", "cancelled"):
                self.table.removeRow(i)
                del self.files[i]

    def _choose_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export to folder"))
        if folder:
            self.export_all(Path(folder), str(self.export_format.currentData()))

    def export_all(self, folder: Path, fmt: str) -> None:
        done = [f for f in self.files if f.job is not None and f.job.status == "succeeded"]
        wanted = RESULT_FORMATS.get(fmt, "text")
        jobs = [(f.job.id, folder / f"{f.path.stem}.{fmt}") for f in done if f.job is not None]

        def write(client: EngineClient) -> int:
            for job_id, target in jobs:
                client.save_job_result(job_id, target, wanted)
            return len(jobs)

        self.calls.run(
            write,
            lambda n: self.notice.emit(self.tr("Exported %1 transcripts").replace("%1", str(n))),
        )
