"""Remote providers against a real second server (llama-cpp-python's own) behind a fault proxy."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEngine, engine_env, start_engine
from tests.fault_proxy import FaultProxy
from tests.model_tokens import never_ends
from tests.upstream import UPSTREAM_KEY, llama_server
from tests.waiting import wait_for

PRICE_IN, PRICE_OUT = 1000.0, 2000.0  # per million tokens, large so costs are visible


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with llama_server() as url:
        yield url


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(upstream, stall_seconds=4.0)
    fault_proxy.start()
    yield fault_proxy
    fault_proxy.stop()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, proxy: FaultProxy) -> Iterator[RunningEngine]:
    running = start_engine(
        tmp_path_factory.mktemp("remote"),
        remote_read_timeout=2,
        remote_attempts=3,
        remote_backoff_seconds=0.05,
    )
    with running.http() as http:
        assert http.put("/v1/keys/lab-key", json={"value": UPSTREAM_KEY}).status_code == 200
        added = http.post(
            "/v1/providers",
            json={
                "name": "lab", "base_url": proxy.url + "/v1", "models": ["smol"],
                "key_name": "lab-key", "price_in": PRICE_IN, "price_out": PRICE_OUT,
            },
        )  # fmt: skip
        assert added.status_code == 201, added.text
    yield running
    running.process.stop()


@pytest.fixture
def fresh(proxy: FaultProxy) -> FaultProxy:
    proxy.faults.clear()
    proxy.seen.clear()
    return proxy


def _chat(http: httpx.Client, content: str = "Say hello.", **extra: object) -> httpx.Response:
    body = {
        "model": "lab/smol",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 8,
    }
    return http.post("/v1/chat/completions", json={**body, **extra})


def test_remote_model_is_served_by_the_provider(engine: RunningEngine, fresh: FaultProxy) -> None:
    with engine.http() as http:
        listed = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert "lab/smol" in listed
        response = _chat(http)
    assert response.status_code == 200, response.text
    assert response.headers["x-hearth-provider"] == "lab"
    body = response.json()
    assert body["hearth"]["provider"] == "lab"
    assert body["choices"][0]["message"]["content"]
    assert fresh.attempts() == 1
    assert fresh.seen[0].headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert UPSTREAM_KEY not in "\n".join(engine.process.log)


@pytest.mark.parametrize(
    ("faults", "attempts"),
    [(["429"], 2), (["500", "500"], 3), (["drop_before"], 2), (["stall"], 2)],
)
def test_retried_faults_then_success(
    engine: RunningEngine, fresh: FaultProxy, faults: list[str], attempts: int
) -> None:
    fresh.faults.extend(faults)
    started = time.monotonic()
    with engine.http() as http:
        response = _chat(http)
    assert response.status_code == 200, response.text
    assert fresh.attempts() == attempts
    if faults == ["429"]:
        assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured


def test_giving_up_after_the_bounded_attempts(engine: RunningEngine, fresh: FaultProxy) -> None:
    fresh.faults.extend(["500", "500", "500", "500"])
    with engine.http() as http:
        response = _chat(http)
        assert response.status_code == 502
        error = response.json()["error"]
        assert error["code"] == "remote_error"
        assert "3 attempts" in error["message"]
        fresh.faults[:] = ["stall", "stall", "stall"]
        slow = _chat(http)
    assert slow.status_code == 504
    assert slow.json()["error"]["code"] == "remote_timeout"
    assert UPSTREAM_KEY not in response.text + slow.text


def test_a_stream_broken_midway_ends_with_an_error_and_is_not_retried(
    engine: RunningEngine, fresh: FaultProxy
) -> None:
    fresh.faults.append("drop_during")
    # The upstream model cannot end its reply early: it is certainly cut midway.
    with engine.http() as http, http.stream(
        "POST", "/v1/chat/completions",
        json={"model": "lab/smol", "messages": [{"role": "user", "content": "Count to 50."}],
              "max_tokens": 60, "stream": True, "logit_bias": never_ends()},
    ) as response:  # fmt: skip
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    errors = [json.loads(line[6:]) for line in lines if '"error"' in line]
    assert errors
    assert errors[0]["error"]["code"] in ("remote_error", "remote_timeout")
    assert lines[-1] == "data: [DONE]"
    assert fresh.cut == 1
    assert fresh.attempts() == 1


def test_no_pii_on_the_wire_and_the_reply_is_restored(
    engine: RunningEngine, fresh: FaultProxy
) -> None:
    secret_text = (
        "Email jane.doe@example.org, phone +44 20 7946 0958, card 4111 1111 1111 1111, "
        "ID 11010519491231002X, server 10.1.2.3."
    )
    pii = [
        "jane.doe@example.org",
        "+44 20 7946 0958",
        "4111 1111 1111 1111",
        "11010519491231002X",
        "10.1.2.3",
    ]
    for stream in (False, True):
        fresh.faults.append("echo")
        with engine.http() as http:
            if stream:
                with http.stream(
                    "POST", "/v1/chat/completions",
                    json={"model": "lab/smol", "messages": [{"role": "user", "content": secret_text}], "stream": True},
                ) as response:  # fmt: skip
                    chunks = [
                        json.loads(x[6:]) for x in response.iter_lines() if x.startswith("data: {")
                    ]
                text = "".join(
                    c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
                )
                served = chunks[-1]["hearth"]
            else:
                body = _chat(http, secret_text).json()
                text, served = body["choices"][0]["message"]["content"], body["hearth"]
        wire = fresh.seen[-1].body.decode()
        assert not any(item in wire for item in pii), wire
        assert "[EMAIL_1]" in wire
        assert "[CARD_1]" in wire
        assert text == "You said: " + secret_text
        assert served["redactions"] == {"EMAIL": 1, "PHONE": 1, "CARD": 1, "CN_ID": 1, "IP": 1}


def test_costs_add_up_exactly(tmp_path: Path, proxy: FaultProxy) -> None:
    engine = start_engine(tmp_path)
    try:
        with engine.http() as http:
            http.put("/v1/keys/k", json={"value": UPSTREAM_KEY})
            http.post("/v1/providers", json={"name": "paid", "base_url": proxy.url + "/v1", "models": ["smol"],
                                             "key_name": "k", "price_in": PRICE_IN, "price_out": PRICE_OUT})  # fmt: skip
            expected = 0.0
            for i in range(3):
                body = http.post("/v1/chat/completions", json={
                    "model": "paid/smol", "messages": [{"role": "user", "content": f"Say {i}."}],
                    "max_tokens": 6 + i, "temperature": 0.7,
                }).json()  # fmt: skip
                u = body["usage"]
                cost = (u["prompt_tokens"] * PRICE_IN + u["completion_tokens"] * PRICE_OUT) / 1e6
                assert body["hearth"]["cost"] == pytest.approx(cost)
                expected += cost
            http.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
            )
            # Usage rows are written just after each reply: wait for all four.
            by_provider = wait_for(
                lambda: {
                    r["grp"]: r
                    for r in http.get("/v1/usage", params={"group_by": "provider"}).json()["data"]
                },
                lambda rows: "local" in rows and rows.get("paid", {}).get("requests") == 3,
                what="the four usage rows",
            )
        assert by_provider["paid"]["cost"] == pytest.approx(expected)
        assert by_provider["paid"]["requests"] == 3
        assert by_provider["local"]["cost"] is None
        assert by_provider["local"]["completion_tokens"] > 0
    finally:
        engine.process.stop()


def test_cache_answers_without_a_second_upstream_call(
    engine: RunningEngine, fresh: FaultProxy
) -> None:
    ask = {"temperature": 0, "seed": 7}
    with engine.http() as http:
        first = _chat(http, "Name a colour.", **ask).json()
        second = _chat(http, "Name a colour.", **ask).json()
    assert fresh.attempts() == 1
    assert second["hearth"]["cached"] is True
    assert second["hearth"]["provider"] == "cache"
    assert second["choices"][0]["message"]["content"] == first["choices"][0]["message"]["content"]
    assert second["hearth"]["cost"] == 0


def test_routing_policies_and_fallback_reasons(engine: RunningEngine, fresh: FaultProxy) -> None:
    with engine.http() as http:
        local = http.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
        )
        assert local.headers["x-hearth-provider"] == "local"
        assert fresh.attempts() == 0  # local_only by default: nothing left the device
        fallback = http.post("/v1/chat/completions", json={
            "model": "not-installed-here", "route": "local_first",
            "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
        }).json()  # fmt: skip
        assert fallback["hearth"]["provider"] == "lab"
        assert fallback["hearth"]["fallback_reason"] == "the local model is not installed"
        fresh.faults.extend(["500", "500", "500"])
        back = http.post("/v1/chat/completions", json={
            "route": "remote_first", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
        }).json()  # fmt: skip
        assert back["hearth"]["provider"] == "local"
        assert back["hearth"]["fallback_reason"].startswith("the remote provider failed")


def test_budget_refuses_with_402_and_offers_local(tmp_path: Path, proxy: FaultProxy) -> None:
    engine = start_engine(tmp_path)
    try:
        with engine.http() as http:
            http.put("/v1/keys/k", json={"value": UPSTREAM_KEY})
            http.post("/v1/providers", json={"name": "capped", "base_url": proxy.url + "/v1", "models": ["smol"],
                                             "key_name": "k", "price_in": PRICE_IN, "price_out": PRICE_OUT,
                                             "monthly_budget": 0.000001})  # fmt: skip
            ask = {
                "model": "capped/smol",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 3,
            }
            assert http.post("/v1/chat/completions", json=ask).status_code == 200
            wait_for(
                lambda: http.get("/v1/usage", params={"group_by": "provider"}).json()["data"],
                lambda rows: any(r["grp"] == "capped" for r in rows),
                what="the first request's cost to be counted",
            )
            refused = http.post("/v1/chat/completions", json=ask)
        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert "local model" in refused.json()["error"]["message"]
    finally:
        engine.process.stop()


def test_providers_api_presets_test_and_cli(engine: RunningEngine, fresh: FaultProxy) -> None:
    with engine.http() as http:
        presets = {p["name"] for p in http.get("/v1/providers/presets").json()["data"]}
        assert {
            "openai",
            "deepseek",
            "qwen",
            "moonshot",
            "groq",
            "openrouter",
            "self-hosted",
        } <= presets
        made = http.post(
            "/v1/providers", json={"name": "ds", "preset": "deepseek", "key_name": "ds-key"}
        ).json()
        assert made["base_url"] == "https://api.deepseek.com/v1"
        assert made["models"] == ["deepseek-chat"]
        assert http.post("/v1/providers/lab/test").json()["models"] == ["smol"]
        assert http.delete("/v1/providers/ds").status_code == 200
        assert http.delete("/v1/providers/ds").status_code == 404
        assert http.post("/v1/providers", json={"name": "x", "preset": "nope"}).status_code == 400
    listed = subprocess.run([sys.executable, "-m", "app.cli", "providers", "list"], env=engine_env(engine.home),
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "lab" in listed.stdout


def test_metrics_in_prometheus_format(engine: RunningEngine) -> None:
    with engine.http() as http:
        _chat(http, "hello metrics")
        text = http.get("/metrics").text
    assert 'hearth_requests_total{route="/v1/chat/completions",status="200"}' in text
    assert "hearth_request_seconds_bucket" in text
    assert 'hearth_tokens_total{kind="completion",provider="lab"}' in text
    assert "hearth_loaded_models" in text


def test_batch_of_twenty_through_the_openai_sdk(
    engine: RunningEngine, fresh: FaultProxy, tmp_path: Path
) -> None:
    import openai

    lines = []
    for i in range(20):
        model = "lab/smol" if i % 2 else "smollm2-135m-instruct"  # remote and local in one batch
        body = {
            "model": model,
            "messages": [{"role": "user", "content": f"Say the number {i}."}],
            "max_tokens": 6,
        }
        lines.append(
            json.dumps(
                {
                    "custom_id": f"req-{i:02d}",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": body,
                }
            )
        )
    lines.append(json.dumps({"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions",
                             "body": {"messages": [], "model": "x"}}))  # fmt: skip
    source = tmp_path / "batch.jsonl"
    source.write_text("\n".join(lines) + "\n")
    client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
    uploaded = client.files.create(file=source.open("rb"), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status in ("validating", "in_progress")
    deadline = time.monotonic() + 240
    while batch.status not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed", batch.errors
    assert batch.request_counts is not None
    assert (
        batch.request_counts.total,
        batch.request_counts.completed,
        batch.request_counts.failed,
    ) == (21, 20, 1)
    assert batch.output_file_id is not None
    results = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
    assert [r["custom_id"] for r in results] == [f"req-{i:02d}" for i in range(20)] + ["bad"]
    providers = [r["response"]["body"]["hearth"]["provider"] for r in results[:20]]
    assert providers == ["local", "lab"] * 10
    assert results[-1]["error"]["code"] == "invalid_value"
    assert fresh.attempts() == 10
    client.close()


def test_bad_batch_files_are_refused(engine: RunningEngine) -> None:
    with engine.http() as http:
        bad = http.post(
            "/v1/files", files={"file": ("b.jsonl", b"not json\n")}, data={"purpose": "batch"}
        )
        assert bad.status_code == 400
        missing = http.post(
            "/v1/batches",
            json={"input_file_id": "file-" + "0" * 32, "endpoint": "/v1/chat/completions"},
        )
        assert missing.status_code == 404


def test_remote_replies_get_the_same_moderation(tmp_path: Path, proxy: FaultProxy) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "b.toml").write_text('name = "banned"\naction = "block"\nwords = ["zorblax"]\n')
    (lists / "m.toml").write_text('name = "masked"\naction = "mask"\nwords = ["said"]\n')
    engine = start_engine(
        tmp_path / "home", moderation_lists=[str(p) for p in sorted(lists.glob("*.toml"))]
    )
    proxy.faults.clear()
    proxy.seen.clear()
    try:
        with engine.http() as http:
            http.post(
                "/v1/providers",
                json={"name": "lab", "base_url": proxy.url + "/v1", "models": ["smol"]},
            )
            blocked = http.post("/v1/chat/completions", json={
                "model": "lab/smol", "messages": [{"role": "user", "content": "tell me about zorblax"}],
            })  # fmt: skip
            assert blocked.status_code == 400
            assert blocked.json()["error"]["code"] == "content_filter"
            assert proxy.attempts() == 0  # refused before anything left the device
            proxy.faults.append("echo")
            reply = http.post("/v1/chat/completions", json={
                "model": "lab/smol", "messages": [{"role": "user", "content": "hello there"}],
            }).json()  # fmt: skip
        assert reply["choices"][0]["message"]["content"] == "You ****: hello there"
    finally:
        engine.process.stop()


def test_tools_reach_the_provider_unchanged_and_the_text_redacted(
    engine: RunningEngine, fresh: FaultProxy
) -> None:
    """Routing works with tools: llama-cpp-python's server gets them (and earlier calls and
    results) as sent, while the personal data in the text parts is redacted on the way."""
    tools = [{"type": "function", "function": {
        "name": "send_mail", "description": "Send an email.",
        "parameters": {"type": "object", "properties": {"to": {"type": "string"}},
                       "required": ["to"]}}}]  # fmt: skip
    earlier = {"id": "call_1", "type": "function",
               "function": {"name": "send_mail", "arguments": '{"to": "bob"}'}}  # fmt: skip
    messages = [
        {"role": "user", "content": "Mail jane.roe@example.com about lunch."},
        {"role": "assistant", "content": None, "tool_calls": [earlier]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sent to jane.roe@example.com"},
    ]
    with engine.http() as http:
        reply = http.post("/v1/chat/completions", json={
            "model": "lab/smol", "messages": messages, "tools": tools, "tool_choice": "auto",
            "max_tokens": 8,
        })  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert reply.json()["hearth"]["provider"] == "lab"
    sent = json.loads(fresh.seen[-1].body)
    assert sent["tools"] == tools
    assert sent["tool_choice"] == "auto"
    assert sent["messages"][1]["tool_calls"] == [earlier]
    assert sent["messages"][2]["tool_call_id"] == "call_1"
    assert "jane.roe@example.com" not in fresh.seen[-1].body.decode()
