"""Record a long stretch (a meeting) to a WAV file as it is captured, for the Transcribe page:
the file on disk grows with every piece, so a crash or an unplugged microphone loses nothing
that was already heard."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.recording_file import GrowingWav
from app.ui.dictation_bar import DEVICE_KEY
from app.ui.icons import icon
from app.ui.microphone import LevelClock, Microphone, MicrophoneError


def default_recordings_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "recordings"


class RecorderBar(QWidget):
    notice = Signal(str)
    recorded = Signal(object)  # the Path of a finished recording

    def __init__(self) -> None:
        super().__init__()
        self.folder = default_recordings_dir()
        self.button = QPushButton(icon("record"), self.tr("Record"))
        self.button.setObjectName("record_button")
        self.button.setAccessibleName(self.tr("Record from the microphone"))
        self.button.clicked.connect(self.toggle)
        self.mic = Microphone(self)
        self.mic.lost.connect(self._lost)
        self.gauge = LevelClock(self.mic, 90)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.gauge)
        self.file: GrowingWav | None = None
        self._show(False)

    def toggle(self) -> None:
        if self.file is None:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        stamp = time.strftime("%Y-%m-%d %H.%M.%S")
        path = self.folder / f"Recording {stamp}.wav"
        try:
            self.mic.start(str(QSettings().value(DEVICE_KEY, "") or "") or None)
        except MicrophoneError as exc:
            self.notice.emit(str(exc))
            return
        self.file = GrowingWav(path)
        self.mic.audio.connect(self.file.append)
        self._show(True)

    def stop(self) -> None:
        self.mic.stop()  # what the device had buffered is written first
        self._finish()

    def _lost(self, message: str) -> None:
        self.notice.emit(message)
        self._finish()

    def _finish(self) -> None:
        recording = self.file
        if recording is None:
            return
        self.mic.audio.disconnect(recording.append)
        recording.close()
        self.file = None
        self._show(False)
        if recording.frames_bytes:
            self.recorded.emit(recording.path)
        else:
            recording.path.unlink(missing_ok=True)

    def _show(self, recording: bool) -> None:
        self.gauge.running(recording)
        self.button.setText(self.tr("Stop recording") if recording else self.tr("Record"))
        self.button.setIcon(icon("stop" if recording else "record"))
