"""Anthropic's Messages API through the official `anthropic` package against a real engine:
text, streaming, token counting, forced tool use and tool results, Anthropic-shaped errors, and
the same text as Chat Completions at temperature 0."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import jsonschema
import openai
import pytest

from tests.conftest import DEFAULT_MODEL, RunningEngine

ASK = [{"role": "user", "content": "Name three colours."}]
# The SDK no longer names sampling parameters; the API (and Hearth) still take them.
T0 = {"temperature": 0}
WEATHER = {
    "name": "get_weather",
    "description": "The weather forecast for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1,
                                                             "maximum": 7}},
        "required": ["city"],
    },
}  # fmt: skip


@pytest.fixture
def claude(engine_server: RunningEngine) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=engine_server.url, api_key=engine_server.token,
                                 max_retries=0)  # fmt: skip
    yield client
    client.close()


def test_a_message_matches_chat_completions_and_counts_its_tokens(
    claude: anthropic.Anthropic, engine_server: RunningEngine
) -> None:
    reply = claude.messages.create(
        model=DEFAULT_MODEL, max_tokens=30, extra_body=T0, messages=ASK, system="Answer briefly."
    )  # type: ignore[arg-type]
    assert reply.type == "message"
    assert reply.role == "assistant"
    assert reply.stop_reason in ("end_turn", "max_tokens")
    text = "".join(b.text for b in reply.content if b.type == "text")
    assert text
    sdk = openai.OpenAI(base_url=engine_server.url + "/v1", api_key=engine_server.token)
    chat = sdk.chat.completions.create(
        model=DEFAULT_MODEL, max_tokens=30, temperature=0,
        messages=[{"role": "system", "content": "Answer briefly."}, *ASK],  # type: ignore[list-item]
    )  # fmt: skip
    assert chat.choices[0].message.content == text
    assert chat.usage is not None
    assert reply.usage.input_tokens == chat.usage.prompt_tokens
    assert reply.usage.output_tokens == chat.usage.completion_tokens
    counted = claude.messages.count_tokens(
        model=DEFAULT_MODEL, messages=ASK, system="Answer briefly."
    )  # type: ignore[arg-type]
    assert counted.input_tokens == reply.usage.input_tokens


def test_a_streamed_message_has_anthropics_events_and_the_same_text(
    claude: anthropic.Anthropic,
) -> None:
    whole = claude.messages.create(model=DEFAULT_MODEL, max_tokens=30, extra_body=T0, messages=ASK)  # type: ignore[arg-type]
    kinds: list[str] = []
    with claude.messages.stream(
        model=DEFAULT_MODEL, max_tokens=30, extra_body=T0, messages=ASK
    ) as stream:  # type: ignore[arg-type]
        for item in stream:
            kinds.append(item.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert "content_block_start" in kinds
    assert "content_block_delta" in kinds
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].type == "text"
    assert final.content[0].text == whole.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == whole.usage.output_tokens


@pytest.mark.parametrize("stream", [False, True])
def test_forced_tool_use_and_a_tool_result(claude: anthropic.Anthropic, stream: bool) -> None:
    ask = [{"role": "user", "content": "What is the weather in Lyon?"}]
    args = {"model": DEFAULT_MODEL, "max_tokens": 120, "extra_body": T0, "messages": ask,
            "tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"}}  # fmt: skip
    if stream:
        with claude.messages.stream(**args) as events:  # type: ignore[arg-type]
            partial = [e for e in events if e.type == "content_block_delta"
                       and e.delta.type == "input_json_delta"]  # fmt: skip
            reply = events.get_final_message()
        assert partial
    else:
        reply = claude.messages.create(**args)  # type: ignore[arg-type]
    assert reply.stop_reason == "tool_use"
    use = next(b for b in reply.content if b.type == "tool_use")
    assert use.name == "get_weather"
    jsonschema.validate(use.input, WEATHER["input_schema"])
    answer = claude.messages.create(
        model=DEFAULT_MODEL, max_tokens=30, extra_body=T0, tools=[WEATHER],  # type: ignore[list-item]
        messages=[*ask, {"role": "assistant", "content": reply.content},  # type: ignore[list-item]
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                "content": "Sunny, 24 degrees."}]}],
    )  # fmt: skip
    assert answer.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert answer.usage.input_tokens > reply.usage.input_tokens  # the call and result went in


def test_errors_come_in_anthropics_shape(
    claude: anthropic.Anthropic, engine_server: RunningEngine
) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        claude.messages.create(model=DEFAULT_MODEL, max_tokens=0, messages=ASK)  # type: ignore[arg-type]
    assert bad.value.body["type"] == "error"  # type: ignore[index]
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="no-such-model", max_tokens=5, messages=ASK)  # type: ignore[arg-type]
    stranger = anthropic.Anthropic(base_url=engine_server.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as denied:
        stranger.messages.create(model=DEFAULT_MODEL, max_tokens=5, messages=ASK)  # type: ignore[arg-type]
    assert denied.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    stranger.close()
    # The engine still answers.
    assert claude.messages.create(model=DEFAULT_MODEL, max_tokens=3, messages=ASK).content  # type: ignore[arg-type]
