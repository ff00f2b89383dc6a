"""What the desktop uses beyond OpenAI's API: live settings, token rotation, truncation, the catalog."""

from __future__ import annotations

from pathlib import Path

from engine.registry.recommend import Candidate, MiB, recommend
from tests.conftest import RunningEngine, assert_alive, start_engine


def test_settings_apply_now_and_survive_a_restart(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "home")
    try:
        with engine.http() as client:
            first = client.get("/v1/settings").json()
            assert first["route_policy"] == "local_only"
            assert first["moderation"] is True
            long_prompt = {
                "messages": [{"role": "user", "content": "apple " * 1500}],
                "max_tokens": 2,
            }
            fits = client.post("/v1/chat/completions", json=long_prompt)  # loads the model
            assert fits.status_code == 200, fits.text
            models = tmp_path / "elsewhere"
            changed = client.patch(
                "/v1/settings",
                json={
                    "n_ctx": 1024,
                    "redact_words": ["Project Nightjar"],
                    "moderation": False,
                    "models_dir": str(models),
                },
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["n_ctx"] == 1024
            assert changed.json()["reloaded"] == ["smollm2-135m-instruct"]
            assert models.is_dir()
            redacted = client.post("/v1/redact", json={"text": "About project nightjar."}).json()
            assert "nightjar" not in redacted["text"].lower()
            over = client.post("/v1/chat/completions", json=long_prompt)
            assert over.status_code == 400, over.text  # 1500 words no longer fit in 1024
            assert over.json()["error"]["code"] == "context_length_exceeded"
    finally:
        engine.process.stop()
    assert "n_ctx = 1024" in (tmp_path / "home" / "config" / "engine.toml").read_text()
    again = start_engine(tmp_path / "home")
    try:
        with again.http() as client:
            kept = client.get("/v1/settings").json()
        assert kept["n_ctx"] == 1024
        assert kept["redact_words"] == ["Project Nightjar"]
        assert kept["moderation"] is False
        assert kept["models_dir"] == str(models)
    finally:
        again.process.stop()


def test_bad_settings_are_refused_plainly(engine_server: RunningEngine) -> None:
    with engine_server.http() as client:
        for body, param in [
            ({"n_ctx": 3}, "n_ctx"),
            ({"route_policy": "everywhere"}, "route_policy"),
            ({"redact_patterns": ["(unclosed"]}, "redact_patterns"),
            ({"models_dir": "relative/folder"}, "models_dir"),
            ({"no_such_setting": 1}, "no_such_setting"),
        ]:
            response = client.patch("/v1/settings", json=body)
            assert response.status_code == 400, (body, response.text)
            error = response.json()["error"]
            assert param in (error.get("param") or "") + error["message"], error
            assert "/home" not in error["message"]
            assert "Traceback" not in error["message"]
        assert client.get("/v1/settings").json()["n_ctx"] != 3
    assert_alive(engine_server)


def test_rotating_the_token_retires_the_old_one(tmp_path: Path) -> None:
    engine = start_engine(tmp_path)
    try:
        with engine.http() as client:
            rotated = client.post("/v1/token/rotate")
            assert rotated.status_code == 200
            new = rotated.json()["token"]
            assert new != engine.token
            assert client.get("/v1/models").status_code == 401  # the old token no longer works
        with engine.http(token=new) as client:
            assert client.get("/v1/models").status_code == 200
    finally:
        engine.process.stop()


def test_truncating_a_conversation_for_regenerate(engine_server: RunningEngine) -> None:
    with engine_server.http() as client:
        conv = client.post(
            "/v1/conversations",
            json={
                "messages": [
                    {"role": "user", "content": "one"},
                    {"role": "assistant", "content": "two"},
                    {"role": "user", "content": "three"},
                    {"role": "assistant", "content": "four"},
                ]
            },
        ).json()
        messages = client.get(f"/v1/conversations/{conv['id']}").json()["messages"]
        third = messages[2]["id"]
        done = client.delete(f"/v1/conversations/{conv['id']}/messages/{third}")
        assert done.status_code == 200
        assert done.json()["deleted"] == 2
        left = client.get(f"/v1/conversations/{conv['id']}").json()["messages"]
        assert [m["content"] for m in left] == ["one", "two"]
        missing = client.delete(f"/v1/conversations/{conv['id']}/messages/{third}")
        assert missing.status_code == 404


def test_the_catalog_says_what_is_installed(engine_server: RunningEngine) -> None:
    entries = {m.id: m for m in engine_server.client().catalog()}
    assert entries["smollm2-135m-instruct"].installed
    assert entries["smollm2-135m-instruct"].verified
    assert entries["whisper-tiny.en"].installed
    assert not entries["qwen2.5-0.5b-instruct"].installed
    assert entries["qwen2.5-0.5b-instruct"].kind == "chat"


def test_the_catalog_recommends_the_largest_chat_model_that_fits(
    engine_server: RunningEngine,
) -> None:
    entries = engine_server.client().catalog()
    chat = [e for e in entries if e.kind == "chat" and not e.embedded and e.size_bytes]
    assert all(e.memory_bytes and e.memory_bytes > (e.size_bytes or 0) for e in chat)
    recommended = [e for e in entries if e.recommended]
    fitting = [e for e in chat if e.fits]
    if not fitting:  # a machine too small for any: nothing is pushed on it
        assert recommended == []
        return
    assert len(recommended) == 1
    assert recommended[0].fits
    assert recommended[0].size_bytes == max(e.size_bytes or 0 for e in fitting)
    assert not [e for e in entries if e.embedded and e.recommended]


def test_recommendation_follows_the_memory_there_is() -> None:
    models = [Candidate("small", 400 * MiB), Candidate("mid", 1100 * MiB),
              Candidate("big", 4000 * MiB)]  # fmt: skip
    gib = 1024 * MiB
    assert recommend(models, ram_free=16 * gib, gpu_free=None) == "big"
    assert recommend(models, ram_free=3 * gib, gpu_free=None) == "mid"
    assert recommend(models, ram_free=2 * gib, gpu_free=None) == "small"
    assert recommend(models, ram_free=512 * MiB, gpu_free=None) is None
    assert recommend(models, ram_free=1 * gib, gpu_free=8 * gib) == "big"  # on the GPU


def test_turns_answered_elsewhere_are_recorded(engine_server: RunningEngine) -> None:
    client = engine_server.client()
    conv = client.create_conversation()
    ids = client.record_messages(
        conv.id,
        [
            {"role": "user", "content": "What is in this picture?"},
            {"role": "assistant", "content": "A lighthouse.", "provider": "cloud", "model": "m",
             "token_count": 4, "interrupted": True},
        ],
    )  # fmt: skip
    assert ids[1] > ids[0]
    stored = client.conversation(conv.id)
    assert stored.title == "What is in this picture?"
    assert [m.content for m in stored.messages] == ["What is in this picture?", "A lighthouse."]
    assert stored.messages[1].provider == "cloud"
    assert stored.messages[1].interrupted
    with engine_server.http() as http:
        bad = http.post(f"/v1/conversations/{conv.id}/records", json={"messages": [{"role": "tool",
                        "content": "x"}]})  # fmt: skip
        assert bad.status_code == 400
