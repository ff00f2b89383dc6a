"""Stored conversations over HTTP with the real model: CRUD, search, export, replies, memory."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEngine, start_engine
from tests.model_tokens import never_ends


def _create(http: httpx.Client, **body: object) -> dict[str, object]:
    response = http.post("/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _send(http: httpx.Client, conv_id: object, content: str, **params: object) -> httpx.Response:
    return http.post(f"/v1/conversations/{conv_id}/messages", json={"content": content, **params})


def test_crud_search_and_export(http: httpx.Client) -> None:
    conv = _create(
        http,
        title="Trip planning",
        system_prompt="Be brief.",
        messages=[
            {"role": "user", "content": "We fly to Reykjavik in March."},
            {"role": "assistant", "content": "Pack warm clothes."},
            {"role": "user", "content": "我们也想去看极光。"},
        ],
    )
    other = _create(http, title="Groceries")
    got = http.get(f"/v1/conversations/{conv['id']}").json()
    assert [m["role"] for m in got["messages"]] == ["user", "assistant", "user"]
    ids = lambda q: [c["id"] for c in http.get("/v1/conversations", params={"q": q}).json()["data"]]  # noqa: E731
    assert ids("Reykjavik") == [conv["id"]]
    assert ids("极光") == [conv["id"]]  # two characters: below the trigram length, still found
    assert ids("看极光") == [conv["id"]]
    assert ids("groceries") == [other["id"]]
    assert ids("nothing-like-this") == []
    patched = http.patch(
        f"/v1/conversations/{conv['id']}", json={"title": "Iceland", "overflow_policy": "stop"}
    )
    assert patched.json()["title"] == "Iceland"
    assert patched.json()["overflow_policy"] == "stop"
    assert (
        http.patch(
            f"/v1/conversations/{conv['id']}", json={"overflow_policy": "forget"}
        ).status_code
        == 400
    )
    md = http.get(f"/v1/conversations/{conv['id']}/export", params={"format": "md"})
    assert md.text.startswith("# Iceland")
    assert "**User**" in md.text
    assert "Pack warm clothes." in md.text
    as_json = http.get(f"/v1/conversations/{conv['id']}/export", params={"format": "json"}).json()
    assert len(as_json["messages"]) == 3
    assert http.delete(f"/v1/conversations/{other['id']}").json()["deleted"] is True
    assert http.get(f"/v1/conversations/{other['id']}").status_code == 404
    assert _send(http, "conv-" + "0" * 32, "hi").status_code == 404
    assert _send(http, "conv-missing", "hi").status_code == 400  # not even shaped like an id


def test_reply_is_stored_titled_and_reported(http: httpx.Client) -> None:
    conv = _create(http)
    body = _send(
        http,
        conv["id"],
        "What is the capital of France? Answer in one word.",
        temperature=0,
        max_tokens=10,
    ).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    report = body["context"]
    assert report["messages_total"] == 1
    assert report["messages_left_out"] == 0
    assert report["prompt_tokens"] == body["usage"]["prompt_tokens"]
    stored = http.get(f"/v1/conversations/{conv['id']}").json()
    assert stored["title"] == "What is the capital of France? Answer in one word."
    user, reply = stored["messages"]
    assert user["role"] == "user"
    assert reply["content"] == body["choices"][0]["message"]["content"]
    assert reply["interrupted"] is False
    assert reply["finish_reason"] in ("stop", "length")
    assert reply["id"] == body["message_id"]
    assert reply["timings"]["total_ms"] > 0


def test_streamed_reply_and_a_second_turn_sees_the_first(http: httpx.Client) -> None:
    conv = _create(http, params={"temperature": 0, "max_tokens": 30})
    first = _send(http, conv["id"], "My name is Alice. Say hello to me.").json()
    with http.stream(
        "POST",
        f"/v1/conversations/{conv['id']}/messages",
        json={"content": "What is my name?", "stream": True},
    ) as response:
        chunks = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")
        ]
    assert chunks[0]["context"]["messages_total"] == 3
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip()
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] > 0
    # The second prompt holds the whole first exchange (and its saved parameters applied).
    seen = first["usage"]["prompt_tokens"] + first["usage"]["completion_tokens"]
    assert usage["prompt_tokens"] > seen
    assert first["usage"]["completion_tokens"] <= 30
    assert chunks[-1]["message_id"] is not None


def test_client_closing_a_stream_keeps_the_partial_reply(http: httpx.Client) -> None:
    conv = _create(http)
    # A reply that cannot end by itself: still streaming when the client hangs up.
    body = {"content": "Count from 1 to 1000, comma separated.", "stream": True,
            "max_tokens": 1000, "logit_bias": never_ends()}  # fmt: skip
    with http.stream("POST", f"/v1/conversations/{conv['id']}/messages", json=body) as response:
        for n, _ in enumerate(response.iter_lines()):
            if n > 20:
                break
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = http.get(f"/v1/conversations/{conv['id']}").json()["messages"]
        if messages[-1]["content"] and messages[-1]["interrupted"]:
            break
        time.sleep(0.2)
    reply = messages[-1]
    assert reply["role"] == "assistant"
    assert reply["interrupted"] is True
    assert len(reply["content"]) > 5


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory: pytest.TempPathFactory) -> RunningEngine:
    engine = start_engine(tmp_path_factory.mktemp("small-ctx"), n_ctx=512, reply_tokens=64)
    yield engine  # type: ignore[misc]
    engine.process.stop()


LONG_TURNS = [
    {
        "role": "user" if i % 2 == 0 else "assistant",
        "content": f"Message {i}: " + "the river flows past the old mill " * 6,
    }
    for i in range(12)
]


def test_rolling_window_drops_oldest_and_says_so(small_engine: RunningEngine) -> None:
    with small_engine.http() as http:
        conv = _create(http, overflow_policy="rolling_window", messages=LONG_TURNS)
        body = _send(http, conv["id"], "Summarize in one line.", max_tokens=16).json()
    report = body["context"]
    assert report["messages_total"] == 13
    assert report["messages_left_out"] > 0
    assert report["messages_included"] + report["messages_left_out"] == 13
    assert report["summary_used"] is False
    assert report["prompt_tokens"] <= 512 - 16


def test_stop_policy_refuses_but_keeps_the_users_message(small_engine: RunningEngine) -> None:
    with small_engine.http() as http:
        conv = _create(http, overflow_policy="stop", messages=LONG_TURNS)
        response = _send(http, conv["id"], "Keep going.", max_tokens=16)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "context_length_exceeded"
        messages = http.get(f"/v1/conversations/{conv['id']}").json()["messages"]
    assert messages[-1]["content"] == "Keep going."


def test_summarize_policy_writes_and_then_uses_a_summary(small_engine: RunningEngine) -> None:
    with small_engine.http() as http:
        conv = _create(http, messages=LONG_TURNS)  # summarize is the default
        first = _send(http, conv["id"], "Go on.", max_tokens=16).json()["context"]
        assert first["policy"] == "summarize"
        assert first["messages_left_out"] > 0
        assert first["summary_used"] is False
        deadline = time.monotonic() + 120
        while not http.get(f"/v1/conversations/{conv['id']}").json()["summary"]:
            assert time.monotonic() < deadline, "no summary was written"
            time.sleep(0.5)
        second = _send(http, conv["id"], "And then?", max_tokens=16).json()["context"]
    assert second["summary_used"] is True
    assert second["summarized_messages"] > 0
    assert second["messages_left_out"] >= second["summarized_messages"]


def test_memories_crud_and_recall_in_english_and_chinese(http: httpx.Client) -> None:
    tea = http.post(
        "/v1/memories", json={"content": "The user drinks jasmine tea every morning."}
    ).json()
    coffee = http.post("/v1/memories", json={"content": "用户喜欢喝黑咖啡，不加糖。"}).json()
    assert tea["source"] == "api"
    # Other tests' memories may be related by meaning too: the word match comes first.
    found = [m["id"] for m in http.get("/v1/memories", params={"q": "jasmine"}).json()["data"]]
    assert found[0] == tea["id"]
    assert coffee["id"] not in found
    found = [m["id"] for m in http.get("/v1/memories", params={"q": "咖啡"}).json()["data"]]
    assert found[0] == coffee["id"]
    assert tea["id"] not in found
    conv = _create(http)
    en = _send(http, conv["id"], "Which tea do I drink in the morning?", max_tokens=8).json()
    assert tea["id"] in en["context"]["memories_used"]
    zh = _send(http, conv["id"], "我喜欢喝什么咖啡？", max_tokens=8).json()
    assert coffee["id"] in zh["context"]["memories_used"]
    edited = http.patch(
        f"/v1/memories/{tea['id']}", json={"content": "The user drinks mint tea."}
    ).json()
    assert edited["content"] == "The user drinks mint tea."
    after = http.get("/v1/memories", params={"q": "jasmine"}).json()["data"]
    assert tea["id"] not in [m["id"] for m in after]
    assert http.delete(f"/v1/memories/{coffee['id']}").status_code == 200
    zh_again = _send(http, conv["id"], "我喜欢喝什么咖啡？", max_tokens=8).json()
    assert coffee["id"] not in zh_again["context"]["memories_used"]
    assert http.get(f"/v1/memories/{coffee['id']}").status_code == 404
    assert http.post("/v1/memories", json={"content": ""}).status_code == 400


def test_remember_that_in_chat_saves_a_memory(http: httpx.Client) -> None:
    conv = _create(http)
    body = _send(http, conv["id"], "Remember that my dog is called Pixel.", max_tokens=8).json()
    saved = body["context"]["memory_saved"]
    memory = http.get(f"/v1/memories/{saved}").json()
    assert memory["content"] == "The user's dog is called Pixel"
    assert memory["source"] == "chat"


def _stored_reply(db_path: Path, conv_id: str) -> str:
    """The assistant's stored text so far, read from the engine's SQLite file as it writes."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute(
            "SELECT content FROM messages WHERE conversation_id = ? AND role = 'assistant'",
            (conv_id,),
        ).fetchone()
    finally:
        db.close()
    return str(row[0]) if row else ""


def test_killed_mid_reply_keeps_user_message_and_partial_reply(tmp_path: Path) -> None:
    engine = start_engine(tmp_path)
    db_path = tmp_path / "data" / "hearth.sqlite3"
    try:
        with engine.http() as http:
            conv = _create(http)
            # The model cannot end this reply by itself: it is still streaming when killed.
            body = {
                "content": "Count from 1 to 1000, comma separated.",
                "stream": True,
                "max_tokens": 2000,
                "temperature": 0,
                "logit_bias": never_ends(),
            }
            url = f"/v1/conversations/{conv['id']}/messages"
            with http.stream("POST", url, json=body) as response:
                deadline = time.monotonic() + 60
                for _ in response.iter_lines():
                    if len(_stored_reply(db_path, conv["id"])) > 10:
                        break  # a partial reply is on disk, and more is coming
                    assert time.monotonic() < deadline, "no partial reply was stored"
                else:
                    raise AssertionError("the reply ended before a partial reply was stored")
                assert engine.process.process is not None
                os.kill(engine.process.process.pid, signal.SIGKILL)
        engine.process.process.wait(10)
    finally:
        engine.process.stop()
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute(
        "SELECT role, content, interrupted FROM messages WHERE conversation_id = ? ORDER BY id",
        (conv["id"],),
    ).fetchall()
    db.close()
    assert rows[0] == ("user", "Count from 1 to 1000, comma separated.", 0)
    assert rows[1][0] == "assistant"
    assert rows[1][2] == 1
    assert len(rows[1][1]) > 10
    again = start_engine(tmp_path)
    try:
        with again.http() as http:
            stored = http.get(f"/v1/conversations/{conv['id']}").json()["messages"]
        assert stored[1]["interrupted"] is True
        assert stored[1]["content"] == rows[1][1]
    finally:
        again.process.stop()


def test_two_clients_writing_at_once(engine_server: RunningEngine) -> None:
    errors: list[str] = []

    def writer(n: int) -> None:
        with engine_server.http() as http:
            for i in range(40):
                created = http.post("/v1/conversations", json={"title": f"w{n}-{i}"})
                memory = http.post("/v1/memories", json={"content": f"writer {n} fact {i}"})
                for response in (created, memory):
                    if response.status_code >= 400:
                        errors.append(response.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
