"""llama-cpp-python's own OpenAI-compatible server on the default model: the real second server
the remote tests route to."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from engine.settings import default_embedded_dir

UPSTREAM_KEY = "upstream-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(alias: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start it on a free port; a port taken between the pick and the bind (another process
    won the race) means another try on a new port."""
    model = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    for _ in range(5):
        port = free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                 "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
                 "--n_ctx", "2048", "--api_key", UPSTREAM_KEY],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while process.poll() is None:
            try:
                httpx.get(url + "/v1/models", timeout=2,
                          headers={"Authorization": f"Bearer {UPSTREAM_KEY}"})  # fmt: skip
                return process, url
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "upstream did not start:\n" + _tail(log)
                time.sleep(0.3)
        if b"address already in use" not in log.read_bytes().lower():
            break
    raise AssertionError("upstream exited:\n" + _tail(log))


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


@contextmanager
def llama_server(alias: str = "smol") -> Iterator[str]:
    """Its base URL (without /v1) while it runs; it needs UPSTREAM_KEY. Its output is kept in
    a log file, shown when it fails to start."""
    folder = Path(tempfile.mkdtemp(prefix="hearth-upstream-"))
    log = folder / "upstream.log"
    process, url = _start(alias, log)
    try:
        yield url
    finally:
        if process.poll() is not None:  # it died during the test: say how (pytest shows it)
            print(f"the upstream server exited with {process.returncode}:\n{_tail(log)}",
                  file=sys.stderr)  # fmt: skip
        process.terminate()
        process.wait(20)
        shutil.rmtree(folder, ignore_errors=True)
