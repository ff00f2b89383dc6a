"""Chat and text completions over real HTTP with the embedded model."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import DEFAULT_MODEL
from tests.forced import reply_of, say_exactly

QUESTION = "What is the capital of France? Answer in one word."


def _chat(http: httpx.Client, **body: object) -> httpx.Response:
    body.setdefault("messages", [{"role": "user", "content": QUESTION}])
    return http.post("/v1/chat/completions", json=body)


def test_chat_completion_has_openai_shape_and_usage(http: httpx.Client) -> None:
    response = _chat(http, max_tokens=24, temperature=0)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == DEFAULT_MODEL
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].strip()
    assert choice["finish_reason"] in ("stop", "length")
    # Greedy decoding is deterministic: the same request gives the same reply.
    again = _chat(http, max_tokens=24, temperature=0).json()
    assert again["choices"][0]["message"]["content"] == choice["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 10
    assert 0 < usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_max_tokens_caps_the_reply_and_reports_length(http: httpx.Client) -> None:
    body = _chat(
        http,
        messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        max_completion_tokens=5,
        temperature=0,
    ).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 5


def test_same_seed_gives_same_text(http: httpx.Client) -> None:
    ask = {"messages": [{"role": "user", "content": "Name a fruit."}], "max_tokens": 12}
    first = _chat(http, **ask, temperature=1.0, seed=1234).json()
    second = _chat(http, **ask, temperature=1.0, seed=1234).json()
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


def test_stop_sequence_ends_the_reply(http: httpx.Client) -> None:
    ask = {
        "messages": [{"role": "user", "content": "Count from 1 to 10, comma separated."}],
        "response_format": say_exactly("1, 2, 3, 4, 5"),  # the words are certain
    }
    free = _chat(http, **ask, max_tokens=30, temperature=0).json()["choices"][0]
    assert free["message"]["content"] == reply_of("1, 2, 3, 4, 5")
    stopped = _chat(http, **ask, max_tokens=30, temperature=0, stop=["4"]).json()["choices"][0]
    assert stopped["message"]["content"] == '"1, 2, 3, '
    assert stopped["finish_reason"] == "stop"


def test_text_parts_and_system_message_are_accepted(http: httpx.Client) -> None:
    system = {"role": "system", "content": "You answer in one word."}
    parts = [{"type": "text", "text": "Capital of "}, {"type": "text", "text": "France?"}]
    as_parts = _chat(
        http, messages=[system, {"role": "user", "content": parts}], max_tokens=8, temperature=0
    ).json()
    as_text = _chat(
        http,
        messages=[system, {"role": "user", "content": "Capital of France?"}],
        max_tokens=8,
        temperature=0,
    ).json()
    without_system = _chat(
        http, messages=[{"role": "user", "content": parts}], max_tokens=8, temperature=0
    ).json()
    # Text parts make the same prompt as the joined string; the system message is in it.
    assert as_parts["usage"]["prompt_tokens"] == as_text["usage"]["prompt_tokens"]
    assert as_parts["choices"][0]["message"] == as_text["choices"][0]["message"]
    # (Without one, SmolLM2's template puts in a default system prompt of its own.)
    assert as_parts["usage"]["prompt_tokens"] != without_system["usage"]["prompt_tokens"]


def test_json_object_mode_returns_valid_json(http: httpx.Client) -> None:
    body = _chat(
        http,
        messages=[{"role": "user", "content": "Describe a cat as JSON with name and age."}],
        response_format={"type": "json_object"},
        max_tokens=400,
        temperature=0,
    ).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)


def test_json_schema_mode_follows_the_schema(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    body = _chat(
        http,
        messages=[{"role": "user", "content": "Give the largest city of France as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
        max_tokens=60,
        temperature=0,
    ).json()
    data = json.loads(body["choices"][0]["message"]["content"])
    assert isinstance(data["city"], str)
    assert isinstance(data["population"], int)


def test_streaming_sends_chunks_then_usage_then_done(http: httpx.Client) -> None:
    events: list[str] = []
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": "Say hello"}],
            "max_tokens": 12,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip()
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] in ("stop", "length")
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_text_completion_whole_and_streamed(http: httpx.Client) -> None:
    body = http.post(
        "/v1/completions",
        json={"prompt": "The capital of France is", "max_tokens": 6, "temperature": 0},
    ).json()
    assert body["object"] == "text_completion"
    assert body["choices"][0]["text"]
    assert body["usage"]["completion_tokens"] > 0
    assert body["usage"]["prompt_tokens"] > 0
    with http.stream(
        "POST",
        "/v1/completions",
        json={
            "prompt": "The capital of France is",
            "max_tokens": 6,
            "temperature": 0,
            "stream": True,
        },
    ) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    streamed = "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1])
    assert streamed == body["choices"][0]["text"]


def test_alias_maps_to_local_model(http: httpx.Client) -> None:
    body = _chat(http, model="gpt-4o-mini", max_tokens=3).json()
    assert body["model"] == DEFAULT_MODEL


@pytest.mark.parametrize("penalties", [{}, {"presence_penalty": 1.5, "frequency_penalty": 1.0}])
def test_greedy_reply_matches_llama_cpp_in_process(
    http: httpx.Client, penalties: dict[str, float]
) -> None:
    """The engine renders the GGUF's chat template exactly as llama-cpp-python does, and
    applies presence and frequency penalties as it does."""
    from llama_cpp import Llama

    from engine.settings import default_embedded_dir

    path = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    # The same arithmetic as the engine's: flash attention, as llama.cpp picks it on a CPU.
    raw = Llama(model_path=str(path), n_ctx=2048, flash_attn=True, verbose=False)
    messages = [{"role": "user", "content": "Count from 1 to 10, comma separated."}]
    try:
        expected = raw.create_chat_completion(
            messages,
            temperature=0,
            max_tokens=30,
            **penalties,  # type: ignore[arg-type]
        )
    finally:
        raw.close()
    served = _chat(http, messages=messages, temperature=0, max_tokens=30, **penalties).json()
    assert (
        served["choices"][0]["message"]["content"] == expected["choices"][0]["message"]["content"]
    )
    assert served["usage"]["prompt_tokens"] == expected["usage"]["prompt_tokens"]
