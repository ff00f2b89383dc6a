"""A loopback HTTP file server with Range support, and faults on demand, for download tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class FileServer:
    """Serves one file at every path. Faults apply to the next request, then clear."""

    path: Path
    cut_after: int | None = None  # close the connection after this many body bytes
    stall_seconds: float = 0.0
    corrupt: bool = False
    chunk_delay: float = 0.0  # seconds between 64 KiB pieces: a slow link, while it is set
    ranges: list[str | None] = field(default_factory=list)
    url: str = ""

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                data = server.path.read_bytes()
                if server.corrupt:
                    data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
                wanted = self.headers.get("Range")
                server.ranges.append(wanted)
                start = int(wanted.split("=")[1].split("-")[0]) if wanted else 0
                body = data[start:]
                self.send_response(206 if wanted else 200)
                self.send_header("Content-Length", str(len(body)))
                if wanted:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if server.stall_seconds:
                    stall, server.stall_seconds = server.stall_seconds, 0.0
                    time.sleep(stall)
                    return
                cut, server.cut_after = server.cut_after, None
                step = 1 << 16
                for offset in range(0, len(body), step):
                    if cut is not None and offset >= cut:
                        self.connection.close()
                        return
                    if server.chunk_delay:
                        time.sleep(server.chunk_delay)
                    try:
                        self.wfile.write(body[offset : offset + step])
                    except (BrokenPipeError, ConnectionResetError):
                        return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def chat_catalog(path: Path, models: list[tuple[str, str, int]]) -> Path:
    """A catalog of chat models (id, name, size) whose files are on the "hub" at the usual
    Hugging Face address: an engine with `hf_endpoint` set to a FileServer gets them from it."""
    entry = """
[[models]]
id = "{id}"
name = "{name}"
kind = "chat"
license = "Apache-2.0"
[[models.files]]
name = "{id}.gguf"
size = {size}
url = "https://huggingface.co/org/{id}/resolve/main/{id}.gguf"
"""
    path.write_text("".join(entry.format(id=i, name=n, size=s) for i, n, s in models))
    return path
