"""The tray's quick-ask window: a question streams its answer in, and the exchange opens in the
main window as a stored conversation."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon

from tests.app.desktop_harness import Windows
from tests.conftest import RunningEngine, engine_env


def test_quick_ask_streams_an_answer_and_opens_it_in_the_window(
    qtbot: Any, engine_server: RunningEngine, windows: Windows, endless: str
) -> None:
    window = windows.open(engine_env(engine_server.home))
    actions = [a.text() for a in window.tray.contextMenu().actions() if a.text()]
    assert actions == ["Ask Hearth…", "Show Hearth", "Quit"]
    picker = window.chat.model_picker
    qtbot.waitUntil(lambda: picker.findData(endless) >= 0, timeout=10_000)
    picker.setCurrentIndex(picker.findData(endless))  # an answer of exactly max_tokens tokens
    window.chat.params.max_tokens.setValue(24)
    window.chat.params.temperature.setValue(0)

    window._tray_clicked(QSystemTrayIcon.ActivationReason.Trigger)  # a click on the icon
    ask = window.quick_ask
    assert ask.isVisible()
    lengths: list[int] = []
    ask.answer.textChanged.connect(lambda: lengths.append(len(ask.text)))
    ask.question.setText("Name three colours.")
    qtbot.keyClick(ask.question, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ask._handle is None, timeout=60_000)
    assert ask.status.text() == ""  # no error
    assert len(set(lengths)) >= 3  # it grew piece by piece: streamed, not dropped in at once
    assert ask.text
    assert ask.open_button.isEnabled()

    qtbot.mouseClick(ask.open_button, Qt.MouseButton.LeftButton)
    assert not ask.isVisible()
    assert window.pages.currentWidget() is window.chat
    qtbot.waitUntil(lambda: len(window.chat.turns) == 2, timeout=10_000)
    question, answer = window.chat.turns
    assert question.content == "Name three colours."
    assert answer.content == ask.text
    assert window.chat.conv_id == ask.conv_id
