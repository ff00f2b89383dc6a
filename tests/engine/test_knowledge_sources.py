"""Every kind of file Hearth reads goes into a collection: a recording (espeak-ng speech,
transcribed, each passage with its time), a picture (rendered text, read by OCR), OpenDocument
text (odfpy) and an EPUB book (ebooklib), each found by a question with its place; a broken
EPUB fails with a reason while the rest goes on. A watched folder is indexed with its include and
exclude patterns and follows changed, deleted and new files."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import openai
from ebooklib import epub
from odf.opendocument import OpenDocumentText
from odf.text import H, P
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import start_engine
from tests.engine.test_vector_stores import _indexed, _top, _upload
from tests.speech import join_wavs, speak, wav_seconds

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
# Small chunks, so that each spoken sentence is a passage of its own with its own time.
SMALL = {"type": "static", "static": {"max_chunk_size_tokens": 20, "chunk_overlap_tokens": 0}}


def _odt(sections: list[tuple[str, str]]) -> bytes:
    document = OpenDocumentText()
    for heading, text in sections:
        document.text.addElement(H(outlinelevel=1, text=heading))
        document.text.addElement(P(text=text))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def _epub(chapters: list[tuple[str, str]]) -> bytes:
    book = epub.EpubBook()
    book.set_identifier("hearth-test-book")
    book.set_title("Sea stories")
    book.set_language("en")
    items = []
    for i, (title, text) in enumerate(chapters):
        item = epub.EpubHtml(title=title, file_name=f"chapter{i}.xhtml", lang="en")
        item.content = f"<html><body><h1>{title}</h1><p>{text}</p></body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


def _picture(lines: list[str]) -> bytes:
    font = ImageFont.truetype(FONT, 36)
    image = Image.new("RGB", (1000, 70 * len(lines) + 40), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 20 + 70 * i), line, font=font, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_recordings_pictures_odt_and_epub_are_found_with_their_place(
    sdk: openai.OpenAI, tmp_path: Path
) -> None:
    first = speak("The meeting starts after lunch in the big room.", tmp_path / "a.wav")
    second = speak("We need to buy bread, milk and cheese.", tmp_path / "b.wav")
    recording = join_wavs([first, second], tmp_path / "memo.wav", silence_seconds=2.0)
    second_starts = wav_seconds(first) + 2.0
    ids = {
        "memo.wav": _upload(sdk, "memo.wav", recording.read_bytes()),
        "receipt.png": _upload(sdk, "receipt.png", _picture(
            ["The parcel arrives on Tuesday at noon", "Signed by the courier"])),
        "minutes.odt": _upload(sdk, "minutes.odt", _odt([
            ("Budget", "The committee approved a budget of 3000 euros for the roof."),
            ("Trips", "The choir travels to Ghent in the spring."),
        ])),
        "sea.epub": _upload(sdk, "sea.epub", _epub([
            ("The storm", "The lighthouse keeper lit the lamp when the storm came in."),
            ("The calm", "Afterwards the fishermen mended their nets on the quay."),
        ])),
        "broken.epub": _upload(sdk, "broken.epub", b"PK\x03\x04 not really a book"),
    }  # fmt: skip
    store = sdk.vector_stores.create(name="everything")
    for name, file_id in ids.items():
        sdk.vector_stores.files.create(
            store.id, file_id=file_id,
            chunking_strategy=SMALL if name == "memo.wav" else None,  # type: ignore[arg-type]
        )  # fmt: skip
    files = _indexed(sdk, store.id, list(ids.values()), timeout=300)
    broken = files.pop(ids["broken.epub"])
    assert broken.status == "failed"
    assert broken.last_error is not None
    assert "EPUB" in broken.last_error.message
    assert all(f.status == "completed" for f in files.values()), files

    shopping = _top(sdk, store.id, "What do we need to buy? Bread, milk, cheese")
    assert shopping["filename"] == "memo.wav"
    assert shopping["start_seconds"] >= second_starts - 1.0  # the second sentence's time
    assert any(w in shopping["content"][0]["text"].lower() for w in ("bread", "milk", "cheese"))
    meeting = _top(sdk, store.id, "When does the meeting start?")
    assert meeting["filename"] == "memo.wav"
    assert meeting["start_seconds"] < second_starts - 1.0

    parcel = _top(sdk, store.id, "When does the parcel arrive?")
    assert parcel["filename"] == "receipt.png"
    assert "parcel" in parcel["content"][0]["text"].lower()

    roof = _top(sdk, store.id, "How much money did the committee approve for the roof?")
    assert roof["filename"] == "minutes.odt"
    assert roof["heading"] == "Budget"
    assert "3000 euros" in roof["content"][0]["text"]

    nets = _top(sdk, store.id, "Where did the fishermen mend their nets?")
    assert nets["filename"] == "sea.epub"
    assert nets["heading"] == "The calm"


def _names(sdk: openai.OpenAI, store: str) -> dict[str, str]:
    return {f.filename: f.status for f in sdk.vector_stores.files.list(store)}  # type: ignore[attr-defined]


def _until(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_a_watched_folder_is_indexed_and_follows_changes(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    (root / "sub").mkdir(parents=True)
    (root / "drafts").mkdir()
    (root / "garden.md").write_text("# Garden\n\nThe roses are pruned in March.\n")
    (root / "sub" / "car.txt").write_text("The car's tyres were changed in October.")
    (root / "drafts" / "secret.md").write_text("The surprise party is on Friday.")
    (root / "photo.bin").write_bytes(b"\0" * 10)  # not a kind Hearth reads
    engine = start_engine(tmp_path / "home", folder_scan_seconds=0.5)
    try:
        sdk = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
        http = engine.http()
        store = sdk.vector_stores.create(name="notes")
        added = http.post(f"/v1/vector_stores/{store.id}/folders", json={
            "path": str(root), "include": ["*.md", "*.txt"], "exclude": ["drafts/*"]})  # fmt: skip
        assert added.status_code == 200, added.text
        folder = added.json()
        assert folder["files"] == 2
        _until(lambda: _names(sdk, store.id) == {"garden.md": "completed",
                                                  "sub/car.txt": "completed"}, "indexed")  # fmt: skip
        assert _top(sdk, store.id, "When are the roses pruned?")["filename"] == "garden.md"

        # Changed, deleted and new files, picked up by the watcher on its own.
        car = root / "sub" / "car.txt"
        car.write_text("The car was sold to a neighbour in December.")
        os.utime(car, ns=(time.time_ns(), time.time_ns() + 2_000_000_000))
        (root / "garden.md").unlink()
        (root / "boat.txt").write_text("The boat is moored at the north pier.")
        _until(lambda: _names(sdk, store.id) == {"sub/car.txt": "completed",
                                                  "boat.txt": "completed"}, "changes seen")  # fmt: skip
        _until(lambda: "neighbour" in _top(sdk, store.id, "Who was the car sold to?")[
            "content"][0]["text"], "the changed file indexed again")  # fmt: skip
        texts = [r.content[0].text for r in sdk.vector_stores.search(store.id, query="tyres").data]
        assert not any("tyres" in t for t in texts)  # the old text is gone
        assert _top(sdk, store.id, "Where is the boat moored?")["filename"] == "boat.txt"
        listed = http.get(f"/v1/vector_stores/{store.id}/folders").json()["data"]
        assert [f["id"] for f in listed] == [folder["id"]]
        assert listed[0]["files"] == 2

        for bad in ("relative/path", str(tmp_path / "missing")):
            refused = http.post(f"/v1/vector_stores/{store.id}/folders", json={"path": bad})
            assert refused.status_code == 400
            assert refused.json()["error"]["param"] == "path"
            assert str(tmp_path) not in refused.text

        gone = http.delete(f"/v1/vector_stores/{store.id}/folders/{folder['id']}")
        assert gone.status_code == 200
        assert _names(sdk, store.id) == {}
        assert (root / "boat.txt").exists()  # the files on disk stay
    finally:
        engine.process.stop()
