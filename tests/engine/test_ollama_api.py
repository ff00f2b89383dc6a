"""Ollama's API through the official `ollama` package against a real engine: version, list,
show, ps, chat and generate (streamed and whole, JSON format, options), delete, Ollama-shaped
errors, the token (and the setting that lets loopback clients go without it), and the same text
as Chat Completions at temperature 0."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from engine.settings import default_embedded_dir, resolve_dirs
from tests.conftest import DEFAULT_MODEL, RunningEngine, start_engine
from tests.model_tokens import DEFAULT_MODEL_FILE

ASK = [{"role": "user", "content": "Name three colours."}]
OPTIONS = {"temperature": 0, "num_predict": 30}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    running = start_engine(tmp_path_factory.mktemp("ollama"))
    yield running
    running.process.stop()


@pytest.fixture
def client(engine: RunningEngine) -> ollama.Client:
    return ollama.Client(host=engine.url, headers={"Authorization": f"Bearer {engine.token}"})


def _chat_completion(engine: RunningEngine, messages: list[dict[str, str]]) -> str:
    sdk = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token)
    reply = sdk.chat.completions.create(model=DEFAULT_MODEL, messages=messages,  # type: ignore[arg-type]
                                        temperature=0, max_tokens=30)  # fmt: skip
    return reply.choices[0].message.content or ""


def test_version_list_show_and_ps(client: ollama.Client) -> None:
    assert client._request_raw("GET", "/api/version").json()["version"]
    names = [m.model for m in client.list().models]
    assert f"{DEFAULT_MODEL}:latest" in names
    shown = client.show(f"{DEFAULT_MODEL}:latest")
    assert shown.details is not None
    assert shown.details.format == "gguf"
    assert shown.template  # the GGUF's chat template
    assert "completion" in (shown.capabilities or [])
    client.generate(model=DEFAULT_MODEL, prompt="")  # a load request
    assert f"{DEFAULT_MODEL}:latest" in [m.model for m in client.ps().models]


def test_chat_whole_and_streamed_match_chat_completions(
    client: ollama.Client, engine: RunningEngine
) -> None:
    whole = client.chat(model=DEFAULT_MODEL, messages=ASK, options=OPTIONS)
    assert whole.done
    assert whole.message.role == "assistant"
    assert whole.message.content == _chat_completion(engine, ASK)
    assert whole.eval_count
    assert whole.prompt_eval_count
    parts = list(client.chat(model=DEFAULT_MODEL, messages=ASK, options=OPTIONS, stream=True))
    assert parts[-1].done
    assert not any(p.done for p in parts[:-1])
    assert "".join(p.message.content or "" for p in parts) == whole.message.content
    assert parts[-1].eval_count == whole.eval_count


def test_generate_with_a_system_prompt_and_json_format(
    client: ollama.Client, engine: RunningEngine
) -> None:
    made = client.generate(model=DEFAULT_MODEL, prompt="Name three colours.",
                           system="Answer briefly.", options=OPTIONS)  # fmt: skip
    expected = _chat_completion(engine, [{"role": "system", "content": "Answer briefly."}, *ASK])
    assert made.response == expected
    streamed = client.generate(model=DEFAULT_MODEL, prompt="Name three colours.",
                               system="Answer briefly.", options=OPTIONS, stream=True)  # fmt: skip
    assert "".join(p.response for p in streamed) == expected
    as_json = client.generate(model=DEFAULT_MODEL, prompt="A colour as JSON.", format="json",
                              options={"temperature": 0, "num_predict": 60})  # fmt: skip
    if as_json.done_reason == "stop":  # whole: it must parse (JSON mode is a grammar)
        json.loads(as_json.response)


def test_errors_come_in_ollamas_shape(client: ollama.Client, engine: RunningEngine) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="no-such-model", messages=ASK)
    assert missing.value.status_code == 404
    assert "no-such-model" in missing.value.error
    raw = httpx.post(engine.url + "/api/chat", json={"model": DEFAULT_MODEL, "messages": ASK})
    assert raw.status_code == 401  # no token, and the setting is off
    assert set(raw.json()) == {"error"}


def test_loopback_clients_may_go_without_the_token_when_allowed(engine: RunningEngine) -> None:
    bare = ollama.Client(host=engine.url)
    with pytest.raises(ollama.ResponseError):
        bare.list()
    with engine.http() as http:
        assert http.patch("/v1/settings", json={"ollama_without_token": True}).status_code == 200
    try:
        assert bare.list().models
        reply = httpx.get(engine.url + "/v1/models")  # the rest of the API still needs it
        assert reply.status_code == 401
    finally:
        with engine.http() as http:
            http.patch("/v1/settings", json={"ollama_without_token": False})


def test_delete_removes_a_model(client: ollama.Client, engine: RunningEngine) -> None:
    models = resolve_dirs(engine.home).data / "models"
    models.mkdir(parents=True, exist_ok=True)
    source = default_embedded_dir() / DEFAULT_MODEL_FILE
    target = models / "spare.gguf"
    try:
        os.link(source, target)  # the same bytes, no copy
    except OSError:
        shutil.copy(source, target)
    assert "spare:latest" in [m.model for m in client.list().models]
    client.delete("spare:latest")
    assert "spare:latest" not in [m.model for m in client.list().models]
    assert not Path(target).exists()


def test_copy_makes_a_model_under_a_new_name(client: ollama.Client, engine: RunningEngine) -> None:
    client.copy(f"{DEFAULT_MODEL}:latest", "my-copy")
    assert "my-copy:latest" in [m.model for m in client.list().models]
    reply = client.chat(model="my-copy", messages=ASK, options=OPTIONS)
    assert reply.message.content
    with pytest.raises(ollama.ResponseError) as missing:
        client.copy("no-such-model", "other")
    assert missing.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as bad:
        client.copy(DEFAULT_MODEL, "Bad Name!")
    assert bad.value.status_code == 400
    client.delete("my-copy")  # only the copy's definition goes; the model it copies stays
    names = [m.model for m in client.list().models]
    assert "my-copy:latest" not in names
    assert f"{DEFAULT_MODEL}:latest" in names


def test_pull_downloads_a_catalog_model_with_progress(tmp_path: Path) -> None:
    """From a file server on loopback (as the Hugging Face mirror), through the model manager."""
    from tests.file_server import FileServer

    source = default_embedded_dir() / DEFAULT_MODEL_FILE
    copy = tmp_path / "served" / "tiny-chat.gguf"
    copy.parent.mkdir()
    shutil.copy(source, copy)
    served = FileServer(copy)
    served.start()
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[models]]\nid = "tiny-chat"\nname = "Tiny chat"\nkind = "chat"\nlicense = "Apache-2.0"\n'
        f'[[models.files]]\nname = "tiny-chat.gguf"\nsize = {source.stat().st_size}\n'
        'url = "https://huggingface.co/org/tiny/resolve/main/tiny-chat.gguf"\n',
        encoding="utf-8",
    )
    engine = start_engine(tmp_path / "home", catalog_path=str(catalog), hf_endpoint=served.url)
    try:
        client = ollama.Client(host=engine.url, headers={"Authorization": f"Bearer {engine.token}"})
        progress = list(client.pull("tiny-chat", stream=True))
        assert progress[0].status == "pulling manifest"
        assert progress[-1].status == "success"
        done = [p.completed for p in progress if p.completed is not None]
        assert done == sorted(done)
        assert done[-1] == source.stat().st_size
        assert "tiny-chat:latest" in [m.model for m in client.list().models]
        with pytest.raises(ollama.ResponseError) as unknown:
            client.pull("no-such-model")
        assert unknown.value.status_code == 404
    finally:
        engine.process.stop()
        served.stop()
