"""The serving core on the real model, over HTTP and through the official openai SDK: many
requests decoded together, a request joining at once, long prompts read between the others'
tokens, hang-ups, a full queue, JSON under load, drafts that change nothing, and a soak."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from engine.settings import default_embedded_dir
from tests.conftest import DEFAULT_MODEL, RunningEngine, start_engine
from tests.model_tokens import never_ends
from tests.waiting import wait_for

ENDLESS = {"logit_bias": never_ends()}  # the model cannot end its reply: the length is certain


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _serving(http: httpx.Client) -> dict[str, float]:
    return http.get("/health").json()["serving"].get(DEFAULT_MODEL, {})  # type: ignore[no-any-return]


class Stream:
    """A streamed chat read on its own thread: when each piece of text arrived."""

    def __init__(self, engine: RunningEngine, body: dict[str, object]) -> None:
        self.engine, self.body = engine, {**body, "stream": True}
        self.arrivals: list[float] = []
        self.text = ""
        self.finish: str | None = None
        self.hang_up = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with (
            self.engine.http() as http,
            http.stream("POST", "/v1/chat/completions", json=self.body) as response,
        ):
            assert response.status_code == 200, response.read()
            for line in response.iter_lines():
                if self.hang_up.is_set():
                    return
                if not line.startswith("data: {"):
                    continue
                choice = (json.loads(line[6:])["choices"] or [{}])[0]
                if choice.get("delta", {}).get("content"):
                    self.arrivals.append(time.monotonic())
                    self.text += choice["delta"]["content"]
                self.finish = choice.get("finish_reason") or self.finish

    def done(self, timeout: float = 300) -> Stream:
        self.thread.join(timeout)
        return self


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """Four slots, as the default sizing gives this machine; a queue of sixteen."""
    running = start_engine(tmp_path_factory.mktemp("serving"), parallel=4)
    yield running
    running.process.stop()


def test_eight_concurrent_streams_through_the_sdk_all_complete(engine: RunningEngine) -> None:
    sdk = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)

    def ask(i: int) -> tuple[str, str | None, int]:
        stream = sdk.chat.completions.create(
            model=DEFAULT_MODEL, messages=_user(f"Count from {i} to {i + 9}."), temperature=0,
            max_tokens=40, stream=True, stream_options={"include_usage": True},
            extra_body=ENDLESS,
        )  # fmt: skip
        text, finish, tokens = "", None, 0
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
        return text, finish, tokens

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(ask, range(8)))
    sdk.close()
    assert all(text for text, _f, _t in replies)
    assert [(finish, tokens) for _text, finish, tokens in replies] == [("length", 40)] * 8


def _greedy(engine: RunningEngine, text: str) -> str:
    with engine.http() as http:
        body = http.post("/v1/chat/completions", json={
            "messages": _user(text), "temperature": 0, "max_tokens": 64, **ENDLESS,
        }).json()  # fmt: skip
    return str(body["choices"][0]["message"]["content"])


def test_each_reply_decoded_with_others_equals_its_reply_alone(engine: RunningEngine) -> None:
    """Each slot has a KV stream of its own, so a sequence's arithmetic never sees the others'
    cells: eight greedy replies decoded together are exactly what each prompt gets alone
    (with one shared pool they were not; BENCHMARKS.md has the measurement)."""
    prompts = [f"Write a short story about a {animal}." for animal in
               ("cat", "dog", "fox", "owl", "bee", "ant", "elk", "yak")]  # fmt: skip
    alone = [_greedy(engine, p) for p in prompts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda p: _greedy(engine, p), prompts))
    assert together == alone
    assert len(set(alone)) == 8


def test_a_conversation_pushed_out_of_its_slot_comes_back_from_ram(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, parallel=1)  # one slot: any other request pushes it out
    history = _user(" ".join(f"Note {i}: the meeting moved to room {i + 3}." for i in range(40)))
    try:
        with engine.http() as http:

            def ask(messages: list[dict[str, str]]) -> dict[str, object]:
                body = {"messages": messages, "temperature": 0, "max_tokens": 8}
                return http.post("/v1/chat/completions", json=body).json()  # type: ignore[no-any-return]

            cold = ask(history)
            ask(_user("Something else entirely."))  # takes the slot
            kept = _serving(http)["state_cache_used_bytes"]
            back = ask(history)
    finally:
        engine.process.stop()
    assert back["usage"]["prompt_tokens_details"]["cached_tokens"] > 300  # type: ignore[index]
    assert cold["usage"]["prompt_tokens_details"]["cached_tokens"] < 50  # type: ignore[index]
    assert back["choices"] == cold["choices"]  # restored, not approximated
    assert kept > 0  # it was in the RAM cache while the other request held the slot


def test_a_request_joins_while_others_stream(engine: RunningEngine) -> None:
    running = [Stream(engine, {"messages": _user(f"Story {i}"), "max_tokens": 300, **ENDLESS})
               for i in range(3)]  # fmt: skip
    wait_for(lambda: all(s.arrivals for s in running), what="three streams to start")
    joined = Stream(engine, {"messages": _user("Say hi"), "max_tokens": 5}).done()
    assert joined.finish in ("stop", "length")
    # It was served while the three were still streaming, not after them.
    assert all(s.finish is None for s in running)
    for stream in running:
        stream.done()
    assert [s.finish for s in running] == ["length"] * 3


def test_a_long_prompt_is_read_while_the_others_keep_streaming(engine: RunningEngine) -> None:
    running = [Stream(engine, {"messages": _user(f"Poem {i}"), "max_tokens": 600, **ENDLESS})
               for i in range(3)]  # fmt: skip
    wait_for(lambda: all(s.arrivals for s in running), what="three streams to start")
    long_text = " ".join(f"Line {i} of the report says the numbers went up." for i in range(180))
    sent = time.monotonic()
    long = Stream(engine, {"messages": _user(long_text), "max_tokens": 3})
    wait_for(lambda: bool(long.arrivals) or long.finish is not None, timeout=300,
             what="the long prompt's first token")  # fmt: skip
    first = long.arrivals[0] if long.arrivals else time.monotonic()
    for stream in running:
        stream.hang_up.set()
    # It took seconds to read; meanwhile no running stream waited long for its next token
    # (read in one piece, the whole prompt would have been one pause).
    window = first - sent
    assert window > 1.0
    pauses = []
    for stream in running:
        times = [sent, *(t for t in stream.arrivals if sent < t < first), first]
        pauses.append(max(b - a for a, b in itertools.pairwise(times)))
    assert max(pauses) < window / 4, (window, pauses)


def test_a_client_that_hangs_up_frees_its_slot_at_once(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, parallel=1)  # one slot: the next request needs this one
    try:
        hung = Stream(engine, {"messages": _user("Essay"), "max_tokens": 2000, **ENDLESS})
        wait_for(lambda: len(hung.arrivals) > 5, what="the stream to get going")
        hung.hang_up.set()
        hung.done()
        with engine.http() as http:
            wait_for(lambda: _serving(http)["slots_busy"] == 0, timeout=10,
                     what="the slot to be free")  # fmt: skip
            started = time.monotonic()
            reply = http.post(
                "/v1/chat/completions", json={"messages": _user("hi"), "max_tokens": 2}
            )
            assert reply.status_code == 200
        # The 2000-token reply would take over twenty seconds; it stopped at the hang-up.
        assert time.monotonic() - started < 10
    finally:
        engine.process.stop()


def test_beyond_the_slots_requests_wait_in_arrival_order_and_a_full_queue_is_429(
    tmp_path: Path,
) -> None:
    engine = start_engine(tmp_path, parallel=1, max_queue=4, retry_after_seconds=3)
    finished: list[int] = []
    try:
        holder = Stream(engine, {"messages": _user("Essay"), "max_tokens": 60, **ENDLESS})
        wait_for(lambda: bool(holder.arrivals), what="the slot to be taken")
        with engine.http() as probe:
            threads = []
            for i in range(3):

                def ask(i: int = i) -> None:
                    with engine.http() as http:
                        body = {"messages": _user(f"Say {i}"), "max_tokens": 4}
                        assert http.post("/v1/chat/completions", json=body).status_code == 200
                    finished.append(i)

                threads.append(threading.Thread(target=ask))
                threads[-1].start()
                wait_for(lambda i=i: _serving(probe)["waiting"] == i + 1, what="its queue place")
            busy = probe.post(
                "/v1/chat/completions", json={"messages": _user("x"), "max_tokens": 2}
            )
            assert busy.status_code == 429
            assert busy.headers["retry-after"] == "3"
            assert busy.json()["error"]["type"] == "rate_limit_error"
            for thread in threads:
                thread.join(120)
        holder.done()
    finally:
        engine.process.stop()
    assert finished == [0, 1, 2]


def test_json_schema_replies_validate_under_load(engine: RunningEngine) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 20},
                       "population": {"type": "integer"}},
        "required": ["city", "population"],
    }  # fmt: skip

    def ask(i: int) -> dict[str, object]:
        with engine.http() as http:
            body = http.post("/v1/chat/completions", json={
                "messages": _user(f"Give city number {i} of France as JSON."), "temperature": 0.8,
                "max_tokens": 120, "seed": i,
                "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
            }).json()  # fmt: skip
        assert body["choices"][0]["finish_reason"] == "stop", body
        return json.loads(body["choices"][0]["message"]["content"])  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=6) as pool:
        for data in pool.map(ask, range(6)):
            assert isinstance(data["city"], str)
            assert isinstance(data["population"], int)


def test_prompt_lookup_drafts_change_nothing_in_the_output(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, parallel=1)
    paragraph = (
        "The quarterly report shows that revenue grew by twelve percent, driven by strong sales "
        "in the northern region, while costs stayed flat because the new warehouse opened on "
        "time and under budget."
    )
    ask = {"messages": _user(f"Repeat this paragraph exactly:\n\n{paragraph}"), "temperature": 0,
           "max_tokens": 80}  # fmt: skip
    try:
        with engine.http() as http:
            plain = http.post("/v1/chat/completions", json={**ask, "speculative": False}).json()
            before = _serving(http)
            drafted = http.post("/v1/chat/completions", json=ask).json()
            after = _serving(http)
    finally:
        engine.process.stop()
    assert after["drafted_accepted"] - before["drafted_accepted"] > 10  # it did guess, and right
    assert drafted["choices"][0]["message"] == plain["choices"][0]["message"]
    assert drafted["usage"]["completion_tokens"] == plain["usage"]["completion_tokens"]


def test_a_soak_of_mixed_clients_with_hang_ups(tmp_path: Path) -> None:
    """Eight clients for a minute and a half: streams (a third hung up midway), whole replies,
    conversation turns. No errors, and the engine's memory stays within its caches."""
    cache = 64 * 1024 * 1024
    lines: list[str] = []
    engine = start_engine(tmp_path, parallel=4, prompt_cache_bytes=cache, _log_to=lines)
    pid = engine.process.process.pid  # type: ignore[union-attr]
    errors: list[str] = []
    rss: list[int] = []
    stop = time.monotonic() + 90

    def client(n: int) -> None:
        rng = random.Random(n)
        with engine.http() as http:
            conv = http.post("/v1/conversations", json={}).json()["id"]
            while time.monotonic() < stop:
                kind = rng.choice(["stream", "stream", "whole", "turn"])
                body = {"messages": _user(f"Tell me about topic {rng.randint(0, 99)}."),
                        "max_tokens": rng.randint(8, 48)}  # fmt: skip
                try:
                    if kind == "stream":
                        with http.stream("POST", "/v1/chat/completions",
                                         json={**body, "stream": True}) as response:  # fmt: skip
                            assert response.status_code == 200
                            for i, _line in enumerate(response.iter_lines()):
                                if n % 3 == 0 and i > 4:
                                    break  # a third of the clients hang up midway
                    elif kind == "whole":
                        reply = http.post("/v1/chat/completions", json=body)
                        assert reply.status_code == 200, reply.text
                    else:
                        turn = http.post(f"/v1/conversations/{conv}/messages",
                                         json={"content": "And then?", "max_tokens": 16})  # fmt: skip
                        assert turn.status_code == 200, turn.text
                except (AssertionError, httpx.HTTPError) as exc:
                    errors.append(f"{kind}: {exc}")

    def watch() -> None:
        status = Path(f"/proc/{pid}/status")
        while time.monotonic() < stop:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss.append(int(line.split()[1]) * 1024)
            time.sleep(1)

    try:
        # Load the models first, so that the baseline includes them: the chat model, and the
        # embedding model a conversation turn recalls memories with (loaded mid-soak, it was
        # counted as growth when it came after the baseline's sample).
        with engine.http() as http:
            http.post("/v1/chat/completions", json={"messages": _user("hi"), "max_tokens": 2})
            conv = http.post("/v1/conversations", json={}).json()["id"]
            turn = http.post(f"/v1/conversations/{conv}/messages",
                             json={"content": "Hello", "max_tokens": 2})  # fmt: skip
            assert turn.status_code == 200, turn.text
        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(client, range(8)))
        watcher.join()
        with engine.http() as http:
            serving = _serving(http)
    finally:
        engine.process.stop()
    assert errors == [], "\n".join(line for line in lines if "ERROR" in line)
    assert serving["state_cache_used_bytes"] <= cache
    baseline = rss[2]
    # Past the first seconds, growth is bounded by the RAM cache (the KV cache is allocated
    # when the model loads) plus the allocator's slack.
    assert max(rss) - baseline < cache + 200 * 1024 * 1024, (baseline, max(rss))


def test_a_draft_model_drafts_and_changes_nothing_in_the_output(tmp_path: Path) -> None:
    """A copy of the model drafts for it (a real setup pairs a small model with a big one of
    the same family): nearly every guess is right, and the reply is the same."""
    home = tmp_path / "home"
    models = home / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf", models / "drafter.gguf")
    engine = start_engine(
        home, parallel=1, model_options={DEFAULT_MODEL: {"draft_model": "drafter"}}
    )
    ask = {"messages": _user("Write a short story about a lighthouse."), "temperature": 0,
           "max_tokens": 60}  # fmt: skip
    try:
        with engine.http() as http:
            plain = http.post("/v1/chat/completions", json={**ask, "speculative": False}).json()
            drafted = http.post("/v1/chat/completions", json=ask).json()
            state = _serving(http)
    finally:
        engine.process.stop()
    assert drafted["choices"][0]["message"] == plain["choices"][0]["message"]
    assert state["drafted_tokens"] > 20
    assert state["drafted_accepted"] / state["drafted_tokens"] > 0.9
