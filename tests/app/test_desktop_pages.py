"""More of the desktop against real parts: a remote provider added in Settings and chatted with,
the transcription queue, keyboard shortcuts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt

from app.ui.main_window import MainWindow
from engine.settings import default_embedded_dir
from tests.app.desktop_harness import Windows
from tests.conftest import RunningEngine, engine_env
from tests.file_server import FileServer, chat_catalog
from tests.upstream import UPSTREAM_KEY, llama_server
from tests.vision_maker import make_projector


def _reply_done(window: MainWindow) -> bool:
    turns = window.chat.turns
    return window.chat.reply is None and bool(turns) and bool(turns[-1].content)


def test_a_provider_added_in_settings_answers_in_the_chat(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    with llama_server() as upstream:
        window = windows.open(engine_env(tmp_path / "home"))
        page = window.settings
        window.show_page(window.settings)
        qtbot.waitUntil(lambda: page.current is not None, timeout=10_000)  # type: ignore[attr-defined]
        page.provider_name.setText("lab")
        page.provider_url.setText(upstream + "/v1")
        page.provider_models.setText("smol")
        page.provider_key.setText(UPSTREAM_KEY)
        page.add_provider()
        qtbot.waitUntil(lambda: page.providers.count() == 1, timeout=10_000)  # type: ignore[attr-defined]
        assert page.provider_key.text() == ""  # the key went to the key store, not the screen
        assert any("lab-api-key" in page.keys.item(i).text() for i in range(page.keys.count()))
        assert UPSTREAM_KEY not in page.keys.item(0).text()
        qtbot.waitUntil(lambda: "127.0.0.1" in window.local_label.text(), timeout=10_000)  # type: ignore[attr-defined]
        chat = window.chat
        qtbot.waitUntil(lambda: chat.model_picker.findData("lab/smol") >= 0, timeout=10_000)  # type: ignore[attr-defined]
        chat.model_picker.setCurrentIndex(chat.model_picker.findData("lab/smol"))
        window.show_page(window.chat)
        chat.input.setPlainText("Say hello.")
        chat.send_message()
        qtbot.waitUntil(lambda: _reply_done(window), timeout=60_000)  # type: ignore[attr-defined]
        assert "lab" in chat.chat_view.toPlainText().split("Say hello.")[-1]  # the footer
        conv_id = chat.conv_id
        assert conv_id is not None
        client = window.link.client
        assert client is not None
        qtbot.waitUntil(
            lambda: len(client.conversation(conv_id).messages or []) == 2, timeout=10_000
        )  # type: ignore[attr-defined]
        messages = client.conversation(conv_id).messages or []
        assert messages[0].content == "Say hello."
        assert messages[1].provider == "lab"
        assert messages[1].content == chat.turns[-1].content


def test_the_transcribe_queue_runs_each_file_and_exports_them_all(
    qtbot: object, engine_server: RunningEngine, windows: Windows, tmp_path: Path
) -> None:
    files = []
    for name, text in (
        ("one.wav", "The meeting starts at nine."),
        ("two.wav", "Bring the blue folder."),
    ):
        path = tmp_path / name
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, timeout=60)
        files.append(path)
    window = windows.open(engine_env(engine_server.home))
    window.show_page(window.transcribe)
    page = window.transcribe
    qtbot.waitUntil(lambda: bool(page.speech_models), timeout=10_000)  # type: ignore[attr-defined]
    page.add_files(files)
    assert page.table.rowCount() == 2
    page.files[0].language.setCurrentIndex(page.files[0].language.findData("en"))
    page.start_all()
    qtbot.waitUntil(
        lambda: all(f.job is not None and f.job.status == "succeeded" for f in page.files),
        timeout=120_000,
    )  # type: ignore[attr-defined]
    assert all(f.progress.value() == 100 for f in page.files)
    out = tmp_path / "out"
    out.mkdir()
    page.export_all(out, "srt")
    qtbot.waitUntil(lambda: len(list(out.glob("*.srt"))) == 2, timeout=10_000)  # type: ignore[attr-defined]
    assert "meeting" in (out / "one.srt").read_text(encoding="utf-8").lower()
    assert "-->" in (out / "two.srt").read_text(encoding="utf-8")


def test_keyboard_shortcuts(qtbot: object, engine_server: RunningEngine, windows: Windows) -> None:
    window = windows.open(engine_env(engine_server.home))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)  # type: ignore[attr-defined]
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.pages.currentWidget() is window.settings
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.nav.currentRow() == 0
    assert window.chat.search.hasFocus()
    window.chat.turns = [window.chat.turns[0]] if window.chat.turns else []
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.chat.conv_id is None
    assert window.chat.input.hasFocus()
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.pages.currentWidget() is window.knowledge


def test_an_image_goes_to_a_vision_model_as_an_image_part(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    # A generated projector beside a copy of the default model makes a (wiring-only) vision model.
    home = tmp_path / "home"
    models = home / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(
        default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf", models / "tiny-vision.gguf"
    )
    make_projector(models / "mmproj-tiny-vision.gguf")
    picture = tmp_path / "red.png"
    Image.new("RGB", (64, 48), "red").save(picture)
    window = windows.open(engine_env(home))
    chat = window.chat
    assert window.health is not None
    assert window.health.vision_models == ["tiny-vision"]
    assert chat.current_model() == "smollm2-135m-instruct"  # the engine's default comes first
    chat.add_attachment(picture)
    chat.input.setPlainText("What is in this image?")
    chat.send_message()  # the default model takes no images: refused, and nothing is lost
    assert chat.reply is None
    assert "does not take images" in window.notices[-1]
    assert chat.input.toPlainText() == "What is in this image?"
    chat.model_picker.setCurrentIndex(chat.model_picker.findData("tiny-vision"))
    chat.params.max_tokens.setValue(8)
    chat.send_message()
    assert chat.attachments == []
    qtbot.waitUntil(lambda: _reply_done(window), timeout=120_000)  # type: ignore[attr-defined]
    assert "red.png" in chat.chat_view.toPlainText()
    client = window.link.client
    assert client is not None
    conv_id = chat.conv_id
    assert conv_id is not None
    qtbot.waitUntil(lambda: len(client.conversation(conv_id).messages or []) == 2, timeout=10_000)  # type: ignore[attr-defined]
    stored = client.conversation(conv_id).messages or []
    assert stored[0].content.startswith("What is in this image?")
    assert "red.png" in stored[0].content
    assert stored[1].model == "tiny-vision"


def test_a_catalog_download_shows_progress_cancels_and_resumes(
    qtbot: object, windows: Windows, tmp_path: Path
) -> None:
    real = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    served = FileServer(real, chunk_delay=0.01)  # about 15 s for the whole file
    served.start()
    home = tmp_path / "home"
    home.mkdir()
    catalog = chat_catalog(
        home / "catalog.toml",
        [("tiny-chat", "Tiny chat (served on loopback)", real.stat().st_size)],
    )
    try:
        window = windows.open(engine_env(home, catalog_path=str(catalog), hf_endpoint=served.url))
        window.show_page(window.models)
        page = window.models
        qtbot.waitUntil(lambda: "tiny-chat" in page.progress, timeout=10_000)  # type: ignore[attr-defined]
        page.download("tiny-chat")
        qtbot.waitUntil(lambda: page.progress["tiny-chat"].value() >= 5, timeout=30_000)  # type: ignore[attr-defined]
        page.cancel("tiny-chat")
        partial = home / "data" / "models" / "tiny-chat.gguf.partial"
        qtbot.waitUntil(partial.exists, timeout=10_000)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: len(served.ranges) == 1, timeout=10_000)  # type: ignore[attr-defined]
        served.chunk_delay = 0.0
        page.download("tiny-chat")
        client = window.link.client
        assert client is not None
        qtbot.waitUntil(lambda: "tiny-chat" in [m.id for m in client.models().data], timeout=60_000)  # type: ignore[attr-defined]
        assert served.ranges[0] is None
        assert (served.ranges[-1] or "").startswith("bytes=")  # the second try resumed
        qtbot.waitUntil(lambda: page.progress["tiny-chat"].format() == "installed", timeout=10_000)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: window.chat.model_picker.findData("tiny-chat") >= 0, timeout=10_000)  # type: ignore[attr-defined]
    finally:
        served.stop()
