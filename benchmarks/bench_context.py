"""Prompt-cache reuse in stored conversations, and search over 100,000 messages.

1. Time to first token of the next turn in a conversation holding about 1,800 tokens of
   history: cold (nothing evaluated yet), warm (the turn right after), and warm after switching
   to another long conversation and back. Target: warm at most 0.25 of cold in both cases.
2. Conversation search (title and message text, trigram FTS5) over 100,000 stored messages.

    .venv/bin/python benchmarks/bench_context.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.engine_run import start_engine
from benchmarks.report import emit
from engine.memory.conversations import ConversationStore
from engine.memory.database import Database
from engine.schemas import ConversationCreate

WORDS = [
    "river",
    "mountain",
    "harbour",
    "lantern",
    "orchard",
    "meadow",
    "violin",
    "window",
    "garden",
    "coffee",
    "market",
    "winter",
    "summer",
    "station",
    "letter",
    "bridge",
    "island",
    "candle",
    "forest",
    "signal",
    "engine",
    "copper",
    "silver",
    "thunder",
]


def history(seed: int, turns: int = 24) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": " ".join(rng.choice(WORDS) for _ in range(60)) + ".",
        }
        for i in range(turns)
    ]


def first_token_ms(client: httpx.Client, conv_id: str, text: str) -> tuple[float, int]:
    body = {"content": text, "stream": True, "max_tokens": 8, "temperature": 0}
    started = time.perf_counter()
    prompt_tokens = 0
    first = None
    with client.stream("POST", f"/v1/conversations/{conv_id}/messages", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("context"):
                prompt_tokens = chunk["context"]["prompt_tokens"]
            if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter()
    assert first is not None
    return (first - started) * 1000, prompt_tokens


def cache_figures(rounds: int) -> list[str]:
    engine, url, token = start_engine()
    cold: list[float] = []
    warm: list[float] = []
    switched: list[float] = []
    tokens = 0
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300
        ) as c:

            def new_conversation(seed: int) -> str:
                return str(
                    c.post("/v1/conversations", json={"messages": history(seed)}).json()["id"]
                )

            first_token_ms(c, new_conversation(999), "Hello.")  # load the model
            for r in range(rounds):
                a, b = new_conversation(2 * r), new_conversation(2 * r + 1)
                ms, tokens = first_token_ms(c, a, "What did we talk about?")
                cold.append(ms)
                warm.append(first_token_ms(c, a, "Tell me more.")[0])
                first_token_ms(c, b, "What did we talk about?")
                switched.append(first_token_ms(c, a, "And after that?")[0])
    finally:
        engine.stop()
    t_cold, t_warm, t_switch = (statistics.median(x) for x in (cold, warm, switched))
    return [
        f"conversation history: {tokens} prompt tokens, SmolLM2-135M Q4_1, {rounds} rounds",
        f"first token, cold: {t_cold:.0f} ms; warm: {t_warm:.0f} ms; "
        f"warm after switching away and back: {t_switch:.0f} ms",
        f"warm / cold: {t_warm / t_cold:.3f}   (target <= 0.25)",
        f"switched-back / cold: {t_switch / t_cold:.3f}   (target <= 0.25)",
    ]


def search_figures(messages: int = 100_000) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="hearth-bench-db-"))
    db = Database(folder / "h.sqlite3")
    store = ConversationStore(db)
    rng = random.Random(7)
    started = time.perf_counter()
    per_conversation = 100
    for n in range(messages // per_conversation):
        turns = [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": " ".join(rng.choice(WORDS) for _ in range(20)),
            }
            for i in range(per_conversation)
        ]
        if n == 500:
            turns[3]["content"] += " the zeppelin landed on the pier"
        store.create(ConversationCreate.model_validate({"title": f"chat {n}", "messages": turns}))
    filled = time.perf_counter() - started
    timings: dict[str, float] = {}
    for query in ("zeppelin", "harbour lantern", "chat 77", "no such phrase here"):
        runs = []
        for _ in range(7):
            t = time.perf_counter()
            store.find(query, limit=50)
            runs.append((time.perf_counter() - t) * 1000)
        timings[query] = statistics.median(runs)
    db.close()
    shown = ", ".join(f"'{q}' {ms:.1f} ms" for q, ms in timings.items())
    return [
        f"search over {messages:,} messages in {messages // per_conversation:,} conversations "
        f"(filled in {filled:.0f} s): {shown}   (target: well under 50 ms)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--section", type=Path, help="also write a Markdown section here")
    args = parser.parse_args()
    lines = cache_figures(args.rounds) + search_figures()
    emit("Conversations: prompt-cache reuse and search", lines, args.section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
