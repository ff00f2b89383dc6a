"""llama-cpp-python's own OpenAI-compatible server on the default model: the real second server
the remote tests route to."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from engine.settings import default_embedded_dir

UPSTREAM_KEY = "upstream-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(alias: str = "smol") -> Iterator[str]:
    """Its base URL (without /v1) while it runs; it needs UPSTREAM_KEY."""
    port = free_port()
    model = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--api_key", UPSTREAM_KEY],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(
                    url + "/v1/models", headers={"Authorization": f"Bearer {UPSTREAM_KEY}"},
                    timeout=2,
                )  # fmt: skip
                break
            except httpx.HTTPError:
                assert process.poll() is None, "upstream exited"
                assert time.monotonic() < deadline, "upstream did not start"
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(20)
