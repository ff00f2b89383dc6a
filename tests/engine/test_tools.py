"""Function calling through the official openai SDK: tool_choice obeyed because a grammar makes
it so (the embedded model, which knows no tools, in Hearth's generic format), a real
instruction-tuned model (Qwen2.5-Coder 0.5B, in its own format) choosing calls by itself, bad
tools refused, and a remote provider given the tools unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import openai
import pytest

from tests.conftest import DEFAULT_MODEL, RunningEngine, start_engine
from tests.model_files import QWEN_ID, tool_model_dir

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "the city's name"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "units"],
            "additionalProperties": False,
        },
    },
}
BOOK = {
    "type": "function",
    "function": {
        "name": "book_table",
        "description": "Book a table at a restaurant.",
        "parameters": {
            "type": "object",
            "properties": {
                "restaurant": {"type": "string"},
                "guests": {"type": "integer", "minimum": 1},
                "when": {
                    "type": "object",
                    "properties": {"date": {"type": "string"}, "time": {"type": "string"}},
                    "required": ["date", "time"],
                },
            },
            "required": ["restaurant", "guests", "when"],
        },
    },
}
TOOLS = [WEATHER, BOOK]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
ASK = [{"role": "user", "content": "What will the weather be in Lyon tomorrow?"}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """The embedded model, and the tool-calling model from the set-up's test-model folder."""
    running = start_engine(tmp_path_factory.mktemp("tools"), models_dir=str(tool_model_dir()))
    yield running
    running.process.stop()


@pytest.fixture
def sdk(engine: RunningEngine) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
    yield client
    client.close()


def _valid(name: str, arguments: str) -> dict[str, Any]:
    data = json.loads(arguments)
    jsonschema.validate(data, SCHEMAS[name])
    return data  # type: ignore[no-any-return]


def _streamed(stream: Any) -> tuple[str, list[tuple[str, str, str]], str | None]:
    """Content, calls (id, name, arguments) and finish reason, assembled from deltas."""
    content, finish = "", None
    calls: dict[int, list[str]] = {}
    for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, ["", "", ""])
                if delta.id:
                    assert not call[0], "a call's id comes once"
                    call[0] = delta.id
                if delta.function and delta.function.name:
                    call[1] = delta.function.name
                call[2] += (delta.function.arguments or "") if delta.function else ""
            finish = choice.finish_reason or finish
    return content, [tuple(c) for _i, c in sorted(calls.items())], finish  # type: ignore[misc]


@pytest.mark.parametrize("model", [DEFAULT_MODEL, QWEN_ID])
def test_required_always_gives_calls_that_parse_and_validate(
    sdk: openai.OpenAI, model: str
) -> None:
    for seed in range(4):  # sampled at a high temperature: every draw must still be a valid call
        reply = sdk.chat.completions.create(
            model=model, messages=ASK, tools=TOOLS, tool_choice="required",  # type: ignore[arg-type]
            temperature=1.2, seed=seed, max_tokens=300, parallel_tool_calls=False,
        )  # fmt: skip
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert len(choice.message.tool_calls or []) == 1
        for call in choice.message.tool_calls:
            assert call.id.startswith("call_")
            assert call.type == "function"
            _valid(call.function.name, call.function.arguments)
        assert reply.usage is not None
        assert reply.usage.completion_tokens > 0


PINNED = {"cache_prompt": False, "speculative": False}


@pytest.mark.parametrize("model", [DEFAULT_MODEL, QWEN_ID])
def test_a_named_function_is_the_one_called_streamed_too(sdk: openai.OpenAI, model: str) -> None:
    named = {"type": "function", "function": {"name": "book_table"}}
    ask = [{"role": "user", "content": "Book a table for four at Chez Marie on Friday at 8pm."}]
    # Both read the prompt whole and check no guessed tokens: with a slot's cached prefix, or
    # guesses verified in batches whose size follows measured step times, the logits differ in
    # their last bits, and a small model's arguments can follow them ("10am" once, "10:30am"
    # the next; Qwen's "17:00" once, "18:00" the next).
    reply = sdk.chat.completions.create(
        model=model, messages=ask, tools=TOOLS, tool_choice=named, temperature=0,  # type: ignore[arg-type]
        max_tokens=200, parallel_tool_calls=False, extra_body=PINNED,
    )  # fmt: skip
    calls = reply.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["book_table"]
    _valid("book_table", calls[0].function.arguments)
    stream = sdk.chat.completions.create(
        model=model, messages=ask, tools=TOOLS, tool_choice=named, temperature=0,  # type: ignore[arg-type]
        max_tokens=200, parallel_tool_calls=False, stream=True, extra_body=PINNED,
    )  # fmt: skip
    content, streamed, finish = _streamed(stream)
    assert content == ""  # a forced call is the whole reply
    assert finish == "tool_calls"
    assert [(name, json.loads(args)) for _id, name, args in streamed] == [
        ("book_table", json.loads(calls[0].function.arguments))
    ]
    assert streamed[0][0].startswith("call_")


@pytest.mark.parametrize("model", [DEFAULT_MODEL, QWEN_ID])
def test_none_never_calls(sdk: openai.OpenAI, model: str) -> None:
    for stream in (False, True):
        reply = sdk.chat.completions.create(
            model=model, messages=ASK, tools=TOOLS, tool_choice="none", temperature=0,  # type: ignore[arg-type]
            max_tokens=60, stream=stream,
        )  # fmt: skip
        if stream:
            content, calls, finish = _streamed(reply)
        else:
            message = reply.choices[0].message  # type: ignore[union-attr]
            content, calls, finish = (
                message.content,
                message.tool_calls or [],
                reply.choices[0].finish_reason,
            )  # type: ignore[union-attr]
        assert calls == []
        assert finish in ("stop", "length")
        assert content


def test_a_tuned_model_chooses_to_call_and_its_result_goes_back_in(sdk: openai.OpenAI) -> None:
    """The first reply is the model's own choice at temperature 0 from a fixed file; what it
    does with the result is its business, so the second turn checks only that the call and the
    result reached the prompt and that whatever it writes is well formed."""
    reply = sdk.chat.completions.create(
        model=QWEN_ID, messages=ASK, tools=TOOLS, tool_choice="auto", temperature=0, max_tokens=200,  # type: ignore[arg-type]
    )  # fmt: skip
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = (choice.message.tool_calls or [])[0]
    assert call.function.name == "get_weather"
    assert _valid("get_weather", call.function.arguments)["city"] == "Lyon"
    result = json.dumps({"forecast": "sunny with a light breeze from the north", "high": 24})
    history = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    answer = sdk.chat.completions.create(
        model=QWEN_ID, messages=history, tools=TOOLS, temperature=0, max_tokens=80,  # type: ignore[arg-type]
    )  # fmt: skip
    assert reply.usage
    assert answer.usage
    assert answer.usage.prompt_tokens >= reply.usage.prompt_tokens + 20  # call + result went in
    again = answer.choices[0]
    if again.finish_reason == "tool_calls":
        for made in again.message.tool_calls or []:
            _valid(made.function.name, made.function.arguments)  # type: ignore[union-attr]
    else:
        assert again.finish_reason in ("stop", "length")
        assert again.message.content


def test_parallel_calls_in_one_reply(sdk: openai.OpenAI) -> None:
    ask = [{"role": "user", "content": "Weather in Lyon and in Nice, please."}]
    reply = sdk.chat.completions.create(
        model=DEFAULT_MODEL, messages=ask, tools=[WEATHER], tool_choice="required",  # type: ignore[list-item]
        temperature=0, max_tokens=300, parallel_tool_calls=True,
    )  # fmt: skip
    calls = reply.choices[0].message.tool_calls or []
    assert 1 <= len(calls) <= 8  # at most eight calls in one reply
    for call in calls:
        _valid("get_weather", call.function.arguments)
    assert len({c.id for c in calls}) == len(calls)
    single = sdk.chat.completions.create(
        model=DEFAULT_MODEL, messages=ask, tools=[WEATHER], tool_choice="required",  # type: ignore[list-item]
        temperature=0, max_tokens=300, parallel_tool_calls=False,
    )  # fmt: skip
    assert len(single.choices[0].message.tool_calls or []) == 1


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"tools": [{**WEATHER, "function": {**WEATHER["function"], "parameters": {"type": "array"}}}]},
         "tools[0].function.parameters"),
        ({"tools": [{**WEATHER, "function": {**WEATHER["function"],
                                              "parameters": {"type": "object", "properties": 5}}}]},
         "tools[0].function.parameters"),
        ({"tools": [WEATHER, WEATHER]}, "tools[1].function.name"),
        ({"tool_choice": {"type": "function", "function": {"name": "fly"}}},
         "tool_choice.function.name"),
        ({"tools": None, "tool_choice": "required"}, "tool_choice"),
    ],
)  # fmt: skip
def test_bad_tools_are_400_naming_the_field(
    engine: RunningEngine, change: dict[str, Any], param: str
) -> None:
    body = {"messages": ASK, "tools": TOOLS, "tool_choice": "auto", **change}
    with engine.http() as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_a_tool_message_must_name_its_call(engine: RunningEngine) -> None:
    with engine.http() as http:
        response = http.post("/v1/chat/completions", json={
            "messages": [*ASK, {"role": "tool", "content": "sunny"}], "tools": TOOLS,
        })  # fmt: skip
    assert response.status_code == 400


def test_a_call_cut_by_max_tokens_is_not_returned_half_written(sdk: openai.OpenAI) -> None:
    reply = sdk.chat.completions.create(
        model=DEFAULT_MODEL, messages=ASK, tools=TOOLS, temperature=0, max_tokens=12,  # type: ignore[arg-type]
        tool_choice={"type": "function", "function": {"name": "book_table"}},
    )  # fmt: skip
    assert reply.choices[0].finish_reason == "length"
    assert not reply.choices[0].message.tool_calls
