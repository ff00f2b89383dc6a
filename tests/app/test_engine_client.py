"""The project's own client against a real engine: calls, streaming and typed errors."""

from __future__ import annotations

import pytest

from app.engine_client import (
    AuthenticationError,
    ContextLengthError,
    EngineClient,
    EngineUnavailable,
    NotFoundError,
    PermissionDeniedError,
)
from app.engine_client.errors import BusyError, ServerError, error_from_payload
from tests.conftest import DEFAULT_MODEL, RunningEngine

ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_health_and_models(engine_server: RunningEngine) -> None:
    with engine_server.client() as client:
        assert client.health().default_model == DEFAULT_MODEL
        assert DEFAULT_MODEL in [m.id for m in client.models().data]
        assert client.model(DEFAULT_MODEL).quantization == "Q4_1"


def test_chat_and_stream_agree(engine_server: RunningEngine) -> None:
    with engine_server.client() as client:
        whole = client.chat(ASK, temperature=0, max_tokens=10)
        with client.stream_chat(ASK, temperature=0, max_tokens=10) as stream:
            pieces = list(stream.deltas())
        assert "".join(pieces) == whole.choices[0].message.content
        assert stream.text == whole.choices[0].message.content
        assert stream.finish_reason == whole.choices[0].finish_reason
        assert stream.text


def test_stream_usage(engine_server: RunningEngine) -> None:
    with (
        engine_server.client() as client,
        client.stream_chat(ASK, max_tokens=4, stream_options={"include_usage": True}) as stream,
    ):
        list(stream)
    assert stream.usage is not None
    assert stream.usage["completion_tokens"] > 0


def test_errors_are_typed(engine_server: RunningEngine) -> None:
    with engine_server.client() as client:
        with pytest.raises(NotFoundError):
            client.chat(ASK, model="missing")
        with pytest.raises(ContextLengthError) as too_long:
            client.chat(ASK, max_tokens=10**7)
        assert too_long.value.param == "max_tokens"
        with pytest.raises(ContextLengthError):
            client.stream_chat(ASK, max_tokens=10**7)
    with EngineClient(engine_server.url, "wrong") as client, pytest.raises(AuthenticationError):
        client.models()
    with EngineClient(
        engine_server.url.replace("127.0.0.1", "localhost"), engine_server.token
    ) as ok:
        assert ok.health().status == "ok"


def test_unreachable_engine(engine_server: RunningEngine) -> None:
    with EngineClient("http://127.0.0.1:9", "x") as client, pytest.raises(EngineUnavailable):
        client.health()


def test_error_mapping_of_payloads() -> None:
    busy = error_from_payload(429, {"error": {"message": "busy", "type": "rate_limit_error"}}, "2")
    assert isinstance(busy, BusyError)
    assert busy.retry_after == 2
    assert isinstance(error_from_payload(403, {"error": {"message": "no"}}), PermissionDeniedError)
    weird = error_from_payload(502, "<html>")
    assert isinstance(weird, ServerError)
    assert "502" in weird.message
