"""OpenAI's Responses API through the official `openai` package against a real engine: the same
text as Chat Completions at temperature 0, typed stream events, stored responses continued with
previous_response_id, background runs polled and cancelled, function tools, JSON output,
truncation, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import openai
import pytest

from tests.conftest import DEFAULT_MODEL, RunningEngine, assert_alive, kill_engine, start_engine
from tests.model_tokens import never_ends

ASK = "Name three colours."
BRIEF = "Answer briefly."
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather forecast for a city.",
    "parameters": {
        "type": "object",
        # Bounded (an enum, a small integer), so a forced call always fits max_output_tokens.
        "properties": {"city": {"enum": ["Lyon", "Paris"]}, "days": {"type": "integer",
                                                                    "minimum": 1, "maximum": 7}},
        "required": ["city"],
    },
}  # fmt: skip
# Replies compared across requests read their prompts whole: llama.cpp's logits differ in the
# last bits between a prompt read at once and one whose prefix came from the cache, which can
# flip a near tie at temperature 0.
SAME = {"cache_prompt": False}
PICK = {"type": "object", "properties": {"colour": {"enum": ["red", "green", "blue"]}},
        "required": ["colour"], "additionalProperties": False}  # fmt: skip


def _chat(sdk: openai.OpenAI, messages: list[dict[str, str]], max_tokens: int) -> tuple[str, int]:
    chat = sdk.chat.completions.create(
        model=DEFAULT_MODEL, max_tokens=max_tokens, temperature=0, messages=messages,  # type: ignore[arg-type]
        extra_body=SAME,
    )  # fmt: skip
    assert chat.usage is not None
    return chat.choices[0].message.content or "", chat.usage.prompt_tokens


def test_a_response_matches_chat_completions_and_is_stored(sdk: openai.OpenAI) -> None:
    reply = sdk.responses.create(
        model=DEFAULT_MODEL,
        input=ASK,
        instructions=BRIEF,
        temperature=0,
        extra_body=SAME,
        max_output_tokens=30,
    )
    assert reply.id.startswith("resp_")
    assert reply.status in ("completed", "incomplete")
    assert reply.output[0].type == "message"
    text, prompt_tokens = _chat(sdk, [{"role": "system", "content": BRIEF},
                                      {"role": "user", "content": ASK}], 30)  # fmt: skip
    assert reply.output_text == text
    assert reply.usage is not None
    assert reply.usage.input_tokens == prompt_tokens
    kept = sdk.responses.retrieve(reply.id)
    assert kept.output_text == text
    assert kept.status == reply.status
    items = sdk.responses.input_items.list(reply.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == ASK  # type: ignore[union-attr]
    sdk.responses.delete(reply.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(reply.id)


def test_streamed_events_are_typed_numbered_and_give_the_same_text(sdk: openai.OpenAI) -> None:
    whole = sdk.responses.create(
        model=DEFAULT_MODEL, input=ASK, temperature=0, extra_body=SAME, max_output_tokens=30
    )
    events = list(sdk.responses.create(
        model=DEFAULT_MODEL, input=ASK, temperature=0, extra_body=SAME, max_output_tokens=30, stream=True
    ))  # fmt: skip
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]  # fmt: skip
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", f"response.{whole.status}"]  # fmt: skip
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text
    # The SDK's own accumulator checks the events' consistency; it ends only on
    # response.completed, which a reply held to a small enum is sure to reach.
    pick = {"input": "Pick a colour.", "max_output_tokens": 60, "temperature": 0, "extra_body": SAME,
            "text": {"format": {"type": "json_schema", "name": "pick", "schema": PICK}}}  # fmt: skip
    with sdk.responses.stream(model=DEFAULT_MODEL, **pick) as stream:  # type: ignore[arg-type]
        for _event in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == sdk.responses.create(model=DEFAULT_MODEL, **pick).output_text  # type: ignore[call-overload]
    assert json.loads(final.output_text)["colour"] in ("red", "green", "blue")
    assert sdk.responses.retrieve(final.id).output_text == final.output_text  # stored


def test_previous_response_id_continues_with_the_earlier_turns(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model=DEFAULT_MODEL, input="My name is Ada. Say hello.",
                                 instructions=BRIEF, temperature=0, max_output_tokens=20)  # fmt: skip
    second = sdk.responses.create(model=DEFAULT_MODEL, input="What is my name?",
                                  previous_response_id=first.id, temperature=0, extra_body=SAME,
                                  max_output_tokens=20)  # fmt: skip
    # The same context as a chat: the earlier turn and its answer, without the earlier
    # instructions (OpenAI does not carry them over).
    text, prompt_tokens = _chat(sdk, [
        {"role": "user", "content": "My name is Ada. Say hello."},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": "What is my name?"},
    ], 20)  # fmt: skip
    assert second.output_text == text
    assert second.usage is not None
    assert second.usage.input_tokens == prompt_tokens
    assert second.previous_response_id == first.id
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model=DEFAULT_MODEL, input="Hi", previous_response_id="resp_nope")
    unstored = sdk.responses.create(model=DEFAULT_MODEL, input="Hi", store=False,
                                    max_output_tokens=3)  # fmt: skip
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(unstored.id)


def test_a_background_response_is_polled_and_one_is_cancelled(sdk: openai.OpenAI) -> None:
    short = sdk.responses.create(model=DEFAULT_MODEL, input=ASK, temperature=0, extra_body=SAME,
                                 max_output_tokens=20, background=True)  # fmt: skip
    assert short.status in ("queued", "in_progress")
    deadline = time.monotonic() + 60
    while short.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.2)
        short = sdk.responses.retrieve(short.id)
    direct = sdk.responses.create(model=DEFAULT_MODEL, input=ASK, temperature=0, extra_body=SAME,
                                  max_output_tokens=20)  # fmt: skip
    assert short.status == direct.status
    assert short.output_text == direct.output_text
    # A reply that cannot end by itself before 2000 tokens is surely running when cancelled.
    long = sdk.responses.create(model=DEFAULT_MODEL, input="Tell me a long story.",
                                max_output_tokens=2000, background=True,
                                extra_body={"logit_bias": never_ends()})  # fmt: skip
    cancelled = sdk.responses.cancel(long.id)
    assert cancelled.status == "cancelled"
    assert sdk.responses.retrieve(long.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        sdk.responses.cancel(direct.id)  # only background responses can be


@pytest.mark.parametrize("stream", [False, True])
def test_a_required_function_call_and_its_output(sdk: openai.OpenAI, stream: bool) -> None:
    args = {"model": DEFAULT_MODEL, "input": "What is the weather in Lyon?", "temperature": 0,
            "max_output_tokens": 120, "tools": [WEATHER], "tool_choice": "required",
            "parallel_tool_calls": False, "extra_body": SAME}  # fmt: skip
    if stream:
        with sdk.responses.stream(**args) as events:  # type: ignore[arg-type]
            kinds = [e.type for e in events]
            reply = events.get_final_response()
        assert "response.function_call_arguments.delta" in kinds
        assert "response.function_call_arguments.done" in kinds
    else:
        reply = sdk.responses.create(**args)  # type: ignore[arg-type]
    call = next(item for item in reply.output if item.type == "function_call")
    assert call.name == "get_weather"
    jsonschema.validate(json.loads(call.arguments), WEATHER["parameters"])
    answer = sdk.responses.create(
        model=DEFAULT_MODEL, previous_response_id=reply.id, tools=[WEATHER],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id,
                "output": "Sunny, 24 degrees."}], max_output_tokens=20, tool_choice="none",
        temperature=0, extra_body=SAME,
    )  # fmt: skip
    assert all(item.type == "message" for item in answer.output)  # tool_choice none: no calls
    # The same as a chat with the call and its result in the history.
    chat = sdk.chat.completions.create(
        model=DEFAULT_MODEL, max_tokens=20, temperature=0, extra_body=SAME, tool_choice="none",
        tools=[{"type": "function", "function": {k: WEATHER[k] for k in
                                                 ("name", "description", "parameters")}}],
        messages=[{"role": "user", "content": args["input"]},
                  {"role": "assistant", "content": None, "tool_calls": [{
                      "id": call.call_id, "type": "function",
                      "function": {"name": call.name, "arguments": call.arguments}}]},
                  {"role": "tool", "tool_call_id": call.call_id, "content": "Sunny, 24 degrees."}],
    )  # type: ignore[call-overload]  # fmt: skip
    assert answer.output_text == (chat.choices[0].message.content or "")
    assert answer.usage is not None
    assert answer.usage.input_tokens == chat.usage.prompt_tokens


def test_json_schema_output(sdk: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"colour": {"type": "string"}},
              "required": ["colour"], "additionalProperties": False}  # fmt: skip
    reply = sdk.responses.create(
        model=DEFAULT_MODEL, input="Pick a colour.", max_output_tokens=60, temperature=0,
        text={"format": {"type": "json_schema", "name": "pick", "schema": schema}},
    )  # fmt: skip
    jsonschema.validate(json.loads(reply.output_text), schema)


def test_errors_are_openai_shaped_and_the_engine_goes_on(
    sdk: openai.OpenAI, engine_server: RunningEngine
) -> None:
    bad = [
        ({"input": []}, "input"),
        ({"input": ASK, "tools": [{"type": "file_search"}]}, "tools"),  # which stores?
        ({"input": ASK, "tools": [{"type": "web_search"}]}, "tools"),
        ({"input": ASK, "background": True, "store": False}, "background"),
        ({"input": ASK, "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": [{"type": "mystery"}]}, "input"),
    ]
    for body, param in bad:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.responses.create(model=DEFAULT_MODEL, **body)  # type: ignore[call-overload]
        assert caught.value.param == param, body  # type: ignore[attr-defined]
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="no-such-model", input=ASK)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete("resp_nope")
    assert_alive(engine_server)


def test_truncation_auto_drops_the_oldest_turns_and_disabled_refuses(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, n_ctx=256)
    paragraph = " ".join(["The quick brown fox jumps over the lazy dog."] * 12)  # ~130 tokens
    try:
        client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
        first = client.responses.create(model=DEFAULT_MODEL, input=paragraph, max_output_tokens=8)
        args = {"model": DEFAULT_MODEL, "input": paragraph, "max_output_tokens": 8,
                "previous_response_id": first.id}  # fmt: skip
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(**args)  # type: ignore[call-overload]
        assert refused.value.code == "context_length_exceeded"
        kept = client.responses.create(**args, truncation="auto")  # type: ignore[call-overload]
        assert first.usage is not None
        assert kept.usage is not None
        assert kept.usage.input_tokens <= first.usage.input_tokens + 2  # only its own input
        client.close()
    finally:
        engine.process.stop()


def test_a_background_response_cut_by_a_crash_reads_failed_after_a_restart(
    tmp_path: Path,
) -> None:
    engine = start_engine(tmp_path)
    try:
        client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
        running = client.responses.create(model=DEFAULT_MODEL, input="Tell me a long story.",
                                          max_output_tokens=2000, background=True,
                                          extra_body={"logit_bias": never_ends()})  # fmt: skip
        assert client.responses.retrieve(running.id).status == "in_progress"
        client.close()
        kill_engine(engine)
    finally:
        engine.process.stop()
    again = start_engine(tmp_path)
    try:
        client = openai.OpenAI(base_url=again.url + "/v1", api_key=again.token, max_retries=0)
        after = client.responses.retrieve(running.id)
        assert after.status == "failed"
        assert after.error is not None
        assert "stopped" in after.error.message
        items = client.responses.input_items.list(running.id)  # what was asked is kept
        assert items.data[0].content[0].text == "Tell me a long story."  # type: ignore[union-attr]
        client.close()
    finally:
        again.process.stop()
