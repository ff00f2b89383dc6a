"""Custom models: a base model with its own prompt, defaults and LoRA adapters."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from engine.settings import default_embedded_dir
from tests.conftest import DEFAULT_MODEL, RunningEngine, engine_env, start_engine
from tests.lora_maker import make_lora
from tests.model_tokens import never_ends

COUNT = [{"role": "user", "content": "Count from 1 to 5, comma separated."}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    home = tmp_path_factory.mktemp("custom")
    models = home / "data" / "models"
    models.mkdir(parents=True)
    make_lora(models / "noisy-lora.gguf")
    running = start_engine(home)
    yield running
    running.process.stop()


def _reply(http: httpx.Client, model: str, **extra: object) -> dict[str, object]:
    body = {"model": model, "messages": COUNT, "temperature": 0, "max_tokens": 15, **extra}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _text(reply: dict[str, object]) -> str:
    return str(reply["choices"][0]["message"]["content"])  # type: ignore[index]


def test_lora_scale_zero_equals_base_and_a_large_scale_differs(engine: RunningEngine) -> None:
    with engine.http() as http:
        ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert "noisy-lora" not in ids  # adapters are parts, not models
        for name, scale in (("lora-off", 0.0), ("lora-on", 2.0)):
            made = http.post("/v1/custom-models", json={
                "id": name, "base": DEFAULT_MODEL, "loras": [{"path": "noisy-lora.gguf", "scale": scale}],
            })  # fmt: skip
            assert made.status_code == 201, made.text
        base = _text(_reply(http, DEFAULT_MODEL))
        off = _text(_reply(http, "lora-off"))
        on = _text(_reply(http, "lora-on"))
    assert off == base
    assert on != base


def test_a_lora_model_and_its_base_are_served_side_by_side(engine: RunningEngine) -> None:
    """Two loaded models (the base, and the base with its adapter) generate at once. The base
    replies exactly as alone; the noisy test adapter makes its model's distribution nearly
    flat, so there only its difference from the base is certain."""
    with engine.http() as http:
        http.post("/v1/custom-models", json={
            "id": "lora-side", "base": DEFAULT_MODEL,
            "loras": [{"path": "noisy-lora.gguf", "scale": 2.0}],
        })  # fmt: skip
        alone = {name: _text(_reply(http, name)) for name in (DEFAULT_MODEL, "lora-side")}
        serving = http.get("/health").json()["serving"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        names = [DEFAULT_MODEL, "lora-side"] * 2

        def ask(name: str) -> str:
            with engine.http() as http:
                return _text(_reply(http, name))

        together = list(pool.map(ask, names))
    assert [together[0], together[2]] == [alone[DEFAULT_MODEL]] * 2
    assert all(text and text != alone[DEFAULT_MODEL] for text in (together[1], together[3]))
    assert alone["lora-side"] != alone[DEFAULT_MODEL]
    assert {DEFAULT_MODEL, "lora-side"} <= set(serving)  # two schedulers, one per loaded model


def test_system_prompt_and_defaults_apply_and_requests_override(engine: RunningEngine) -> None:
    with engine.http() as http:
        made = http.post("/v1/custom-models", json={
            "id": "terse", "base": DEFAULT_MODEL,
            "system_prompt": "You are a pirate. Always answer like a pirate, at length.",
            "parameters": {"max_tokens": 4, "temperature": 0},
        })  # fmt: skip
        assert made.status_code == 201
        cards = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
        assert "custom" in cards["terse"]["capabilities"]
        body = {"model": "terse", "messages": COUNT}
        custom = http.post("/v1/chat/completions", json=body).json()
        base = http.post(
            "/v1/chat/completions", json={**body, "model": DEFAULT_MODEL, "max_tokens": 4}
        ).json()
        longer = http.post("/v1/chat/completions", json={**body, "max_tokens": 9}).json()
        listed = [m["id"] for m in http.get("/v1/custom-models").json()["data"]]
        assert "terse" in listed
        assert http.delete("/v1/custom-models/terse").status_code == 200
        assert http.post("/v1/chat/completions", json=body).status_code == 404
    assert custom["usage"]["completion_tokens"] <= 4
    assert longer["usage"]["completion_tokens"] > 4  # the request's own max_tokens wins
    assert (
        custom["usage"]["prompt_tokens"] != base["usage"]["prompt_tokens"]
    )  # its own system prompt


def test_bad_definitions_are_refused(engine: RunningEngine) -> None:
    with engine.http() as http:
        missing_base = http.post("/v1/custom-models", json={"id": "x", "base": "nope"})
        assert missing_base.status_code == 400
        bad_lora = http.post("/v1/custom-models", json={
            "id": "y", "base": DEFAULT_MODEL, "loras": [{"path": "../../etc/passwd.gguf"}],
        })  # fmt: skip
        assert bad_lora.status_code == 400
        not_lora = http.post("/v1/custom-models", json={
            "id": "z", "base": DEFAULT_MODEL, "loras": [{"path": "missing.gguf"}],
        })  # fmt: skip
        assert not_lora.status_code == 400
        assert (
            http.post("/v1/custom-models", json={"id": "Bad Id", "base": DEFAULT_MODEL}).status_code
            == 400
        )


def test_cli_create(engine: RunningEngine) -> None:
    lora = engine.home / "data" / "models" / "noisy-lora.gguf"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "create", "cli-made", "--from", DEFAULT_MODEL,
         "--system", "Be brief.", "--lora", f"{lora}:0.5", "--param", "max_tokens=3"],
        env=engine_env(engine.home), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with engine.http() as http:
        reply = http.post(
            "/v1/chat/completions", json={"model": "cli-made", "messages": COUNT}
        ).json()
    assert reply["usage"]["completion_tokens"] <= 3


def test_custom_models_survive_a_restart(tmp_path: object) -> None:
    from pathlib import Path

    home = Path(str(tmp_path))
    engine = start_engine(home)
    try:
        with engine.http() as http:
            http.post("/v1/custom-models", json={"id": "keeper", "base": DEFAULT_MODEL})
    finally:
        engine.process.stop()
    again = start_engine(home)
    try:
        with again.http() as http:
            assert "keeper" in [m["id"] for m in http.get("/v1/models").json()["data"]]
    finally:
        again.process.stop()


def test_removing_a_custom_model_keeps_its_base_file(tmp_path: Path) -> None:
    # Its own copy of the base, so a wrong delete could only hurt this test's file.
    home = tmp_path / "home"
    models = home / "data" / "models"
    models.mkdir(parents=True)
    base = models / "base-copy.gguf"
    shutil.copy(default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf", base)
    engine = start_engine(home)
    try:
        with engine.http() as http:
            made = http.post("/v1/custom-models", json={"id": "variant", "base": "base-copy"})
            assert made.status_code == 201
            removed = http.delete("/v1/models/variant")
            assert removed.status_code == 200
            assert removed.json()["files"] == []
            ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
            assert "variant" not in ids
            assert "base-copy" in ids
            chat = http.post("/v1/chat/completions", json={"model": "base-copy", "messages": COUNT,
                                                           "max_tokens": 2})  # fmt: skip
            assert chat.status_code == 200
        assert base.exists()
    finally:
        engine.process.stop()


def test_a_conversation_with_a_custom_model_gets_its_prompt_and_defaults(
    engine: RunningEngine,
) -> None:
    with engine.http() as http:
        http.post("/v1/custom-models", json={
            "id": "brief", "base": DEFAULT_MODEL, "system_prompt": "You are a pirate, matey.",
            "parameters": {"max_tokens": 3, "temperature": 0, "logit_bias": never_ends()},
        })  # fmt: skip
        try:
            mine = http.post("/v1/conversations", json={"model": "brief"}).json()
            plain = http.post("/v1/conversations", json={"model": DEFAULT_MODEL}).json()
            same = http.post(
                "/v1/conversations",
                json={"model": DEFAULT_MODEL, "system_prompt": "You are a pirate, matey."},
            ).json()
            ask = {"content": "Count from 1 to 5, comma separated."}
            custom = http.post(f"/v1/conversations/{mine['id']}/messages", json=ask).json()
            # The others' lengths do not matter here (only their prompts): kept short.
            short = {**ask, "max_tokens": 3}
            base = http.post(f"/v1/conversations/{plain['id']}/messages", json=short).json()
            told = http.post(f"/v1/conversations/{same['id']}/messages", json=short).json()
        finally:
            http.delete("/v1/custom-models/brief")
    # Its defaults: it cannot end by itself, so its max_tokens is what stopped it.
    assert custom["usage"]["completion_tokens"] == 3
    assert custom["choices"][0]["finish_reason"] == "length"
    # Its system prompt is the one in the context: the same as a conversation told it.
    assert custom["usage"]["prompt_tokens"] == told["usage"]["prompt_tokens"]
    assert custom["usage"]["prompt_tokens"] != base["usage"]["prompt_tokens"]
