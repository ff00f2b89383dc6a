"""Dictation in the window, end to end: espeak-ng speech played into a virtual PulseAudio
microphone, captured by Qt Multimedia, streamed to the engine, partial text in the message box
before the speaker has finished, the final text close to what was said."""

from __future__ import annotations

import itertools
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from app.ui.dictation_bar import DEVICE_KEY, SEND_ON_STOP_KEY
from app.ui.main_window import MainWindow
from tests.app.desktop_harness import Windows
from tests.conftest import RunningEngine, engine_env
from tests.engine.test_live_transcription import SAID, pcm16k
from tests.speech import join_wavs, speak, word_errors
from tests.virtual_mic import Speaker, VirtualMicrophones

_names = itertools.count()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("dictation")
    parts = [speak(s, folder / f"{i}.wav") for i, s in enumerate(SAID[:2])]
    silence = speak(" ", folder / "silence.wav")
    return [pcm16k(join_wavs([part, silence], folder / f"p{i}.wav", 0.8))
            for i, part in enumerate(parts)]  # fmt: skip


@dataclass
class Mic:
    name: str
    pipe: Path


@pytest.fixture
def mic(microphones: VirtualMicrophones) -> Iterator[Mic]:
    # A new name each time: Qt keeps a device it has seen, so a name plugged in again would
    # reach the old, gone source.
    name = f"hearth_test_mic_{next(_names)}"
    plugged = Mic(name, microphones.plug(name))
    QSettings().setValue(DEVICE_KEY, name)
    yield plugged
    if name in microphones._modules:
        microphones.unplug(name)


def _open(
    windows: Windows, engine: RunningEngine, qtbot: Any, mic: Mic, send_on_stop: bool = False
) -> MainWindow:
    # Qt reads its settings file once per process: each test says what it needs.
    QSettings().setValue(SEND_ON_STOP_KEY, send_on_stop)
    window = windows.open(engine_env(engine.home))
    window.show_page(window.settings)  # the device list is read when Settings is shown
    qtbot.waitUntil(lambda: window.settings.microphone.findData(mic.name) >= 0, timeout=10_000)
    window.show_page(window.chat)
    return window


# First in the module: Qt lists a device it has seen even after it is gone, so only before any
# microphone was plugged in does the window see none at all.
def test_no_microphone_is_said_plainly(
    qtbot: Any, engine_server: RunningEngine, windows: Windows
) -> None:
    window = windows.open(engine_env(engine_server.home))
    qtbot.mouseClick(window.chat.dictation.button, Qt.MouseButton.LeftButton)
    assert not window.chat.dictation.active
    assert "No microphone found" in window.notices[-1]


def test_dictation_fills_the_box_as_it_is_spoken_and_sends_when_asked(
    qtbot: Any, engine_server: RunningEngine, windows: Windows, mic: Mic, speech: list[bytes]
) -> None:
    window = _open(windows, engine_server, qtbot, mic, send_on_stop=True)
    bar, box = window.chat.dictation, window.chat.input
    qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)  # a click: recording until the next
    assert bar.mic.recording, window.notices
    assert bar.meter.isVisible()
    assert bar.clock.isVisible()
    speaker = Speaker(mic.pipe, speech[0] + speech[1]).start()
    levels: list[int] = []
    bar.meter.valueChanged.connect(levels.append)
    qtbot.waitUntil(lambda: box.toPlainText() != "" or speaker.done.is_set(), timeout=60_000)
    assert not speaker.done.is_set(), "no partial text came while the speaker was speaking"
    assert box.isReadOnly()  # the user's typing cannot fight the dictation
    qtbot.waitUntil(speaker.done.is_set, timeout=60_000)
    assert bar.clock.text() != "0:00"
    assert max(levels) > 10  # the meter moved with the voice
    qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bar.active, timeout=60_000)
    said = " ".join(SAID[:2])
    # Sent at once (the setting): the message is the final text, and the box is free again.
    qtbot.waitUntil(lambda: bool(window.chat.turns), timeout=30_000)
    sent = window.chat.turns[0].content
    errors, total = word_errors(said, sent)
    assert errors / total <= 0.25, sent
    assert not box.isReadOnly()
    assert not bar.meter.isVisible()


def test_escape_cancels_and_keeps_what_was_typed(
    qtbot: Any, engine_server: RunningEngine, windows: Windows, mic: Mic, speech: list[bytes]
) -> None:
    window = _open(windows, engine_server, qtbot, mic)
    bar, box = window.chat.dictation, window.chat.input
    box.setPlainText("Typed first.")
    qtbot.keyClick(box, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
    assert bar.mic.recording, window.notices
    speaker = Speaker(mic.pipe, speech[0]).start()
    qtbot.waitUntil(lambda: box.toPlainText() != "Typed first.", timeout=60_000)
    assert box.toPlainText().startswith("Typed first. ")  # dictation goes after the typing
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert not bar.active
    assert box.toPlainText() == "Typed first."
    speaker.stop()
    qtbot.wait(1500)  # late events of the cancelled dictation must not come back
    assert box.toPlainText() == "Typed first."
    assert window.chat.turns == []


def test_unplugged_mid_sentence_keeps_what_was_captured(
    qtbot: Any,
    engine_server: RunningEngine,
    windows: Windows,
    mic: Mic,
    microphones: VirtualMicrophones,
    speech: list[bytes],
) -> None:
    window = _open(windows, engine_server, qtbot, mic)
    bar, box = window.chat.dictation, window.chat.input
    qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)
    speaker = Speaker(mic.pipe, speech[0] + speech[1]).start()
    # Pull the plug once the first sentence and its pause are in, before the second ends.
    lead = 2 * 16000 // 2
    qtbot.waitUntil(lambda: speaker.sent > lead + len(speech[0]) + 8000, timeout=60_000)
    microphones.unplug(mic.name)
    qtbot.waitUntil(lambda: not bar.active, timeout=60_000)
    speaker.stop()
    assert any("unplugged" in n for n in window.notices), window.notices
    errors, total = word_errors(SAID[0], box.toPlainText()[: len(SAID[0]) + 5])
    assert errors / total <= 0.25, box.toPlainText()
    assert not box.isReadOnly()
    qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)  # the gone device, chosen again
    assert not bar.active
    assert "could not be opened" in window.notices[-1] or "No microphone" in window.notices[-1]


def test_a_recording_is_on_disk_as_it_grows_then_transcribed_as_a_job(
    qtbot: Any,
    engine_server: RunningEngine,
    windows: Windows,
    mic: Mic,
    speech: list[bytes],
    tmp_path: Path,
) -> None:
    window = _open(windows, engine_server, qtbot, mic)
    window.show_page(window.transcribe)
    page = window.transcribe
    page.recorder.folder = tmp_path / "recordings"
    qtbot.mouseClick(page.recorder.button, Qt.MouseButton.LeftButton)
    assert page.recorder.file is not None, window.notices
    path = page.recorder.file.path
    speaker = Speaker(mic.pipe, speech[0]).start()
    qtbot.waitUntil(lambda: speaker.sent > len(speech[0]) // 2, timeout=30_000)
    # Half-way: the file already plays (its header says what it holds), as after a crash.
    qtbot.waitUntil(lambda: _wav_seconds(path) > 1.0, timeout=10_000)
    qtbot.waitUntil(speaker.done.is_set, timeout=60_000)
    qtbot.mouseClick(page.recorder.button, Qt.MouseButton.LeftButton)
    assert page.recorder.file is None
    assert _wav_seconds(path) >= len(speech[0]) / 32000 - 0.5
    assert [f.path for f in page.files] == [path]
    queued = page.files[0]
    qtbot.waitUntil(lambda: queued.job is not None and queued.job.status == "succeeded",
                    timeout=120_000)  # fmt: skip
    assert queued.job is not None
    text = tmp_path / "out.txt"
    engine_server.client().save_job_result(queued.job.id, text, "text")
    errors, total = word_errors(SAID[0], text.read_text())
    assert errors / total <= 0.25, text.read_text()


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()
