"""The serving core against llama.cpp's own `llama-server` (same model, threads, slots and
shared KV cache), measured in one run: one stream, 4 and 8 clients at once, a long prompt
arriving while three replies stream, prompt-lookup drafts on an edit task, and the memory that
four slots take against one. Replies to the two servers cannot end early (a logit bias on the
end tokens), so both generate the same number of tokens; the edit ends where the model ends it.
Also draws docs/bench/serving.png.

    .venv/bin/python benchmarks/bench_serving.py [--rounds 9] [--bursts 25] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import itertools

from test_models import QWEN, default_folder, install

from benchmarks.bench_chat import free_port, peak_rss_mib, start_peer
from benchmarks.engine_run import start_engine
from benchmarks.plot import bar_panels
from benchmarks.report import emit
from engine.backends.llama_batch import LoadOptions
from engine.serving.sizing import physical_cores
from engine.settings import default_embedded_dir
from tests.model_tokens import end_token_ids

ROOT = Path(__file__).resolve().parent.parent
MODEL = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 4096
NEVER_ENDS = {str(t): -100 for t in end_token_ids()}
PARAGRAPH = (
    "Our team met on Monday to review the spring release. The new search page loads in under a "
    "second, the export button now works for large projects, and the settings screen finally "
    "remembers the chosen language. Two bugs remain open: the calendar shows the wrong week in "
    "some time zones, and printing a report with images sometimes leaves blank pages. We agreed "
    "to fix both before the release on the twelfth, and to write the release notes together."
)


@dataclass
class Reply:
    sent: float
    arrivals: list[float] = field(default_factory=list)
    tokens: int = 0

    @property
    def first_token(self) -> float:
        return self.arrivals[0] - self.sent

    def longest_gap(self, start: float, end: float) -> float:
        times = [start, *(t for t in self.arrivals if start < t < end), end]
        return max(b - a for a, b in itertools.pairwise(times))


class Server:
    def __init__(self, name: str, url: str, token: str | None) -> None:
        self.name, self.url = name, url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=600)

    def stream(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        hang_up: threading.Event | None = None,
        **extra: object,
    ) -> Reply:
        body = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
            "logit_bias": NEVER_ENDS,
            **extra,
        }
        reply = Reply(sent=time.monotonic())
        with self.http.stream("POST", "/v1/chat/completions", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: {"):
                    continue
                if hang_up is not None and hang_up.is_set():
                    break
                chunk = json.loads(line[6:])
                choices = chunk.get("choices") or []
                if choices and (choices[0].get("delta") or {}).get("content"):
                    reply.arrivals.append(time.monotonic())
                if chunk.get("usage"):
                    reply.tokens = chunk["usage"]["completion_tokens"]
        reply.tokens = reply.tokens or len(reply.arrivals)
        return reply

    def close(self) -> None:
        self.http.close()


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def concurrent(server: Server, clients: int, max_tokens: int) -> tuple[float, list[float]]:
    """Aggregate tokens/s and each client's first-token time, all sent at once."""
    replies: list[Reply] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        reply = server.stream(_user(f"Write story number {i} about a harbour."), max_tokens)
        with lock:
            replies.append(reply)

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = max(r.arrivals[-1] for r in replies) - started
    return sum(r.tokens for r in replies) / wall, [r.first_token for r in replies]


def long_prompt_gap(server: Server) -> tuple[float, float]:
    """Three replies stream; a ~2,000-token prompt arrives. The running replies' longest gap
    between tokens while it is read, and how long it took to read."""
    running: list[Reply] = []
    threads = []
    done = threading.Event()
    for i in range(3):

        def one(i: int = i) -> None:
            running.append(server.stream(_user(f"Poem {i} about rain"), 3000, done))

        threads.append(threading.Thread(target=one))
        threads[-1].start()
    time.sleep(2.0)  # all three are streaming by now (a benchmark, not a test)
    text = " ".join(f"Line {i} of the report says the numbers went up again." for i in range(170))
    long = server.stream(_user(text), 4)
    done.set()  # the three hang up once the long prompt's reply has begun
    for thread in threads:
        thread.join()
    first = long.arrivals[0]
    return max(r.longest_gap(long.sent, first) for r in running), first - long.sent


def start_llama_server(
    binary: str, threads: int, slots: int
) -> tuple[subprocess.Popen[bytes], Server]:
    port = free_port()
    command = [binary, "-m", str(MODEL), "-c", str(N_CTX * slots), "-np", str(slots),
               "-t", str(threads), "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    return start_peer(command, port), Server("llama-server", f"http://127.0.0.1:{port}", None)


def start_hearth(threads: int, slots: int, **settings: str) -> tuple[object, Server]:
    engine, url, token = start_engine(
        n_ctx=str(N_CTX), n_threads=str(threads), parallel=str(slots),
        kv_tokens=str(N_CTX * slots), **settings,
    )  # fmt: skip
    return engine, Server("Hearth", url, token)


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--bursts", type=int, default=25, help="short bursts for first tokens")
    parser.add_argument("--threads", type=int, default=physical_cores())
    parser.add_argument("--section", type=Path, help="also write a Markdown section here")
    args = parser.parse_args()
    binary = os.environ.get("LLAMA_SERVER")
    if not binary:
        raise SystemExit("set LLAMA_SERVER (benchmarks/build_llama_server.sh builds it)")
    lines = [
        f"model: {MODEL.name}, threads {args.threads}, {args.max_tokens} tokens per reply "
        f"(no early end), temperature 0, {args.rounds} interleaved rounds, medians"
    ]
    rates: dict[int, dict[str, float]] = {}
    for clients, slots in ((1, 4), (4, 4), (8, 8)):
        hearth_proc, hearth = start_hearth(args.threads, slots)
        peer_proc, peer = start_llama_server(binary, args.threads, slots)
        try:
            for server in (hearth, peer):  # warm-up
                concurrent(server, min(clients, 2), 8)
            results: dict[str, list[tuple[float, list[float]]]] = {"Hearth": [], "llama-server": []}
            for _ in range(args.rounds):
                for server in (hearth, peer):
                    results[server.name].append(concurrent(server, clients, args.max_tokens))
            # First tokens again in short bursts: the same moment (all clients at once, the
            # server idle), many more samples than the rounds give; a median of 20 moved by
            # 0.2 between runs here.
            bursts: dict[str, list[float]] = {"Hearth": [], "llama-server": []}
            for _ in range(args.bursts if clients > 1 else 0):
                for server in (hearth, peer):
                    bursts[server.name] += concurrent(server, clients, 2)[1]
            if clients == 1:
                ratios = [
                    h[0] / p[0]
                    for h, p in zip(results["Hearth"], results["llama-server"], strict=True)
                ]
                gap = {s.name: long_prompt_gap(s) for s in (hearth, peer)}
        finally:
            for server in (hearth, peer):
                server.close()
            hearth_proc.stop()  # type: ignore[attr-defined]
            peer_proc.terminate()
            peer_proc.wait(20)
        rates[clients] = {name: median([r[0] for r in runs]) for name, runs in results.items()}
        firsts = {
            name: [t for r in runs for t in r[1]] + bursts[name] for name, runs in results.items()
        }
        h, p = rates[clients]["Hearth"], rates[clients]["llama-server"]
        label = "one stream" if clients == 1 else f"{clients} clients at once"
        lines.append(
            f"{label} ({slots} slots each): Hearth {h:.1f} tokens/s, llama-server {p:.1f}; "
            f"ratio {h / p:.2f}   (target >= 1.00)"
            + (
                f", paired-round ratios {', '.join(f'{r:.2f}' for r in ratios)}"
                if clients == 1
                else ""
            )
        )
        if clients > 1:
            fh, fp = median(firsts["Hearth"]) * 1000, median(firsts["llama-server"]) * 1000
            lines.append(
                f"{label}, first token median / worst: Hearth {fh:.0f} / "
                f"{max(firsts['Hearth']) * 1000:.0f} ms, llama-server {fp:.0f} / "
                f"{max(firsts['llama-server']) * 1000:.0f} ms; median ratio {fh / fp:.2f}   "
                f"(target <= 1.2; {len(firsts['Hearth'])} first tokens each: the rounds' and "
                f"{args.bursts} bursts')"
            )
    (gh, rh), (gp, rp) = gap["Hearth"], gap["llama-server"]
    lines.append(
        f"a 2,000-token prompt arriving during 3 streams: the streams' longest gap between tokens "
        f"Hearth {gh * 1000:.0f} ms (prompt read in {rh:.1f} s), llama-server {gp * 1000:.0f} ms "
        f"(read in {rp:.1f} s)   (target <= 250 ms)"
    )
    lines.append(first_token_overhead(args.threads))
    lines.append(speculation(args.threads, args.rounds))
    install(default_folder())  # the Qwen test model, as `make test` installs it
    lines.append(speculation(args.threads, args.rounds, Path(QWEN).stem.lower()))
    lines.append(memory(args.threads))
    panels = [(f"{c} client{'s' if c > 1 else ''}: tokens/s", rates[c]) for c in sorted(rates)]
    title = "Aggregate tokens/s against clients, same model, threads and slots"
    plot = bar_panels(ROOT / "docs" / "bench" / "serving.png", title, panels)
    lines.append(f"plot: ![tokens/s against clients]({plot.relative_to(ROOT).as_posix()})")
    emit("Serving: continuous batching against llama-server", lines, args.section)
    return 0


def _one_sequence(threads: int) -> LoadOptions:
    """llama.cpp in this process, the reference for a single request: one sequence, one context."""
    return LoadOptions(n_ctx=N_CTX, kv_tokens=N_CTX, n_seq=1, kv_unified=False,
                       batch_tokens=512, n_threads=threads, n_gpu_layers=0)  # fmt: skip


def first_token_overhead(threads: int, runs: int = 15) -> str:
    """Hearth's first token over HTTP against llama.cpp in this process reading the same
    prompt (the chat template applied, read whole: `cache_prompt` off) and sampling once."""
    from engine.backends.llama_backend import GenerationParams
    from engine.backends.llama_batch import BatchModel

    ask = _user("Write a story about a harbour.")
    options = _one_sequence(threads)
    local: list[float] = []
    remote: list[float] = []
    engine, server = start_hearth(threads, 4)

    def in_process(model: BatchModel) -> float:
        started = time.monotonic()
        tokens = model.chat_prompt(ask).tokens
        model.forget(0)
        model.decode([(t, i, 0, i == len(tokens) - 1) for i, t in enumerate(tokens)])
        sampler = model.sampler(GenerationParams(max_tokens=1, temperature=0))
        sampler.sample(len(tokens) - 1)
        sampler.close()
        return time.monotonic() - started

    # llama.cpp's calls all from one thread, as in the engine's scheduler.
    with ThreadPoolExecutor(1) as own:
        model = own.submit(BatchModel, MODEL, options).result()
        try:
            server.stream(ask, 2, cache_prompt=False)
            own.submit(in_process, model).result()
            for _ in range(runs):
                local.append(own.submit(in_process, model).result())
                remote.append(server.stream(ask, 1, cache_prompt=False).first_token)
        finally:
            own.submit(model.close).result()
            server.close()
            engine.stop()  # type: ignore[attr-defined]
    overhead = (median(remote) - median(local)) * 1000
    return (
        f"first token, one request, prompt read whole: Hearth {median(remote) * 1000:.1f} ms "
        f"over HTTP, llama.cpp in-process {median(local) * 1000:.1f} ms; overhead "
        f"{overhead:+.1f} ms   (target <= 10 ms; median of {runs})"
    )


def speculation(threads: int, rounds: int, model: str | None = None) -> str:
    """Prompt-lookup drafts on an edit task, with and without, on one engine (the embedded
    model, or a test model by id)."""
    settings = {"models_dir": str(default_folder())} if model else {}
    engine, server = start_hearth(threads, 4, **settings)
    ask = _user(f"Rewrite this paragraph, changing 'Monday' to 'Tuesday':\n\n{PARAGRAPH}")
    # The edit ends where the model ends it (with the end tokens banned, SmolLM2 went on for
    # 68 tokens past its 92-token copy); output is the same with and without drafts, so both
    # time the same tokens, from the first to the last.
    extra: dict[str, object] = {"logit_bias": {}, **({"model": model} if model else {})}
    on: list[float] = []
    off: list[float] = []
    try:
        server.stream(ask, 8, **extra)
        for _ in range(rounds):
            for drafts, out in ((True, on), (False, off)):
                reply = server.stream(ask, 160, speculative=drafts, **extra)
                out.append((reply.tokens - 1) / (reply.arrivals[-1] - reply.arrivals[0] + 1e-9))
        serving = server.http.get("/health").json()["serving"]
    finally:
        server.close()
        engine.stop()  # type: ignore[attr-defined]
    stats = next(iter(serving.values()))
    accepted = stats["drafted_accepted"] / max(1, stats["drafted_tokens"])
    path = default_folder() / QWEN if model else MODEL
    costs = batch_costs(path, threads)
    return (
        f"prompt-lookup drafts on an edit task, {path.name}: {median(on):.1f} tokens/s with, "
        f"{median(off):.1f} without; ratio {median(on) / median(off):.2f}   (target >= 1.5); "
        f"{accepted:.0%} of drafted tokens accepted; a decode of 2 / 4 / 8 / 16 tokens costs "
        + " / ".join(f"{costs[n] / costs[1]:.1f}" for n in (2, 4, 8, 16))
        + " one-token decodes here, so drafts can give at most "
        + f"{max(n * costs[1] / costs[n] for n in costs):.2f}x (every guess right)"
    )


def batch_costs(path: Path, threads: int, runs: int = 9) -> dict[int, float]:
    """Median time of one decode of n tokens of one sequence (after 200 cached tokens), in
    this process: what checking n - 1 guessed tokens costs."""
    from engine.backends.llama_batch import BatchModel

    options = _one_sequence(threads)
    costs: dict[int, float] = {}

    def measure() -> None:
        model = BatchModel(path, options)
        try:
            model.decode([(1000 + i, i, 0, False) for i in range(200)])
            for n in (1, 2, 4, 8, 16):
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    model.decode([(1000 + i, 200 + i, 0, True) for i in range(n)])
                    times.append(time.perf_counter() - started)
                    model.forget(0, 200)
                costs[n] = median(times)
        finally:
            model.close()

    with ThreadPoolExecutor(1) as own:  # one thread for all of llama.cpp's calls
        own.submit(measure).result()
    return costs


def memory(threads: int) -> str:
    """Peak memory with four slots against one, at the same total context (8,192 tokens: one
    slot of 8,192 or four of 2,048; each slot has a KV stream of its own)."""
    peaks = {}
    for slots in (1, 4):
        engine, url, token = start_engine(
            n_ctx=str(8192 // slots), n_threads=str(threads), parallel=str(slots)
        )
        server = Server("Hearth", url, token)
        try:
            concurrent(server, 4, 64)
            assert engine.process is not None
            peaks[slots] = peak_rss_mib(engine.process.pid)
        finally:
            server.close()
            engine.stop()
    return (
        "peak memory at the same total context (8192 KV tokens): 4 slots "
        f"{peaks[4]:.0f} MiB, 1 slot {peaks[1]:.0f} MiB; ratio {peaks[4] / peaks[1]:.2f}   "
        "(target <= 1.3)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
