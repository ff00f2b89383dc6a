"""One request through every dialect, each with its official client, against one fresh engine:
the same text at temperature 0, and each counted once in /v1/usage under its own endpoint."""

from __future__ import annotations

from pathlib import Path

import anthropic
import ollama
import openai

from tests.conftest import DEFAULT_MODEL, start_engine

SYSTEM = "Answer briefly."
ASK = "Name three colours."
LIMIT = 24
# Each prompt is read whole, never from a slot's cache: llama.cpp's logits differ in the last
# bits between the two, which can flip a near tie at temperature 0. Ollama's client cannot send
# this, so its request goes first, when nothing is cached yet.
WHOLE = {"cache_prompt": False}


def test_the_same_request_through_every_dialect(tmp_path: Path) -> None:
    engine = start_engine(tmp_path)
    try:
        auth = {"Authorization": f"Bearer {engine.token}"}
        said = ollama.Client(host=engine.url, headers=auth).chat(
            model=DEFAULT_MODEL, options={"temperature": 0, "num_predict": LIMIT},
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASK}],
        )  # fmt: skip
        sdk = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
        chat = sdk.chat.completions.create(
            model=DEFAULT_MODEL, temperature=0, max_tokens=LIMIT, extra_body=WHOLE,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASK}],
        )  # fmt: skip
        response = sdk.responses.create(model=DEFAULT_MODEL, instructions=SYSTEM, input=ASK,
                                        temperature=0, max_output_tokens=LIMIT, extra_body=WHOLE)  # fmt: skip
        claude = anthropic.Anthropic(base_url=engine.url, api_key=engine.token, max_retries=0)
        message = claude.messages.create(
            model=DEFAULT_MODEL, system=SYSTEM, max_tokens=LIMIT,
            messages=[{"role": "user", "content": ASK}], extra_body={"temperature": 0, **WHOLE},
        )  # fmt: skip
        with engine.http() as http:
            rows = http.get("/v1/usage", params={"group_by": "endpoint"}).json()["data"]
        sdk.close()
        claude.close()
    finally:
        engine.process.stop()
    text = chat.choices[0].message.content
    assert text
    assert said.message.content == text
    assert response.output_text == text
    assert "".join(b.text for b in message.content if b.type == "text") == text
    assert chat.usage is not None
    counted = {r["grp"]: (r["requests"], r["prompt_tokens"], r["completion_tokens"]) for r in rows}
    once = (1, chat.usage.prompt_tokens, chat.usage.completion_tokens)
    assert counted == {"/api/chat": once, "/v1/chat/completions": once, "/v1/messages": once,
                       "/v1/responses": once}  # fmt: skip
