"""Vector stores through the official `openai` package against a real engine: real PDF, Word,
Markdown and Chinese text files indexed with the embedded E5 model, hybrid search that finds the
passage with its page or heading, attribute filters, file batches, a corrupt PDF, removal, and an
engine killed while indexing that resumes without indexing anything twice."""

from __future__ import annotations

import io
import time
from pathlib import Path

import docx
import httpx
import openai
import pytest

from tests.conftest import RunningEngine, assert_alive, kill_engine, start_engine
from tests.documents import pdf_bytes

NOTES = [
    ("Garden", "Tomatoes need six hours of sun every day."),
    ("Kitchen", "The bread recipe uses 500 grams of flour and a spoon of salt."),
]
FILLER = ("This page describes general matters of the product, its packaging and its care. "
          "Keep it dry and away from children. ")  # fmt: skip


def _docx(sections: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for heading, text in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _upload(sdk: openai.OpenAI, name: str, data: bytes) -> str:
    return sdk.files.create(file=(name, data), purpose="assistants").id


def _indexed(sdk: openai.OpenAI, store: str, file_ids: list[str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        files = {f: sdk.vector_stores.files.retrieve(f, vector_store_id=store) for f in file_ids}
        if all(f.status != "in_progress" for f in files.values()):
            return files
        assert time.monotonic() < deadline, "indexing did not finish"
        time.sleep(0.3)


def _top(sdk: openai.OpenAI, store: str, query: str, **kw: object) -> dict:
    page = sdk.vector_stores.search(store, query=query, **kw)  # type: ignore[arg-type]
    assert page.data, query
    return page.data[0].model_dump()


def test_documents_of_every_kind_are_found_with_their_place(sdk: openai.OpenAI) -> None:
    ids = {
        "manual.pdf": _upload(sdk, "manual.pdf", pdf_bytes([
            "Installation. Unpack the lantern and fit the four batteries. " + FILLER * 3,
            "Battery life. On the low setting the lantern battery lasts 40 hours. " + FILLER * 3,
            "Warranty. The warranty covers two years from the date of purchase. " + FILLER * 3,
        ])),
        "notes.docx": _upload(sdk, "notes.docx", _docx(NOTES)),
        "guide.md": _upload(sdk, "guide.md", (
            b"# Travel\n\nThe train to Lyon leaves at 9:15 from platform 4.\n\n"
            b"# Food\n\nThe market sells cheese on Saturday mornings.\n")),
        "长城.txt": _upload(sdk, "长城.txt",
                          "长城位于中国北方，全长约两万一千公里，是世界上最长的城墙。".encode()),
    }  # fmt: skip
    store = sdk.vector_stores.create(name="home", file_ids=list(ids.values()))
    files = _indexed(sdk, store.id, list(ids.values()))
    assert all(f.status == "completed" for f in files.values()), files
    assert sdk.vector_stores.retrieve(store.id).file_counts.completed == 4
    lantern = _top(sdk, store.id, "How long does the lantern battery last?")
    assert lantern["filename"] == "manual.pdf"
    assert lantern["page"] == 2  # type: ignore[index]
    assert "40 hours" in lantern["content"][0]["text"]
    bread = _top(sdk, store.id, "How much flour goes into the bread?")
    assert bread["filename"] == "notes.docx"
    assert bread["heading"] == "Kitchen"
    train = _top(sdk, store.id, "When does the train to Lyon leave?")
    assert train["filename"] == "guide.md"
    assert train["heading"] == "Travel"
    assert _top(sdk, store.id, "长城有多长？")["filename"] == "长城.txt"
    assert _top(sdk, store.id, "How long is the Great Wall of China?")["filename"] == "长城.txt"
    scores = [r.score for r in sdk.vector_stores.search(store.id, query="lantern battery").data]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    # Removing a file removes its passages.
    sdk.vector_stores.files.delete(ids["manual.pdf"], vector_store_id=store.id)
    after = sdk.vector_stores.search(store.id, query="How long does the lantern battery last?")
    assert all(r.filename != "manual.pdf" for r in after.data)
    sdk.vector_stores.delete(store.id)
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.retrieve(store.id)


def test_attributes_filter_results_and_batches_report_their_files(sdk: openai.OpenAI) -> None:
    store = sdk.vector_stores.create(name="filtered")
    en = _upload(sdk, "en.txt", b"The museum opens at ten in the morning.")
    fr = _upload(sdk, "fr.txt", "Le musée ouvre à dix heures du matin.".encode())
    sdk.vector_stores.files.create(store.id, file_id=en, attributes={"lang": "en", "year": 2024})
    batch = sdk.vector_stores.file_batches.create(store.id, file_ids=[fr],
                                                  attributes={"lang": "fr", "year": 2020})  # fmt: skip
    _indexed(sdk, store.id, [en, fr])
    done = sdk.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert done.file_counts.completed == 1
    assert done.file_counts.total == 1
    listed = sdk.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert [f.id for f in listed.data] == [fr]
    query = "When does the museum open?"
    both = {r.filename for r in sdk.vector_stores.search(store.id, query=query).data}
    assert both == {"en.txt", "fr.txt"}
    only = sdk.vector_stores.search(store.id, query=query,
                                    filters={"type": "eq", "key": "lang", "value": "fr"})  # fmt: skip
    assert {r.filename for r in only.data} == {"fr.txt"}
    recent = sdk.vector_stores.search(store.id, query=query, filters={
        "type": "and", "filters": [{"type": "gte", "key": "year", "value": 2021},
                                   {"type": "ne", "key": "lang", "value": "fr"}]})  # fmt: skip
    assert {r.filename for r in recent.data} == {"en.txt"}
    # Each half of the hybrid alone: the keyword index knows only the English word.
    keyword = sdk.vector_stores.search(
        store.id, query="museum", ranking_options={"ranker": "keyword"}
    )  # type: ignore[typeddict-item]
    assert {r.filename for r in keyword.data} == {"en.txt"}
    vector = sdk.vector_stores.search(
        store.id, query="museum", ranking_options={"ranker": "vector"}
    )  # type: ignore[typeddict-item]
    assert {r.filename for r in vector.data} == {"en.txt", "fr.txt"}


def test_bad_files_and_requests_fail_clearly_and_the_rest_goes_on(
    sdk: openai.OpenAI, engine_server: RunningEngine
) -> None:
    store = sdk.vector_stores.create(name="mixed")
    broken = _upload(sdk, "broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    image = _upload(sdk, "photo.bin", b"\x00\x01\x02" * 100)
    good = _upload(sdk, "good.txt", b"Bees make honey from the nectar of flowers.")
    for file_id in (broken, image, good):
        sdk.vector_stores.files.create(store.id, file_id=file_id)
    files = _indexed(sdk, store.id, [broken, image, good])
    assert files[broken].status == "failed"
    assert files[broken].last_error is not None
    assert "PDF" in files[broken].last_error.message
    assert files[image].status == "failed"
    assert files[good].status == "completed"
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.files.create(store.id, file_id="file-" + "0" * 32)
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.vector_stores.files.create(store.id, file_id=good, chunking_strategy={
            "type": "static", "static": {"max_chunk_size_tokens": 4000,
                                         "chunk_overlap_tokens": 10}})  # fmt: skip
    assert bad.value.param == "chunking_strategy"  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError):
        sdk.vector_stores.search(store.id, query="honey", filters={"type": "like", "key": "a"})  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.search("vs_" + "0" * 32, query="honey")
    assert_alive(engine_server)


def test_an_engine_killed_while_indexing_resumes_and_indexes_nothing_twice(
    tmp_path: Path,
) -> None:
    text = "\n\n".join(f"Paragraph {i} tells of the harbour, its boats and lantern number {i}."
                       for i in range(600)).encode()  # fmt: skip
    engine = start_engine(tmp_path, embedding_threads=1)
    try:
        sdk = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
        big = _upload(sdk, "harbour.txt", text)
        store = sdk.vector_stores.create(name="resumed", file_ids=[big])
        time.sleep(1.5)
        # Still in progress, and saying how far (Hearth's field): some chunks are embedded.
        deadline = time.monotonic() + 60
        while (entry := sdk.vector_stores.files.retrieve(big, vector_store_id=store.id)
               .model_dump())["progress"] == 0:  # fmt: skip
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert entry["status"] == "in_progress"
        assert 0 < entry["progress"] < 1
        kill_engine(engine)
    finally:
        engine.process.stop()
    again = start_engine(tmp_path, embedding_threads=1)
    try:
        sdk = openai.OpenAI(base_url=again.url + "/v1", api_key=again.token, max_retries=0)
        resumed = _indexed(sdk, store.id, [big], timeout=600)[big]
        assert resumed.status == "completed"
        assert resumed.model_dump()["progress"] == 1.0
        once = resumed.model_dump()["chunks"]
        fresh = sdk.vector_stores.create(name="fresh", file_ids=[big])
        expected = _indexed(sdk, fresh.id, [big], timeout=600)[big].model_dump()["chunks"]
        assert once == expected > 10  # the same chunks, none of them twice
        found = sdk.vector_stores.search(store.id, query="the harbour's boats", max_num_results=50)
        texts = [r.content[0].text for r in found.data]
        assert len(texts) == min(50, once)
        assert len(set(texts)) == len(texts)  # no passage twice
    finally:
        again.process.stop()


def test_file_search_in_the_responses_api_puts_passages_in_and_cites_them(
    sdk: openai.OpenAI,
) -> None:
    notes = _upload(sdk, "notes.docx", _docx(NOTES))
    store = sdk.vector_stores.create(name="answers", file_ids=[notes])
    _indexed(sdk, store.id, [notes])
    question = "How much flour does the bread recipe use?"
    tool = {"type": "file_search", "vector_store_ids": [store.id], "max_num_results": 2}
    plain = sdk.responses.create(model="smollm2-135m-instruct", input=question,
                                 max_output_tokens=16, temperature=0)  # fmt: skip
    reply = sdk.responses.create(model="smollm2-135m-instruct", input=question, tools=[tool],  # type: ignore[list-item]
                                 include=["file_search_call.results"], max_output_tokens=16,
                                 temperature=0)  # fmt: skip
    call = reply.output[0]
    assert call.type == "file_search_call"
    assert call.queries == [question]
    assert call.results is not None
    assert call.results[0].filename == "notes.docx"
    assert "500 grams" in (call.results[0].text or "")
    assert reply.usage is not None
    assert plain.usage is not None
    assert reply.usage.input_tokens > plain.usage.input_tokens + 20  # the passages went in
    message = next(item for item in reply.output if item.type == "message")
    text = message.content[0].text  # type: ignore[union-attr]
    for note in message.content[0].annotations:  # type: ignore[union-attr]
        assert text[note.index] == "["  # type: ignore[union-attr]
        assert note.file_id == notes  # type: ignore[union-attr]
    kinds = [e.type for e in sdk.responses.create(
        model="smollm2-135m-instruct", input=question, tools=[tool], max_output_tokens=8,  # type: ignore[list-item]
        stream=True)]  # fmt: skip
    assert kinds[2:7] == ["response.output_item.added", "response.file_search_call.in_progress",
                          "response.file_search_call.searching",
                          "response.file_search_call.completed", "response.output_item.done"]  # fmt: skip


def test_a_conversation_with_a_collection_answers_from_it_with_citations(
    sdk: openai.OpenAI, http: httpx.Client
) -> None:
    notes = _upload(sdk, "notes.docx", _docx(NOTES))
    store = sdk.vector_stores.create(name="kitchen", file_ids=[notes])
    _indexed(sdk, store.id, [notes])
    question = {"content": "How much flour does the bread recipe use?", "max_tokens": 12,
                "temperature": 0}  # fmt: skip
    with_notes = http.post("/v1/conversations", json={"vector_store_ids": [store.id]}).json()
    assert with_notes["vector_store_ids"] == [store.id]
    reply = http.post(f"/v1/conversations/{with_notes['id']}/messages", json=question)
    assert reply.status_code == 200, reply.text
    passages = reply.json()["context"]["passages"]
    assert passages[0]["n"] == 1
    assert passages[0]["filename"] == "notes.docx"
    assert passages[0]["heading"] == "Kitchen"
    assert "500 grams" in passages[0]["text"]
    stored = http.get(f"/v1/conversations/{with_notes['id']}").json()["messages"]
    assert stored[-1]["role"] == "assistant"
    assert stored[-1]["citations"] == passages  # kept with the answer
    plain = http.post("/v1/conversations", json={}).json()
    bare = http.post(f"/v1/conversations/{plain['id']}/messages", json=question).json()
    assert bare["context"]["passages"] == []
    assert reply.json()["usage"]["prompt_tokens"] > bare["usage"]["prompt_tokens"] + 20
    # Detached, the next turn searches nothing; an unknown collection is refused.
    http.patch(f"/v1/conversations/{with_notes['id']}", json={"vector_store_ids": []})
    again = http.post(f"/v1/conversations/{with_notes['id']}/messages", json=question).json()
    assert again["context"]["passages"] == []
    missing = http.post("/v1/conversations", json={"vector_store_ids": ["vs_" + "0" * 32]})
    assert missing.status_code == 404
