"""The Knowledge page and cited answers in the desktop, against a real engine: a collection made
in the window, a file dropped on the page and a folder added (watched), per-file status with a
failure's reason, a search with its words highlighted; in the chat, the collection attached to a
conversation, the reply's sources listed, and a click on one opening the file at its page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl

from tests.app.desktop_harness import Windows, drop_files
from tests.conftest import RunningEngine, engine_env
from tests.documents import pdf_bytes

FILLER = "This page holds general remarks about the house and the garden. " * 4


def _statuses(page: object) -> dict[str, str]:
    table = page.file_table  # type: ignore[attr-defined]
    return {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}


def test_a_collection_is_built_searched_and_cited_in_the_window(
    qtbot: object, engine_server: RunningEngine, windows: Windows, tmp_path: Path
) -> None:
    manual = tmp_path / "boiler-manual.pdf"
    manual.write_bytes(pdf_bytes([
        "Installation. The boiler hangs on a wall with four screws. " + FILLER,
        "Pressure. The boiler pressure should read 1.5 bar when it is cold. " + FILLER,
    ]))  # fmt: skip
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 not a real document")
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "bread.md").write_text("# Bread\n\nThe bread needs 500 grams of flour.\n")

    window = windows.open(engine_env(engine_server.home))
    page = window.knowledge
    window.show_page(page)
    page.create_collection("House")
    qtbot.waitUntil(lambda: page.store_id is not None, timeout=10_000)  # type: ignore[attr-defined]
    drop_files(page, [manual, broken])
    page.add_paths([folder])
    qtbot.waitUntil(lambda: _statuses(page) == {  # type: ignore[attr-defined]
        "boiler-manual.pdf": "ready", "broken.pdf": "failed", "bread.md": "ready"},
        timeout=120_000)  # fmt: skip
    row = next(r for r in range(page.file_table.rowCount())
               if page.file_table.item(r, 0).text() == "broken.pdf")  # fmt: skip
    assert "PDF" in page.file_table.item(row, 2).text()  # the reason
    assert str(folder) in page.folders_label.text()

    page.search_box.setText("boiler pressure")
    page.search()
    qtbot.waitUntil(lambda: bool(page.hits), timeout=30_000)  # type: ignore[attr-defined]
    assert page.hits[0]["filename"] == "boiler-manual.pdf"
    assert "page 2" in page.results.toPlainText()
    assert "<b" in page.results.toHtml()  # the words are marked

    chat = window.chat
    window.show_page(chat)
    qtbot.waitUntil(lambda: page.store_id in chat.collections.names, timeout=10_000)  # type: ignore[attr-defined]
    action = next(a for a in chat.collections.menu().actions() if a.text() == "House")
    action.setChecked(True)
    assert chat.collections.chosen == [page.store_id]
    chat.params.max_tokens.setValue(8)
    chat.input.setPlainText("What should the boiler pressure read when it is cold?")
    chat.send_message()
    qtbot.waitUntil(lambda: chat.reply is None, timeout=120_000)  # type: ignore[attr-defined]
    citations = chat.turns[-1].meta["citations"]
    assert citations[0]["filename"] == "boiler-manual.pdf"
    assert citations[0]["page"] == 2
    assert "[1] boiler-manual.pdf, page 2" in chat.chat_view.toPlainText()

    opened: list[QUrl] = []
    chat.open_url = lambda url: opened.append(url) or True
    chat.chat_view.link_clicked(QUrl("cite:0"))  # as a click on the first source
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)  # type: ignore[attr-defined]
    assert opened[0].fragment() == "page=2"
    assert Path(opened[0].toLocalFile()).read_bytes() == manual.read_bytes()
    assert any("boiler-manual.pdf, page 2" in n for n in window.notices)
