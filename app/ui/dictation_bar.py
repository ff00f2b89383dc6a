"""The microphone button of a text box: click to start and stop, or hold to talk. While it records
a level meter and the clock show, partial text fills the box as the engine hears it, and the
final text replaces it; Esc cancels and keeps nothing."""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QToolButton,
    QWidget,
)

from app.engine_calls import EngineCalls
from app.engine_client import Dictation, EngineError
from app.tasks import Handle
from app.ui.icons import icon
from app.ui.microphone import LevelClock, Microphone, MicrophoneError

HOLD_SECONDS = 0.5  # held longer than this: push-to-talk, release stops
DEVICE_KEY = "dictation/device"
SEND_ON_STOP_KEY = "dictation/send_on_stop"
SHORTCUT = "Ctrl+Shift+D"  # the window binds it; Esc cancels through the window too


class DictationBar(QWidget):
    notice = Signal(str)
    send_requested = Signal()  # the final text is in and the user asked to send it at once

    def __init__(self, calls: EngineCalls, target: QPlainTextEdit) -> None:
        super().__init__()
        self.calls = calls
        self.target = target
        self.button = QToolButton()
        self.button.setObjectName("dictate_button")
        self.button.setIcon(icon("microphone"))
        self.button.setToolTip(self.tr("Dictate (%1): click to start and stop, or hold to talk")
                               .replace("%1", SHORTCUT))  # fmt: skip
        self.button.setAccessibleName(self.tr("Dictate"))
        self.button.pressed.connect(self._pressed)
        self.button.released.connect(self._released)
        self.mic = Microphone(self)
        self.mic.lost.connect(self._lost)
        self.gauge = LevelClock(self.mic)
        self.meter, self.clock = self.gauge.meter, self.gauge.clock
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.gauge)
        self.dictation: Dictation | None = None
        self._handle: Handle | None = None
        self._prefix = ""
        self._pressed_at = 0.0
        self._started_by_press = False
        self._show_idle()

    # -- what the user does ----------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.dictation is not None

    def toggle(self) -> None:
        if self.mic.recording:
            self.stop()
        elif not self.active:
            self.start()

    def _pressed(self) -> None:
        self._pressed_at = time.monotonic()
        self._started_by_press = not self.active
        self.toggle()

    def _released(self) -> None:
        held = time.monotonic() - self._pressed_at
        if self._started_by_press and held > HOLD_SECONDS and self.mic.recording:
            self.stop()

    def start(self) -> None:
        try:
            client = self.calls.client()
            self.mic.start(str(QSettings().value(DEVICE_KEY, "") or "") or None)
        except (MicrophoneError, EngineError) as exc:
            self.notice.emit(str(exc) if isinstance(exc, MicrophoneError) else exc.message)
            return
        dictation = client.dictation()
        self.dictation = dictation
        self.mic.audio.connect(dictation.push)
        self._prefix = self.target.toPlainText().rstrip()
        self.target.setReadOnly(True)
        self._handle = self.calls.stream(
            lambda _client, _handle: dictation.events(),
            self._event,
            lambda _r: self._ended(dictation),
            lambda message: self._failed(dictation, message),
        )
        self._show_recording()

    def stop(self) -> None:
        """Stop listening; the box gets the final text when the engine has read the rest."""
        if self.dictation is None:
            return
        self.mic.stop()  # hands on what the device had buffered first
        self.dictation.stop()
        self._show_finishing()

    def cancel(self) -> None:
        """Esc: stop and keep nothing; the box holds what it held before."""
        if self.dictation is None:
            return
        self.mic.stop()
        self.dictation.cancel()
        if self._handle is not None:
            self._handle.cancel()
        self._put("")
        self._reset()

    # -- what comes back -------------------------------------------------------------------
    def _event(self, event: dict[str, object]) -> None:
        if event.get("type") in ("partial", "segment", "final") and self.dictation is not None:
            self._put(self.dictation.text)

    def _ended(self, dictation: Dictation) -> None:
        if dictation is not self.dictation:
            return
        self._put(dictation.text)
        self._reset()
        if dictation.text and QSettings().value(SEND_ON_STOP_KEY, False, type=bool):
            self.send_requested.emit()

    def _failed(self, dictation: Dictation, message: str) -> None:
        if dictation is not self.dictation:
            return
        self.mic.stop()
        self._put(dictation.text)  # whatever was heard stays in the box
        self._reset()
        self.notice.emit(self.tr("Dictation stopped: %1").replace("%1", message))

    def _lost(self, message: str) -> None:
        self.notice.emit(message)
        if self.dictation is not None:
            self.dictation.stop()  # what was captured is still read to the end
            self._show_finishing()

    # -- showing it ------------------------------------------------------------------------
    def _put(self, heard: str) -> None:
        text = " ".join(p for p in (self._prefix, heard) if p)
        if text != self.target.toPlainText():
            self.target.setPlainText(text)
            self.target.moveCursor(self.target.textCursor().MoveOperation.End)

    def _reset(self) -> None:
        if self.dictation is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.mic.audio.disconnect(self.dictation.push)
        self.dictation = None
        self._handle = None
        self.target.setReadOnly(False)
        self._show_idle()

    def restyle(self) -> None:
        self.button.setIcon(icon("stop" if self.mic.recording else "microphone"))

    def _show_idle(self) -> None:
        self.gauge.running(False)
        self.button.setEnabled(True)
        self.button.setIcon(icon("microphone"))
        self.button.setAccessibleDescription(self.tr("Not recording"))

    def _show_recording(self) -> None:
        self.gauge.running(True)
        self.button.setIcon(icon("stop"))
        self.button.setAccessibleDescription(self.tr("Recording; Esc cancels"))

    def _show_finishing(self) -> None:
        self.gauge.running(False)
        self.button.setEnabled(False)
        self.button.setAccessibleDescription(self.tr("Finishing the text"))
