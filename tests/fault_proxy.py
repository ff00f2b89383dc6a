"""A small HTTP proxy between Hearth and a real upstream server that injects faults.

Each request takes the next fault from `faults` (or none): "429" (with Retry-After), "500",
"drop_before" (the connection closes before any answer), "drop_during" (a streamed answer is
cut after its first chunks), "stall" (no answer past the read time limit), "echo" (answers
itself, repeating the last user message back, to test what Hearth restores). It records every
request it saw, body included, so tests can count attempts and look for PII on the wire.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fault: str | None


@dataclass
class FaultProxy:
    upstream: str
    faults: list[str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    stall_seconds: float = 5.0
    url: str = ""
    cut: int = 0  # streams really cut midway by "drop_during" (after some events, before the end)

    def start(self) -> str:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            self._server = server
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="fault-proxy")
        self._thread.start()
        ready.wait(10)
        return self.url

    def stop(self) -> None:
        def shutdown() -> None:
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(10)

    def attempts(self, path: str = "/v1/chat/completions") -> int:
        return sum(1 for s in self.seen if s.path == path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            fault = self.faults.pop(0) if self.faults else None
            self.seen.append(Seen(method, path, headers, body, fault))
            await self._answer(writer, method, path, headers, body, fault)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    @staticmethod
    def _simple(
        writer: asyncio.StreamWriter, status: str, body: dict[str, Any], extra: str = ""
    ) -> None:
        data = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            f"{extra}Connection: close\r\n\r\n".encode()
            + data
        )

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        fault: str | None,
    ) -> None:
        if fault == "drop_before":
            writer.transport.abort()
            return
        if fault == "429":
            self._simple(
                writer,
                "429 Too Many Requests",
                {"error": {"message": "slow down"}},
                "Retry-After: 1\r\n",
            )
            return
        if fault == "500":
            self._simple(
                writer, "500 Internal Server Error", {"error": {"message": "upstream broke"}}
            )
            return
        if fault == "stall":
            await asyncio.sleep(self.stall_seconds)
            writer.transport.abort()
            return
        if fault == "echo":
            await self._echo(writer, json.loads(body))
            return
        forward = {
            k: v for k, v in headers.items() if k in ("authorization", "content-type", "accept")
        }
        async with (
            httpx.AsyncClient(timeout=120) as client,
            client.stream(
                method, self.upstream + path, headers=forward, content=body or None
            ) as response,
        ):
            writer.write(
                f"HTTP/1.1 {response.status_code} OK\r\n"
                f"Content-Type: {response.headers.get('content-type', 'application/json')}\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
            )
            events = 0
            async for chunk in response.aiter_raw():
                if fault == "drop_during" and events >= 2 and b"[DONE]" not in chunk:
                    self.cut += 1
                    writer.transport.abort()
                    return
                events += chunk.count(b"data: ")
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async def _echo(self, writer: asyncio.StreamWriter, request: dict[str, Any]) -> None:
        text = "You said: " + request["messages"][-1]["content"]
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        base = {"id": "chatcmpl-echo", "created": int(time.time()), "model": request["model"]}
        if not request.get("stream"):
            message = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            self._simple(
                writer,
                "200 OK",
                {**base, "object": "chat.completion", "choices": [message], "usage": usage},
            )
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        pieces = [text[i : i + 3] for i in range(0, len(text), 3)]  # splits placeholders apart
        for piece in pieces:
            chunk = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
        last = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": usage,
        }
        writer.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
        await writer.drain()
