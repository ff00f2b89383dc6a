"""Embeddings through the official `openai` and `ollama` packages against a real engine with the
embedded multilingual-e5-small: shapes, encodings, batching, Chinese and English, limits and
errors, usage."""

from __future__ import annotations

import numpy as np
import ollama
import openai
import pytest

from tests.conftest import DEFAULT_MODEL, RunningEngine, assert_alive

E5 = "multilingual-e5-small"
PASSAGE = {"input_type": "passage"}
PROTEIN_EN = "The average requirement of protein for women is 46 grams per day."
PROTEIN_ZH = "一般来说，成年女性每天需要约46克蛋白质。"
WEATHER = "The weather in Lyon is sunny today, with a light wind."


def _vectors(reply: openai.types.CreateEmbeddingResponse) -> np.ndarray:
    return np.array([d.embedding for d in sorted(reply.data, key=lambda d: d.index)])


def test_vectors_are_unit_length_and_the_same_alone_or_in_a_batch(sdk: openai.OpenAI) -> None:
    texts = [PROTEIN_EN, PROTEIN_ZH, WEATHER, "short"]
    batch = sdk.embeddings.create(model=E5, input=texts, encoding_format="float")
    assert batch.model == E5
    vectors = _vectors(batch)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert batch.usage.prompt_tokens == batch.usage.total_tokens > 4 * 3
    for text, vector in zip(texts, vectors, strict=True):
        alone = _vectors(sdk.embeddings.create(model=E5, input=text, encoding_format="float"))[0]
        assert float(alone @ vector) > 0.9999  # batching several sequences changes nothing
    # The SDK's default asks for base64 and decodes it: the same numbers.
    decoded = _vectors(sdk.embeddings.create(model=E5, input=texts))
    assert np.allclose(decoded, vectors, atol=1e-6)


def test_a_question_finds_its_answer_in_english_and_chinese(sdk: openai.OpenAI) -> None:
    passages = _vectors(sdk.embeddings.create(model=E5, input=[PROTEIN_EN, PROTEIN_ZH, WEATHER],
                                              encoding_format="float", extra_body=PASSAGE))  # fmt: skip
    for question in ("How much protein should a woman eat?", "女性每天应该吃多少蛋白质？"):
        query = _vectors(sdk.embeddings.create(model=E5, input=question,
                                               encoding_format="float"))[0]  # fmt: skip
        scores = passages @ query
        assert min(scores[0], scores[1]) > scores[2] + 0.05, (question, scores)


def test_token_arrays_limits_and_errors(sdk: openai.OpenAI, engine_server: RunningEngine) -> None:
    tokens = sdk.embeddings.create(model=E5, input=[[0, 9, 24, 2], [0, 33, 2]],
                                   encoding_format="float")  # fmt: skip
    assert _vectors(tokens).shape == (2, 384)
    long_text = " ".join(["lantern"] * 700)
    bad = [
        ({"input": long_text}, "input"),  # over 512 tokens
        ({"input": [[0, 10**9, 2]]}, "input"),  # not a token of this model
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": "hi", "dimensions": 128}, "dimensions"),  # E5 cannot shorten its vectors
        ({"input": "hi", "model": DEFAULT_MODEL}, "model"),  # a chat model
    ]
    for body, param in bad:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.embeddings.create(**{"model": E5, **body})  # type: ignore[arg-type]
        assert caught.value.param == param, body  # type: ignore[attr-defined]
    cut = sdk.embeddings.create(model=E5, input=long_text, extra_body={"truncate": True})
    assert cut.usage.prompt_tokens == 512
    assert len(sdk.embeddings.create(model=E5, input="hi", dimensions=384).data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError) as chat:
        sdk.chat.completions.create(model=E5, messages=[{"role": "user", "content": "hi"}])
    assert chat.value.param == "model"  # type: ignore[attr-defined]
    with engine_server.http() as http:
        rows = http.get("/v1/usage", params={"group_by": "endpoint"}).json()["data"]
    assert any(r["grp"] == "/v1/embeddings" and r["prompt_tokens"] > 0 for r in rows)
    assert_alive(engine_server)


def test_ollamas_embed_and_older_embeddings(
    sdk: openai.OpenAI, engine_server: RunningEngine
) -> None:
    client = ollama.Client(host=engine_server.url,
                           headers={"Authorization": f"Bearer {engine_server.token}"})  # fmt: skip
    reply = client.embed(model=f"{E5}:latest", input=[PROTEIN_EN, WEATHER])
    assert len(reply.embeddings) == 2
    assert reply.prompt_eval_count is not None
    assert reply.prompt_eval_count > 4
    mine = _vectors(sdk.embeddings.create(model=E5, input=[PROTEIN_EN, WEATHER],
                                          encoding_format="float"))  # fmt: skip
    assert np.allclose(np.array(reply.embeddings), mine, atol=1e-5)
    older = client.embeddings(model=E5, prompt=PROTEIN_EN)
    assert np.allclose(np.array(older.embedding), mine[0], atol=1e-5)
    long_text = " ".join(["lantern"] * 700)
    assert len(client.embed(model=E5, input=long_text).embeddings[0]) == 384  # truncated
    with pytest.raises(ollama.ResponseError) as missing:
        client.embed(model="no-such-model", input="hi")
    assert missing.value.status_code == 404
