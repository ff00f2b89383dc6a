"""The microphone, through Qt Multimedia: 16 kHz mono 16-bit PCM, its level, and a clear end when
the device goes away.

Qt Multimedia rather than PortAudio (`sounddevice`): it ships inside PySide6-Addons with its own
PulseAudio/CoreAudio/WASAPI backends, needs no second native library, and its device list is the
one the rest of the window's Qt code sees. Qt does not always report a device pulled out while
it records (a PulseAudio source just stops), so a stall in the data counts as unplugged too:
a working microphone sends samples (silence included) all the time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from app.audio_convert import RATE, ToPcm16k

POLL_MS = 50
_SAMPLE_FORMATS = {"UInt8": "uint8", "Int16": "int16", "Int32": "int32", "Float": "float"}
STALL_SECONDS = 1.5  # no samples for this long while recording: the device is gone


class MicrophoneError(Exception):
    """A microphone could not be opened; the message says what to do."""


@dataclass(frozen=True)
class InputDevice:
    id: str
    name: str


def _multimedia() -> Any:
    """Qt Multimedia, loaded on first use (it needs PulseAudio's client library on Linux)."""
    try:
        from PySide6 import QtMultimedia
    except ImportError as exc:
        raise MicrophoneError(
            "Recording needs Qt Multimedia and the system's audio library (libpulse0 on Linux)."
        ) from exc
    return QtMultimedia


def input_devices() -> list[InputDevice]:
    try:
        media = _multimedia()
    except MicrophoneError:
        return []
    return [
        InputDevice(bytes(d.id().data()).decode(errors="replace"), d.description())
        for d in media.QMediaDevices.audioInputs()
    ]


class Microphone(QObject):
    """Records from one device; `audio` carries each new piece of PCM."""

    audio = Signal(bytes)
    level = Signal(float)  # 0 to 1: the loudest sample of the last piece
    lost = Signal(str)  # the device stopped mid-recording; what came before is kept

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: Any = None
        self._io: Any = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._bytes = 0
        self._last_data = 0.0
        self._convert: ToPcm16k | None = None  # when the device cannot give 16 kHz mono

    @property
    def recording(self) -> bool:
        return self._source is not None

    @property
    def seconds(self) -> float:
        return self._bytes / (2 * RATE)

    def start(self, device_id: str | None = None) -> InputDevice:
        """Open `device_id` (or the system's default, or the first there is) and record."""
        media = _multimedia()
        devices = media.QMediaDevices.audioInputs()
        if not devices:
            raise MicrophoneError(
                self.tr("No microphone found. Connect one, or choose another in Settings.")
            )
        by_id = {bytes(d.id().data()).decode(errors="replace"): d for d in devices}
        device = by_id.get(device_id or "")
        if device is None:
            default = media.QMediaDevices.defaultAudioInput()
            device = default if not default.isNull() else devices[0]
        fmt = media.QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(media.QAudioFormat.SampleFormat.Int16)
        self._convert = None
        if not device.isFormatSupported(fmt):  # record as the device does, convert here
            fmt = device.preferredFormat()
            kind = _SAMPLE_FORMATS.get(fmt.sampleFormat().name)
            if kind is None or fmt.sampleRate() <= 0:
                raise MicrophoneError(self.tr("This microphone records in a format Hearth "
                                              "cannot read."))  # fmt: skip
            self._convert = ToPcm16k(fmt.sampleRate(), fmt.channelCount(), kind)
        source = media.QAudioSource(device, fmt, self)
        io = source.start()
        if io is None or source.error() != _no_error():
            source.deleteLater()
            raise MicrophoneError(
                self.tr("The microphone could not be opened: access was refused, or another "
                        "program holds it.")
            )  # fmt: skip
        self._source, self._io = source, io
        self._bytes = 0
        self._last_data = time.monotonic()
        self._timer.start()
        return InputDevice(bytes(device.id().data()).decode(errors="replace"), device.description())

    def stop(self) -> None:
        """Stop recording, after handing on what the device had already given."""
        if self._source is None:
            return
        self._poll()
        self._close()

    def _close(self) -> None:
        self._timer.stop()
        if self._source is not None:
            self._source.stop()
            self._source.deleteLater()
        self._source = self._io = None

    def _poll(self) -> None:
        if self._io is None:
            return
        data = bytes(self._io.readAll().data())
        if data and self._convert is not None:
            data = self._convert(data)
        now = time.monotonic()
        if data:
            self._last_data = now
            self._bytes += len(data)
            self.audio.emit(data)
            self.level.emit(peak_level(data))
            return
        failed = self._source is not None and self._source.error() != _no_error()
        if failed or now - self._last_data > STALL_SECONDS:
            self._close()
            self.lost.emit(
                self.tr("The microphone stopped (unplugged?). What was recorded is kept.")
            )


def peak_level(pcm: bytes) -> float:
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    return float(np.abs(samples.astype(np.int32)).max() / 32768) if len(samples) else 0.0


def _no_error() -> Any:
    media = _multimedia()
    audio = getattr(media, "QtAudio", None) or media.QAudio  # QAudio before Qt 6.7
    return audio.Error.NoError


class LevelClock(QWidget):
    """A microphone's level meter and recording clock, shown beside its button while it records."""

    def __init__(self, mic: Microphone, meter_width: int = 70) -> None:
        super().__init__()
        self.mic = mic
        self.meter = QProgressBar()
        self.meter.setAccessibleName(self.tr("Microphone level"))
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedSize(meter_width, 8)
        self.clock = QLabel("0:00")
        self.clock.setAccessibleName(self.tr("Recording time"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.meter)
        layout.addWidget(self.clock)
        mic.level.connect(lambda level: self.meter.setValue(int(level * 100)))
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._show_clock)
        self.running(False)

    def running(self, on: bool) -> None:
        if on:
            self.meter.setValue(0)
            self.clock.setText("0:00")
            self._tick.start()
        else:
            self._tick.stop()
        self.meter.setVisible(on)
        self.clock.setVisible(on)

    def _show_clock(self) -> None:
        s = int(self.mic.seconds)
        self.clock.setText(f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600
                           else f"{s // 60}:{s % 60:02d}")  # fmt: skip
