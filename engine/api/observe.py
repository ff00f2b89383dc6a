"""One middleware that times every request and reads its final status, for the audit log and
the metrics alike, and gives each request an id (the `x-request-id` header, as OpenAI's API
does) that its audit row carries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.security.audit import AuditRecord

Observer = Callable[[Scope, int, float], None]  # scope, final status, seconds taken


class RequestObserver:
    def __init__(self, app: ASGIApp, observers: Sequence[Observer]) -> None:
        self.app = app
        self.observers = observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Routes fill this in as they learn what served the request.
        request_id = f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["audit"] = AuditRecord(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            elapsed = time.perf_counter() - started
            for observe in self.observers:
                observe(scope, status, elapsed)
