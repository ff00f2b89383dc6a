"""The official openai package talks to the engine as it would to OpenAI."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import DEFAULT_MODEL, RunningEngine
from tests.forced import reply_of, say_exactly


def test_models_list(sdk: openai.OpenAI) -> None:
    ids = [m.id for m in sdk.models.list()]
    assert DEFAULT_MODEL in ids
    assert sdk.models.retrieve(DEFAULT_MODEL).id == DEFAULT_MODEL


def test_chat(sdk: openai.OpenAI) -> None:
    reply = sdk.chat.completions.create(
        model=DEFAULT_MODEL,
        messages=[
            {"role": "user", "content": "What is the capital of France? Answer in one word."}
        ],
        temperature=0,
        max_tokens=10,
    )
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0


def test_streaming_chat(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model=DEFAULT_MODEL,
        messages=[{"role": "user", "content": "Count from 1 to 5, comma separated."}],
        temperature=0,
        max_tokens=20,
        response_format=say_exactly("1, 2, 3, 4, 5"),  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    usage = None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert text == reply_of("1, 2, 3, 4, 5")
    assert usage is not None
    assert usage.total_tokens > usage.prompt_tokens


def test_completions(sdk: openai.OpenAI) -> None:
    reply = sdk.completions.create(
        model=DEFAULT_MODEL, prompt="The capital of France is", max_tokens=5, temperature=0
    )
    assert reply.choices[0].text
    assert reply.usage is not None
    assert 0 < reply.usage.completion_tokens <= 5


def test_errors_are_the_sdks_typed_exceptions(
    sdk: openai.OpenAI, engine_server: RunningEngine
) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(
            model=DEFAULT_MODEL, messages=[{"role": "user", "content": "x"}], temperature=5
        )
    assert bad.value.param == "temperature"
    with pytest.raises(openai.BadRequestError) as too_long:
        sdk.chat.completions.create(
            model=DEFAULT_MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10**6
        )
    assert too_long.value.code == "context_length_exceeded"
    wrong = openai.OpenAI(base_url=engine_server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    wrong.close()
