"""Engine vs llama-cpp-python in-process: generation tokens/s ratio and first-token overhead.

Runs the same chat, settings and thread count through the engine's streaming HTTP API, through
llama_cpp.Llama in this process, through llama-cpp-python's own OpenAI server, and through
llama.cpp's `llama-server` when one is on PATH (or named by LLAMA_SERVER), interleaved, several
runs each, and prints medians. The machine is shared and noisy, so only ratios measured in one
run mean anything. Also draws docs/bench/chat.png.

    .venv/bin/python benchmarks/bench_chat.py [--runs 9] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.engine_run import start_engine
from benchmarks.plot import bar_panels
from benchmarks.report import emit
from engine.settings import default_embedded_dir

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = "Write a short story about a lighthouse keeper and a storm."
MESSAGES = [{"role": "user", "content": PROMPT}]
N_CTX = 4096


@dataclass
class Run:
    ttft_s: float
    tokens: int
    gen_s: float

    @property
    def tokens_per_s(self) -> float:
        return (self.tokens - 1) / self.gen_s if self.gen_s > 0 else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_in_process(llama: object, max_tokens: int) -> Run:
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    stream = llama.create_chat_completion(  # type: ignore[attr-defined]
        MESSAGES, temperature=0, max_tokens=max_tokens, stream=True
    )
    for chunk in stream:
        if chunk["choices"][0]["delta"].get("content"):
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return Run(first - started, tokens, last - first)


def run_engine(client: httpx.Client, max_tokens: int, peer: bool = False) -> Run:
    """One streamed reply over HTTP. The engine reports the tokens it generated (a chunk may
    carry several when the client reads slower than the model writes); a peer server is
    counted one token per content chunk."""
    body: dict[str, object] = {
        "messages": MESSAGES, "temperature": 0, "max_tokens": max_tokens, "stream": True,
    }  # fmt: skip
    if not peer:
        body["stream_options"] = {"include_usage": True}
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage") and not peer:
                tokens = chunk["usage"]["completion_tokens"]
            choices = chunk.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                last = time.perf_counter()
                first = first or last
                tokens += 1 if peer else 0
    return Run(first - started, tokens, last - first)


def peak_rss_mib(pid: int | str = "self") -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


RAW_PEAK = """
import sys
from llama_cpp import Llama
llama = Llama(sys.argv[1], n_ctx=int(sys.argv[2]), n_threads=int(sys.argv[3]), verbose=False)
llama.create_chat_completion([{"role": "user", "content": sys.argv[4]}], max_tokens=64)
print(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1])
"""


def raw_peak_rss_mib(threads: int) -> float:
    """Peak memory of a bare Python process that loads the model and answers once."""
    model = str(default_embedded_dir() / MODEL_FILE)
    done = subprocess.run(
        [sys.executable, "-c", RAW_PEAK, model, str(N_CTX), str(threads), PROMPT],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def start_peer(command: list[str], port: int) -> subprocess.Popen[bytes]:
    """Start a reference server and wait until it has loaded its model (llama-server answers
    /health with 503 while it loads)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            for path in ("/health", "/v1/models"):
                if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                    return process
            time.sleep(0.3)
        except httpx.HTTPError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"{command[0]} did not start")


def peers(threads: int) -> dict[str, list[str]]:
    """The reference servers available here: name -> command (with {port} to fill in)."""
    model = str(default_embedded_dir() / MODEL_FILE)
    found = {
        "llama-cpp-python server": [
            sys.executable, "-m", "llama_cpp.server", "--model", model, "--n_ctx", str(N_CTX),
            "--n_threads", str(threads), "--host", "127.0.0.1", "--port", "{port}",
        ],
    }  # fmt: skip
    binary = os.environ.get("LLAMA_SERVER") or shutil.which("llama-server")
    if binary:
        found["llama.cpp llama-server"] = [
            binary, "-m", model, "-c", str(N_CTX), "-t", str(threads), "--host", "127.0.0.1",
            "--port", "{port}",
        ]  # fmt: skip
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--section", type=Path, help="also write a Markdown section here")
    args = parser.parse_args()

    from llama_cpp import Llama

    engine, url, token = start_engine(n_ctx=str(N_CTX), n_threads=str(args.threads))
    llama = Llama(
        str(default_embedded_dir() / MODEL_FILE), n_ctx=N_CTX, n_threads=args.threads, verbose=False
    )
    engine_runs: list[Run] = []
    local_runs: list[Run] = []
    peer_runs: dict[str, list[Run]] = {}
    peer_clients: dict[str, httpx.Client] = {}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in peers(args.threads).items():
            port = free_port()
            processes.append(start_peer([c.replace("{port}", str(port)) for c in command], port))
            peer_clients[name] = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
            peer_runs[name] = []
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300
        ) as client:
            run_engine(client, 8)  # warm-up: load the model, fill caches
            run_in_process(llama, 8)
            for peer in peer_clients.values():
                run_engine(peer, 8, peer=True)
            for _ in range(args.runs):
                engine_runs.append(run_engine(client, args.max_tokens))
                local_runs.append(run_in_process(llama, args.max_tokens))
                for name, peer in peer_clients.items():
                    peer_runs[name].append(run_engine(peer, args.max_tokens, peer=True))
        assert engine.process is not None
        engine_peak = peak_rss_mib(engine.process.pid)
    finally:
        llama.close()
        engine.stop()
        for peer in peer_clients.values():
            peer.close()
        for process in processes:
            process.terminate()
            process.wait(20)

    tps_engine = statistics.median(r.tokens_per_s for r in engine_runs)
    tps_local = statistics.median(r.tokens_per_s for r in local_runs)
    ttft_engine = statistics.median(r.ttft_s for r in engine_runs) * 1000
    ttft_local = statistics.median(r.ttft_s for r in local_runs) * 1000
    # Each engine run is paired with the in-process run right after it; the median of the
    # pairs' ratios resists the machine's noise better than a ratio of medians.
    pairs = list(zip(engine_runs, local_runs, strict=True))
    ratio = statistics.median(e.tokens_per_s / lo.tokens_per_s for e, lo in pairs)
    overhead = statistics.median((e.ttft_s - lo.ttft_s) * 1000 for e, lo in pairs)
    lines = [
        f"model: {MODEL_FILE}, n_ctx {N_CTX}, threads {args.threads}, "
        f"max_tokens {args.max_tokens}, {args.runs} interleaved runs each, temperature 0",
        f"in-process llama-cpp-python: {tps_local:.1f} tokens/s, first token {ttft_local:.1f} ms",
        f"engine over HTTP (streaming): {tps_engine:.1f} tokens/s, "
        f"first token {ttft_engine:.1f} ms",
        f"generation tokens/s ratio (engine / in-process): {ratio:.3f}   (target >= 0.97)",
        f"time-to-first-token overhead: {overhead:+.1f} ms   (target <= 20 ms)",
    ]
    raw_peak = raw_peak_rss_mib(args.threads)
    lines.append(
        f"peak memory: engine {engine_peak:.0f} MiB, bare llama-cpp-python process "
        f"{raw_peak:.0f} MiB; ratio {engine_peak / raw_peak:.2f}   (target <= 2.0: the engine "
        "also holds the web server, the database and the OCR and speech libraries)"
    )
    tps = {"Hearth engine": tps_engine, "llama-cpp-python in-process": tps_local}
    ttft = {"Hearth engine": ttft_engine, "llama-cpp-python in-process": ttft_local}
    for name, runs in peer_runs.items():
        peer_pairs = list(zip(engine_runs, runs, strict=True))
        tps[name] = statistics.median(r.tokens_per_s for r in runs)
        ttft[name] = statistics.median(r.ttft_s for r in runs) * 1000
        peer_ratio = statistics.median(e.tokens_per_s / p.tokens_per_s for e, p in peer_pairs)
        lines.append(
            f"{name} (same model, threads, n_ctx): {tps[name]:.1f} tokens/s, first token "
            f"{ttft[name]:.1f} ms; engine / {name} tokens/s ratio {peer_ratio:.3f}"
        )
    if "llama.cpp llama-server" not in peer_runs:
        lines.append("llama.cpp's llama-server: not on PATH here (set LLAMA_SERVER to include it)")
    panels = [("generation tokens/s", tps), ("time to first token, ms", ttft)]
    title = "Chat, same model and threads (medians)"
    plot = bar_panels(ROOT / "docs" / "bench" / "chat.png", title, panels)
    lines.append(f"plot: ![tokens/s and first-token time]({plot.relative_to(ROOT).as_posix()})")
    emit(
        "Chat: engine vs llama-cpp-python (in-process, its server) and llama-server",
        lines,
        args.section,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
