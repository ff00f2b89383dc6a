"""What each API dialect costs over Chat Completions: the same prompt, streamed through OpenAI's
Chat Completions and Responses, Anthropic's Messages and Ollama's chat, on one engine, the
dialects taking turns run after run so that the machine's noise falls on all of them alike.

Measured on the wire with plain HTTP (no SDK's parsing in the figures): time to the first text
and tokens per second after it (the reply's tokens over the time from its first text to its
end). The target is within 2% of Chat Completions.

    .venv/bin/python benchmarks/bench_dialects.py [--runs 15] [--tokens 128]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.engine_run import start_engine
from benchmarks.report import emit

MODEL = "smollm2-135m-instruct"
ASK = "Write a long story about a dragon who learns to cook."


def _sse_text(line: str, pick: Callable[[dict[str, Any]], str | None]) -> str | None:
    if not line.startswith("data: ") or line == "data: [DONE]":
        return None
    return pick(json.loads(line[6:]))


def _chat(d: dict[str, Any]) -> str | None:
    choices = d.get("choices") or [{}]
    return choices[0].get("delta", {}).get("content")


def _responses(d: dict[str, Any]) -> str | None:
    return d.get("delta") if d.get("type") == "response.output_text.delta" else None


def _anthropic(d: dict[str, Any]) -> str | None:
    return d.get("delta", {}).get("text") if d.get("type") == "content_block_delta" else None


DIALECTS: dict[str, tuple[str, Callable[[int], dict[str, Any]], Callable[[str], str | None]]] = {
    "chat completions": (
        "/v1/chat/completions",
        lambda n: {"model": MODEL, "messages": [{"role": "user", "content": ASK}],
                   "max_tokens": n, "temperature": 0, "stream": True},
        lambda line: _sse_text(line, _chat),
    ),
    "responses": (
        "/v1/responses",
        lambda n: {"model": MODEL, "input": ASK, "max_output_tokens": n, "temperature": 0,
                   "stream": True},
        lambda line: _sse_text(line, _responses),
    ),
    "anthropic messages": (
        "/v1/messages",
        lambda n: {"model": MODEL, "messages": [{"role": "user", "content": ASK}],
                   "max_tokens": n, "temperature": 0, "stream": True},
        lambda line: _sse_text(line, _anthropic),
    ),
    "ollama chat": (
        "/api/chat",
        lambda n: {"model": MODEL, "messages": [{"role": "user", "content": ASK}],
                   "options": {"num_predict": n, "temperature": 0}, "stream": True},
        lambda line: json.loads(line).get("message", {}).get("content") or None if line else None,
    ),
}  # fmt: skip


def run_once(http: httpx.Client, dialect: str, tokens: int) -> tuple[float, float, int]:
    """(seconds to the first text, seconds from it to the last, text pieces). The last text,
    not the stream's end: what follows it (usage, stored state) is each dialect's own."""
    path, body, text_of = DIALECTS[dialect]
    started = time.perf_counter()
    first = last = None
    pieces = 0
    with http.stream("POST", path, json=body(tokens)) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if text_of(line):
                pieces += 1
                last = time.perf_counter()
                first = first or last
    if first is None or last is None:
        raise RuntimeError(f"{dialect}: no text came")
    return first - started, last - first, pieces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--section", type=Path)
    args = parser.parse_args()
    engine, url, token = start_engine()
    first: dict[str, list[float]] = {d: [] for d in DIALECTS}
    rate: dict[str, list[float]] = {d: [] for d in DIALECTS}
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            # The reply's length, once (the same prompt at temperature 0 in every dialect).
            reply = http.post("/v1/chat/completions", json={**DIALECTS["chat completions"][1](
                args.tokens), "stream": False}).json()  # fmt: skip
            made = reply["usage"]["completion_tokens"]
            for dialect in DIALECTS:  # warm each path once
                run_once(http, dialect, args.tokens)
            for _ in range(args.runs):
                for dialect in DIALECTS:
                    ttft, rest, _pieces = run_once(http, dialect, args.tokens)
                    first[dialect].append(ttft)
                    rate[dialect].append((made - 1) / rest)
    finally:
        engine.stop()
    base_first = statistics.median(first["chat completions"])
    base_rate = statistics.median(rate["chat completions"])
    lines = [f"SmolLM2-135M Q4_1, one client, {made} tokens per reply, {args.runs} runs per "
             "dialect taking turns; medians, and the ratio to Chat Completions"]  # fmt: skip
    for dialect in DIALECTS:
        f, r = statistics.median(first[dialect]), statistics.median(rate[dialect])
        lines.append(f"{dialect}: first text {f * 1000:.1f} ms ({f / base_first:.3f}), "
                     f"{r:.1f} tokens/s ({r / base_rate:.3f})")  # fmt: skip
    emit("API dialects", lines, args.section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
