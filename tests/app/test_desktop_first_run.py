"""The window's first run: the welcome, its recommended model downloaded and made the default,
shown once. Without a system keyring: it opens with no question; the key store's passphrase is
asked only when a secret is stored or needed, twice when it is being chosen, again after a wrong
one; declining keeps everything else working."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QLabel

from app.ui.main_window import MainWindow
from app.ui.welcome import DONE_KEY
from engine.settings import default_embedded_dir
from tests.app.desktop_harness import Windows
from tests.conftest import RunningEngine, engine_env
from tests.engine.test_first_run import no_keyring_env
from tests.file_server import FileServer, chat_catalog
from tests.upstream import UPSTREAM_KEY, llama_server


class DialogAnswers:
    """Answers the unlock dialog from a timer (it runs its own event loop while open)."""

    def __init__(self, window: MainWindow, answers: list[tuple[str, str] | None]) -> None:
        self.window = window
        self.answers = answers
        self.seen: list[tuple[str, str]] = []  # (title, error shown) per answer given
        self.timer = QTimer()
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        dialog = self.window.unlock_dialog
        if dialog is None or not dialog.isVisible() or not self.answers:
            return
        answer = self.answers.pop(0)
        error = dialog.error.text() if dialog.error.isVisible() else ""
        self.seen.append((dialog.windowTitle(), error))
        if answer is None:
            dialog.reject()
            return
        dialog.passphrase.setText(answer[0])
        dialog.repeat.setText(answer[1])
        dialog._accept()


def _wait(qtbot: object, condition: Callable[[], bool], timeout: int = 30_000) -> None:
    qtbot.waitUntil(condition, timeout=timeout)  # type: ignore[attr-defined]


def test_the_passphrase_is_asked_only_when_a_secret_is_needed(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with llama_server() as upstream:
        window = windows.open(no_keyring_env(home))
        assert window.status_label.property("state") == "ready"
        assert window.unlock_dialog is None  # nothing was asked to open the window
        page = window.settings
        window.show_page(window.settings)
        _wait(qtbot, lambda: "no passphrase yet" in page.key_store_state.text())
        assert page.unlock_button.isVisible()

        # Storing the provider's key is the first secret: choose a passphrase, twice.
        answers = DialogAnswers(window, [("alpha", "beta"), ("alpha", "alpha")])
        page.provider_name.setText("lab")
        page.provider_url.setText(upstream + "/v1")
        page.provider_models.setText("smol")
        page.provider_key.setText(UPSTREAM_KEY)
        page.add_provider()
        _wait(qtbot, lambda: page.providers.count() == 1)
        assert answers.seen[0][0] == "Choose a passphrase for your secrets"
        assert answers.seen[1] == (
            "Choose a passphrase for your secrets",
            "The two passphrases differ.",
        )
        _wait(qtbot, lambda: page.key_store_state.text() == "Key store: open.")
        client = window.link.client
        assert client is not None

        # Locked again (as after a restart): chatting with the remote model asks for it.
        client._request("POST", "/v1/keys/lock")
        page.refresh()
        _wait(qtbot, lambda: "[key locked]" in page.providers.item(0).text())
        answers.answers = [("wrong", ""), ("alpha", "")]
        chat = window.chat
        _wait(qtbot, lambda: chat.model_picker.findData("lab/smol") >= 0)
        chat.model_picker.setCurrentIndex(chat.model_picker.findData("lab/smol"))
        window.show_page(window.chat)
        chat.input.setPlainText("Say hello.")
        chat.send_message()
        _wait(
            qtbot,
            lambda: chat.reply is None and bool(chat.turns) and bool(chat.turns[-1].content),
            60_000,
        )
        assert answers.seen[2][0] == "Unlock your secrets"
        assert "does not open the key store" in answers.seen[3][1]
        assert client.key_store_state() == "unlocked"

        # Declined: that request fails with the reason, and local chat goes on working.
        client._request("POST", "/v1/keys/lock")
        answers.answers = [None]
        window.show_page(window.settings)
        page.providers.setCurrentRow(0)
        page._test_selected()
        _wait(qtbot, lambda: any("locked" in n for n in window.notices))
        assert client.key_store_state() == "locked"
        local = client.chat([{"role": "user", "content": "hi"}], max_tokens=3)
        assert local.choices[0].message.content is not None


def test_the_welcome_recommends_a_model_that_fits_and_makes_it_the_default(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    real = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    served = FileServer(real)  # the "hub", on loopback
    served.start()
    home = tmp_path / "home"
    home.mkdir()
    # A model no laptop has the memory for beside it: never the recommendation.
    catalog = chat_catalog(
        home / "catalog.toml",
        [("roomy-chat", "Roomy chat", real.stat().st_size), ("giant-chat", "Giant chat", 10**15)],
    )
    QSettings().setValue(DONE_KEY, False)  # Qt reads its settings once per process
    try:
        env = engine_env(home, catalog_path=str(catalog), hf_endpoint=served.url)
        window = windows.open(env)
        welcome = window.chat.welcome
        assert welcome.isVisible()
        assert "network unplugged" in welcome.findChildren(QLabel)[1].text()
        _wait(qtbot, lambda: welcome.get_button.isVisible())
        assert "Roomy chat" in welcome.advice.text()
        assert welcome.recommended is not None
        assert welcome.recommended.id == "roomy-chat"

        qtbot.mouseClick(welcome.get_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
        assert welcome.progress.isVisible()
        _wait(qtbot, lambda: not welcome.isVisible(), timeout=60_000)
        assert window.link.client is not None
        assert window.link.client.settings().default_model == "roomy-chat"
        _wait(qtbot, lambda: window.chat.model_picker.currentData() == "roomy-chat")
        assert any("now the default model" in n for n in window.notices)
        window.close()
        windows.opened.remove(window)

        # Shown once: the next start goes straight to the chat.
        again = windows.open(env)
        assert not again.chat.welcome.isVisible()
    finally:
        served.stop()


def test_the_welcome_can_be_put_off_for_good(
    qtbot: object, engine_server: RunningEngine, windows: Windows
) -> None:
    QSettings().setValue(DONE_KEY, False)
    window = windows.open(engine_env(engine_server.home))
    assert window.chat.welcome.isVisible()
    qtbot.mouseClick(window.chat.welcome.dismiss_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert not window.chat.welcome.isVisible()
    assert QSettings().value(DONE_KEY, type=bool)
