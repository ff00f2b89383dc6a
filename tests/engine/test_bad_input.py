"""Every kind of bad input gets an OpenAI-shaped error with the right status, never a 500."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.conftest import RunningEngine, assert_alive

USER = [{"role": "user", "content": "hi"}]


def _error(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["type"] == type_
    text = str(error["message"])
    assert "Traceback" not in text
    assert "/tmp" not in text
    assert "/root" not in text
    assert "/home" not in text
    return error  # type: ignore[no-any-return]


INVALID_FIELDS = [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"messages": "hello"}, "messages"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": USER, "temperature": 2.5}, "temperature"),
    ({"messages": USER, "temperature": -0.1}, "temperature"),
    ({"messages": USER, "temperature": "hot"}, "temperature"),
    ({"messages": USER, "top_p": 0}, "top_p"),
    ({"messages": USER, "top_p": 1.5}, "top_p"),
    ({"messages": USER, "max_tokens": 0}, "max_tokens"),
    ({"messages": USER, "max_completion_tokens": -3}, "max_completion_tokens"),
    ({"messages": USER, "n": 2}, "n"),
    ({"messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": USER, "frequency_penalty": 9}, "frequency_penalty"),
    ({"messages": USER, "response_format": {"type": "xml"}}, "response_format.type"),
    ({}, "messages"),
]
MALFORMED = [b"{not json", b"", b"[1, 2]", b"null", b"\xff\xfe"]


@pytest.mark.parametrize(("body", "param"), INVALID_FIELDS)
def test_invalid_fields_get_400_naming_the_param(
    http: httpx.Client, body: dict[str, object], param: str
) -> None:
    error = _error(http.post("/v1/chat/completions", json=body), 400, "invalid_request_error")
    assert error["param"] == param


def test_only_system_messages_is_400(http: httpx.Client) -> None:
    body = {"messages": [{"role": "system", "content": "be nice"}]}
    error = _error(http.post("/v1/chat/completions", json=body), 400, "invalid_request_error")
    assert error["param"] == "messages"


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_bodies_get_400(http: httpx.Client, raw: bytes) -> None:
    response = http.post(
        "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    _error(response, 400, "invalid_request_error")


def test_max_tokens_beyond_context_is_context_length_exceeded(http: httpx.Client) -> None:
    body = {"messages": USER, "max_tokens": 1_000_000}
    error = _error(http.post("/v1/chat/completions", json=body), 400, "invalid_request_error")
    assert error["code"] == "context_length_exceeded"
    assert error["param"] == "max_tokens"


def test_prompt_longer_than_context_is_context_length_exceeded(http: httpx.Client) -> None:
    long_text = "lorem ipsum dolor sit amet " * 3000  # far past the 4096-token window
    body = {"messages": [{"role": "user", "content": long_text}], "max_tokens": 4}
    error = _error(http.post("/v1/chat/completions", json=body), 400, "invalid_request_error")
    assert error["code"] == "context_length_exceeded"
    completion = http.post("/v1/completions", json={"prompt": long_text, "max_tokens": 4})
    assert _error(completion, 400, "invalid_request_error")["code"] == "context_length_exceeded"


def test_image_parts_on_a_text_model_are_400(http: httpx.Client) -> None:
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "what?"}, part]}]}
    error = _error(http.post("/v1/chat/completions", json=body), 400, "invalid_request_error")
    assert error["code"] == "image_input_unsupported"


def test_unknown_model_is_404(http: httpx.Client) -> None:
    body = {"messages": USER, "model": "no-such-model"}
    error = _error(http.post("/v1/chat/completions", json=body), 404, "invalid_request_error")
    assert error["code"] == "model_not_found"
    error = _error(http.get("/v1/models/no-such-model"), 404, "invalid_request_error")
    assert error["code"] == "model_not_found"


def test_path_shaped_model_names_are_refused(http: httpx.Client) -> None:
    for name in ("../../etc/passwd", "models/../../x", "/etc/passwd", "a\\b", "./x"):
        response = http.post("/v1/chat/completions", json={"messages": USER, "model": name})
        assert _error(response, 400, "invalid_request_error")["code"] == "invalid_model_name"
    encoded = http.post("/v1/chat/completions", json={"messages": USER, "model": "..%2F..%2Fetc"})
    assert _error(encoded, 404, "invalid_request_error")["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing"),
        ("POST", "/v1/chat/nothing"),
        ("GET", "/nothing"),
        ("GET", "/v2/models"),
    ],
)
def test_unknown_routes_are_404(http: httpx.Client, method: str, path: str) -> None:
    _error(http.request(method, path), 404, "invalid_request_error")


def test_wrong_method_is_405(http: httpx.Client) -> None:
    _error(http.get("/v1/chat/completions"), 405, "invalid_request_error")


def test_body_over_the_cap_is_413(http: httpx.Client) -> None:
    big = b'{"messages": [{"role": "user", "content": "' + b"a" * (33 * 1024 * 1024) + b'"}]}'
    response = http.post(
        "/v1/chat/completions", content=big, headers={"content-type": "application/json"}
    )
    _error(response, 413, "invalid_request_error")


def test_chunked_body_over_the_cap_is_413(http: httpx.Client) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"a" * (1024 * 1024)
        yield b'"}]}'

    response = http.post(
        "/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    _error(response, 413, "invalid_request_error")


def test_half_sent_request_does_not_hurt_the_engine(engine_server: RunningEngine) -> None:
    host, port = engine_server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
            b'Content-Length: 1000\r\n\r\n{"messa'
        )
    assert_alive(engine_server)


def test_engine_still_answers_after_bad_input(engine_server: RunningEngine) -> None:
    """On its own (not relying on the tests above having run): every bad request at once,
    then the same engine process still chats."""
    process = engine_server.process.process
    assert process is not None
    with engine_server.http() as http:
        for body, _param in INVALID_FIELDS:
            assert http.post("/v1/chat/completions", json=body).status_code == 400
        for raw in MALFORMED:
            response = http.post(
                "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400
    assert_alive(engine_server)
    assert process.poll() is None  # not restarted: the very same process answered
