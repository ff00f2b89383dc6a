"""The chat's parts without an engine: Markdown rendering, presets on disk, pasting images."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QColor, QImage

from app.attachments import image_part, kind_of
from app.chat_markdown import MarkdownRenderer
from app.engine_link import EngineLink
from app.presets import BUILTIN, Preset, PresetStore
from app.tasks import Tasks
from app.ui.chat_input import ChatInput
from app.ui.main_window import MainWindow


def test_markdown_highlights_code_and_numbers_copy_links() -> None:
    rendered = MarkdownRenderer("Copy").render(
        "Some **bold** text.\n\n```python\nprint('a')\n```\n\n```\nplain <b>\n```\n"
    )
    assert "<strong>bold</strong>" in rendered.html
    assert rendered.code_blocks == ["print('a')\n", "plain <b>\n"]
    assert 'href="copy:0"' in rendered.html
    assert 'href="copy:1"' in rendered.html
    assert "<span style=" in rendered.html  # pygments coloured the Python block
    assert "plain &lt;b&gt;" in rendered.html


def test_html_in_a_message_is_shown_as_text_never_run() -> None:
    rendered = MarkdownRenderer().render(
        '<img src="http://tracker.example/x.png"><script>1</script>'
    )
    assert "<img" not in rendered.html
    assert "<script>" not in rendered.html


def test_presets_keep_user_ones_and_protect_builtins(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / "presets.json")
    assert [p.name for p in store.all()] == [p.name for p in BUILTIN]
    store.save(Preset("Terse", temperature=0.1, max_tokens=64))
    assert PresetStore(tmp_path / "presets.json").user_presets() == [
        Preset("Terse", temperature=0.1, max_tokens=64)
    ]
    with pytest.raises(ValueError, match="built-in"):
        store.save(Preset("Coding"))
    store.delete("Terse")
    assert store.user_presets() == []
    (tmp_path / "presets.json").write_text("{not json")
    assert PresetStore(tmp_path / "presets.json").all() == list(BUILTIN)  # damaged: ignored


def test_attachment_kinds_and_image_parts(tmp_path: Path) -> None:
    assert kind_of(Path("a.WAV")) == "audio"
    assert kind_of(Path("clip.mp4")) == "audio"
    assert kind_of(Path("photo.jpeg")) == "image"
    assert kind_of(Path("model.gguf")) == "model"
    assert kind_of(Path("notes.txt")) is None
    image = tmp_path / "dot.png"
    QImage(4, 4, QImage.Format.Format_RGB32).save(str(image))
    part = image_part(image)
    assert part["type"] == "image_url"
    assert str(part["image_url"]["url"]).startswith("data:image/png;base64,")  # type: ignore[index]


def test_pasting_an_image_or_files_attaches_them(qtbot: object, tmp_path: Path) -> None:
    box = ChatInput()
    qtbot.addWidget(box)  # type: ignore[attr-defined]
    got: list[Path] = []
    box.attach.connect(got.append)
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    data = QMimeData()
    data.setImageData(image)
    box.insertFromMimeData(data)
    assert len(got) == 1
    assert got[0].suffix == ".png"
    assert QImage(str(got[0])).pixelColor(0, 0) == QColor("red")
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.png"))])
    box.insertFromMimeData(files)
    assert got[-1] == tmp_path / "a.png"
    audio = QMimeData()
    audio.setUrls([QUrl.fromLocalFile(str(tmp_path / "talk.wav"))])
    assert not box.canInsertFromMimeData(audio)  # left to the window, which transcribes it
    text = QMimeData()
    text.setText("just words")
    box.insertFromMimeData(text)
    assert box.toPlainText() == "just words"
    assert len(got) == 2


def test_sending_before_the_engine_is_ready_keeps_the_message(qtbot: object) -> None:
    tasks = Tasks()
    window = MainWindow(EngineLink(tasks, {}), tasks, {})
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.chat.input.setPlainText("Are you there?")
    window.chat.send_message()
    assert window.chat.reply is None
    assert window.chat.input.toPlainText() == "Are you there?"
    assert "not ready" in window.notices[-1]
    window.close()
