"""Record a long stretch (a meeting) to a WAV file as it is captured, for the Transcribe page:
the file on disk grows with every piece, so a crash or an unplugged microphone loses nothing
that was already heard."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.recording_file import GrowingWav
from app.ui.dictation_bar import DEVICE_KEY
from app.ui.icons import icon
from app.ui.microphone import Microphone, MicrophoneError


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
        self.meter = QProgressBar()
        self.meter.setAccessibleName(self.tr("Microphone level"))
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedSize(90, 8)
        self.clock = QLabel()
        self.clock.setAccessibleName(self.tr("Recording time"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.button, self.meter, self.clock):
            layout.addWidget(widget)
        self.mic = Microphone(self)
        self.mic.level.connect(lambda level: self.meter.setValue(int(level * 100)))
        self.mic.lost.connect(self._lost)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._show_clock)
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
        self.meter.setVisible(recording)
        self.clock.setVisible(recording)
        self.button.setText(self.tr("Stop recording") if recording else self.tr("Record"))
        self.button.setIcon(icon("stop" if recording else "record"))
        if recording:
            self.clock.setText("0:00")
            self._tick.start()
        else:
            self._tick.stop()

    def _show_clock(self) -> None:
        seconds = int(self.mic.seconds)
        self.clock.setText(f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
                           if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}")  # fmt: skip
