"""Redaction, moderation and the audit log, through the engine's HTTP API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from engine.security.redaction import Redactor, StreamRestorer
from tests.conftest import RunningEngine, start_engine
from tests.forced import reply_of, say_exactly
from tests.waiting import wait_for

# (text, kind that must be found, or None when it must be left alone)
CASES = [
    ("write to jane.doe@example.org today", "EMAIL"),
    ("call +1 415 555 0134 please", "PHONE"),
    ("call +44 20 7946 0958", "PHONE"),
    ("手机 13812345678 请回电", "PHONE"),
    ("手机 +86 138 1234 5678", "PHONE"),
    ("身份证 11010519491231002X", "CN_ID"),
    ("身份证 110105194912310021", None),  # wrong checksum
    ("card 4111 1111 1111 1111 expires", "CARD"),
    ("card 4111-1111-1111-1111", "CARD"),
    ("order 4111 1111 1111 1112", None),  # fails Luhn
    ("iban GB82 WEST 1234 5698 7654 32", "IBAN"),
    ("iban GB82 WEST 1234 5698 7654 33", None),  # fails mod 97
    ("server 10.0.0.7 is down", "IP"),
    ("ipv6 2001:db8::8a2e:370:7334", "IP"),
    ("version 1.2.3.4.5 and 999.1.1.1", None),
    ("key sk-proj-abcdefghijklmnop1234567890", "API_KEY"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "API_KEY"),
    ("the year 2024 and 42 apples", None),
]


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_redaction_table(text: str, kind: str | None) -> None:
    redacted, state = Redactor().redact(text)
    if kind is None:
        assert redacted == text
        assert state.items == []
    else:
        assert [i.kind for i in state.items] == [kind]
        assert f"[{kind}_1]" in redacted
        assert state.restore(redacted) == text


def test_users_own_words_and_patterns_and_consistent_numbering() -> None:
    redactor = Redactor(words=["Project Falcon"], patterns=[r"ACME-\d{4}"])
    text = "Project Falcon ticket ACME-1234; mail a@b.io and a@b.io and c@d.io"
    redacted, state = redactor.redact(text)
    assert "Project Falcon" not in redacted
    assert "ACME-1234" not in redacted
    assert redacted.count("[EMAIL_1]") == 2
    assert "[EMAIL_2]" in redacted
    assert state.counts() == {"CUSTOM": 2, "EMAIL": 2}


def test_stream_restorer_handles_placeholders_split_across_chunks() -> None:
    text = "Reply to [EMAIL_1] about [CARD_1], then [EMAIL_1] again."
    _, state = Redactor().redact("x@y.com 4111 1111 1111 1111")
    for size in range(1, 12):
        restorer = StreamRestorer(state)
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
        assert out == "Reply to x@y.com about 4111 1111 1111 1111, then x@y.com again."


def test_redact_endpoint(http: httpx.Client) -> None:
    body = http.post("/v1/redact", json={"text": "mail bob@example.com, call 13812345678"}).json()
    assert body["text"] == "mail [EMAIL_1], call [PHONE_1]"
    assert body["items"] == [
        {"kind": "EMAIL", "placeholder": "[EMAIL_1]"},
        {"kind": "PHONE", "placeholder": "[PHONE_1]"},
    ]
    assert "bob@example.com" not in json.dumps(body)


@pytest.fixture(scope="module")
def moderated(tmp_path_factory: pytest.TempPathFactory) -> RunningEngine:
    home = tmp_path_factory.mktemp("moderated")
    lists = home / "lists"
    lists.mkdir()
    (lists / "block.toml").write_text(
        'name = "banned"\naction = "block"\nwords = ["zorblax", "禁止词"]\n'
    )
    (lists / "mask.toml").write_text('name = "rude"\naction = "mask"\nwords = ["Paris"]\n')
    (lists / "flag.toml").write_text(
        'name = "watch"\naction = "flag"\npatterns = ["\\\\bcapital\\\\b"]\n'
    )
    engine = start_engine(home, moderation_lists=[str(p) for p in sorted(lists.glob("*.toml"))])
    yield engine  # type: ignore[misc]
    engine.process.stop()


def _chat(http: httpx.Client, content: str, **extra: object) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": content}], "temperature": 0, **extra}
    return http.post("/v1/chat/completions", json=body)


def test_blocked_input_is_refused_with_content_filter(moderated: RunningEngine) -> None:
    with moderated.http() as http:
        for text in ("tell me about zorblax", "这是禁止词吗"):
            response = _chat(http, text, max_tokens=5)
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "content_filter"


def test_masked_output_and_flags_reach_the_audit_log(moderated: RunningEngine) -> None:
    with moderated.http() as http:
        ask = "What is the capital of France?"
        said = say_exactly("Paris is the capital.")  # the model's words, made certain
        body = _chat(http, ask, max_tokens=20, response_format=said).json()
        reply = body["choices"][0]["message"]["content"]
        assert reply == reply_of("***** is the capital.")
        streamed = {"messages": [{"role": "user", "content": ask}], "temperature": 0}
        streamed.update(max_tokens=20, stream=True, response_format=said)
        with http.stream("POST", "/v1/chat/completions", json=streamed) as response:
            stream_id = response.headers["x-request-id"]
            text = "".join(
                (json.loads(line[6:])["choices"] or [{"delta": {}}])[0]["delta"].get("content")
                or ""
                for line in response.iter_lines()
                if line.startswith("data: {")
            )
        assert text == reply
        # The audit row is written just after the response ends; pick the streamed request's
        # own row by its x-request-id, not the non-streamed one's.
        rows = wait_for(
            lambda: http.get("/v1/audit", params={"request_id": stream_id}).json()["data"],
            what="the streamed request's audit row",
        )
    assert rows[0]["model"] == "smollm2-135m-instruct"
    assert rows[0]["provider"] == "local"
    assert rows[0]["status"] == 200
    assert rows[0]["completion_tokens"] > 0
    assert set(rows[0]["moderation"]) >= {"rude", "watch"}
    assert rows[0]["content"] is None  # no message text unless the user asks for it


def test_blocked_output_ends_the_stream_with_content_filter(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "b.toml").write_text('name = "no-numbers"\naction = "block"\nwords = ["5"]\n')
    engine = start_engine(tmp_path, moderation_lists=[str(lists / "b.toml")])
    try:
        with engine.http() as http:
            body = {
                "messages": [{"role": "user", "content": "Count from 1 to 10, comma separated."}],
                "temperature": 0, "max_tokens": 40, "stream": True,
                "response_format": say_exactly("1, 2, 3, 4, 5, 6, 7, 8, 9, 10"),
            }  # fmt: skip
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                chunks = [
                    json.loads(x[6:]) for x in response.iter_lines() if x.startswith("data: {")
                ]
            text = "".join(
                c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
            )
            finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
            assert finishes[-1] == "content_filter"
            assert "5" not in text
            assert "1, 2, 3" in text
            whole = http.post("/v1/chat/completions", json={**body, "stream": False}).json()
            assert whole["choices"][0]["finish_reason"] == "content_filter"
    finally:
        engine.process.stop()


def test_moderations_endpoint_in_openai_shape(moderated: RunningEngine) -> None:
    with moderated.http() as http:
        body = http.post("/v1/moderations", json={"input": ["zorblax here", "all fine"]}).json()
    assert body["id"].startswith("modr-")
    first, second = body["results"]
    assert first["flagged"] is True
    assert first["categories"]["banned"] is True
    assert first["category_scores"]["banned"] == 1.0
    assert second["flagged"] is False


def test_audit_records_every_request_without_secrets(engine_server: RunningEngine) -> None:
    with engine_server.http() as http:
        sent = [
            http.get("/v1/models"),
            http.get("/v1/nothing-here"),
            http.put("/v1/keys/test-provider", json={"value": "sk-secret-in-audit-check-000000"}),
        ]
        ids = {r.headers["x-request-id"] for r in sent}
        rows = wait_for(
            lambda: http.get("/v1/audit", params={"limit": 200}).json()["data"],
            lambda rows: ids <= {r["request_id"] for r in rows},
            what="an audit row for each request",
        )
        missing = http.get("/v1/audit", params={"status": 404}).json()["data"]
        http.delete("/v1/keys/test-provider")
    endpoints = {r["endpoint"] for r in rows}
    assert {"/v1/models", "/v1/nothing-here", "/v1/keys/test-provider"} <= endpoints
    assert all(r["status"] == 404 for r in missing)
    assert missing
    assert "sk-secret-in-audit-check" not in json.dumps(rows)
    assert engine_server.token not in json.dumps(rows)


def test_audit_keeps_reply_text_only_when_asked(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, audit_content=True)
    try:
        with engine.http() as http:
            response = http.post("/v1/chat/completions", json={
                "messages": [{"role": "user", "content": "Count from 1 to 3."}], "max_tokens": 8, "temperature": 0,
            })  # fmt: skip
            reply = response.json()
            rows = wait_for(
                lambda: http.get(
                    "/v1/audit", params={"request_id": response.headers["x-request-id"]}
                ).json()["data"],
                what="the request's audit row",
            )
        assert rows[0]["content"] == reply["choices"][0]["message"]["content"]
    finally:
        engine.process.stop()
