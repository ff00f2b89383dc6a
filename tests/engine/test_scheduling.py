"""Cancellation, FIFO service, concurrency and the bounded queue, on real engines."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import RunningEngine, start_engine
from tests.model_tokens import never_ends
from tests.waiting import wait_for

LONG = {"messages": [{"role": "user", "content": "Write a very long essay about the sea."}]}


def _first_token_seconds(client: httpx.Client, body: dict[str, object]) -> float:
    started = time.monotonic()
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content":"' in line and '"content":""' not in line:
                return time.monotonic() - started
    raise AssertionError("no token arrived")


def test_closed_stream_frees_the_model_at_once(http: httpx.Client) -> None:
    # A 1500-token reply (certain: the model cannot end it) takes over ten seconds here;
    # closing after a few tokens must stop it.
    body = {**LONG, "max_tokens": 1500, "temperature": 0.7, "stream": True}
    body["logit_bias"] = never_ends()
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        for n, _line in enumerate(response.iter_lines()):
            if n > 10:
                break
    closed = time.monotonic()
    with httpx.Client(base_url=str(http.base_url), headers=dict(http.headers), timeout=60) as other:
        first = _first_token_seconds(other, {**LONG, "max_tokens": 5})
    # Without cancellation the next request would wait for the whole 1500 tokens.
    assert time.monotonic() - closed < 3.0, f"next first token after {first:.2f}s"


def test_eight_concurrent_streams_complete_with_correct_output(
    engine_server: RunningEngine,
) -> None:
    prompts = [f"Count from {i} to {i + 5}, comma separated." for i in range(1, 9)]

    def ask(prompt: str, stream: bool) -> str:
        body = {
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 25,
            "temperature": 0,
            "stream": stream,
        }
        with engine_server.http() as client:
            if not stream:
                reply = client.post("/v1/chat/completions", json=body).json()
                return str(reply["choices"][0]["message"]["content"])
            text = ""
            with client.stream("POST", "/v1/chat/completions", json=body) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line.startswith("data: {"):
                        chunk = json.loads(line[6:])
                        if chunk["choices"]:
                            text += chunk["choices"][0]["delta"].get("content") or ""
            return text

    expected = [ask(p, stream=False) for p in prompts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda p: ask(p, stream=True), prompts))
    assert got == expected
    assert all(text.strip() for text in got)


def test_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, max_queue=2, retry_after_seconds=3)
    short = {**LONG, "max_tokens": 2}
    try:
        with engine.http() as holder, engine.http() as waiter, engine.http() as third:
            body = {**LONG, "max_tokens": 1500, "stream": True, "logit_bias": never_ends()}
            with holder.stream("POST", "/v1/chat/completions", json=body) as running:
                assert running.status_code == 200  # this one holds the model
                with ThreadPoolExecutor(max_workers=1) as pool:
                    queued = pool.submit(waiter.post, "/v1/chat/completions", json=short)
                    wait_for(  # it has taken the second place in the queue
                        lambda: third.get("/metrics").text,
                        lambda text: (
                            'hearth_queue_depth{model="smollm2-135m-instruct"} 2.0' in text
                        ),
                        what="the second request to queue",
                    )
                    busy = third.post("/v1/chat/completions", json=short)
                    assert busy.status_code == 429
                    assert busy.headers["retry-after"] == "3"
                    assert busy.json()["error"]["type"] == "rate_limit_error"
                    running.close()  # the holder leaves; the queued request gets its turn
                    assert queued.result(timeout=60).status_code == 200
            assert third.post("/v1/chat/completions", json=short).status_code == 200
    finally:
        engine.process.stop()


def test_requests_for_one_model_are_served_in_arrival_order(engine_server: RunningEngine) -> None:
    finished: list[int] = []
    lock = threading.Lock()

    def ask(i: int) -> None:
        with engine_server.http() as client:
            response = client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": f"Say {i}"}], "max_tokens": 8},
            )
        assert response.status_code == 200
        with lock:
            finished.append(i)

    threads = []
    for i in range(4):
        thread = threading.Thread(target=ask, args=(i,))
        thread.start()
        threads.append(thread)
        time.sleep(0.15)  # stagger arrivals well beyond scheduling noise
    for thread in threads:
        thread.join(timeout=120)
    assert finished == [0, 1, 2, 3]
