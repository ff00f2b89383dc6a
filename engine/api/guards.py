"""ASGI guards in front of every route: Host check, API token, body size cap."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.errors import anthropic_error, error_payload
from engine.errors import PayloadTooLarge
from engine.security.api_token import ApiToken, token_matches


async def _send_error(
    send: Send,
    status: int,
    message: str,
    type_: str,
    code: str,
    extra: Iterable[tuple[bytes, bytes]] = (),
    path: str = "",
    scope: Scope | None = None,
) -> None:
    if path.startswith("/v1/messages"):
        payload = anthropic_error(status, message)
    elif path.startswith("/api/"):
        payload = {"error": message}  # Ollama's shape
    else:
        payload = error_payload(message, type_, code)
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    prefix = "http"
    if scope is not None and scope["type"] == "websocket":
        # A refused WebSocket handshake: the HTTP answer where the server can send one.
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008})
            return
        prefix = "websocket.http"
    await send(
        {"type": f"{prefix}.response.start", "status": status, "headers": [*headers, *extra]}
    )
    await send({"type": f"{prefix}.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def host_without_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8931
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostGuard:
    """403 for a Host header that is not one of ours: the defence against DNS rebinding."""

    def __init__(self, app: ASGIApp, allowed: set[str]) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = host_without_port(_header(scope, b"host") or "")
            if host not in self.allowed:
                await _send_error(
                    send, 403, "Requests must be addressed to a local host name.",
                    "permission_error", "host_not_allowed", scope=scope,
                )  # fmt: skip
                return
        await self.app(scope, receive, send)


class OriginGuard:
    """403 for state-changing requests, and WebSocket handshakes (browsers let any page open
    one), sent by a web page from a foreign origin (CSRF)."""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, allowed: set[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        unsafe = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope.get("method") in self.UNSAFE
        )
        if unsafe:
            origin = _header(scope, b"origin")
            if origin is not None and origin.rstrip("/").lower() not in self.allowed:
                await _send_error(
                    send, 403, "Requests from this web origin are not allowed.",
                    "permission_error", "origin_not_allowed", scope=scope,
                )  # fmt: skip
                return
        await self.app(scope, receive, send)


LOOPBACK = frozenset({"127.0.0.1", "::1"})


class TokenGuard:
    """401 unless an /v1 or /api (Ollama's) request carries the local API token, as a Bearer
    token or (as Anthropic's clients send it) in x-api-key. Ollama's clients send none: when
    `ollama_open()` says so, loopback clients may use /api without it."""

    def __init__(
        self, app: ASGIApp, token: ApiToken, ollama_open: Callable[[], bool] = lambda: False
    ) -> None:
        self.app = app
        self.token = token
        self.ollama_open = ollama_open

    def _guarded(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        if path.startswith("/api/"):
            client = str((scope.get("client") or ("", 0))[0])
            return not (self.ollama_open() and client in LOOPBACK)
        return path.startswith("/v1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        checked = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope.get("method") != "OPTIONS"
        )
        if checked and self._guarded(scope):
            auth = _header(scope, b"authorization") or ""
            scheme, _, presented = auth.partition(" ")
            if scheme.lower() != "bearer":
                presented = _header(scope, b"x-api-key") or ""
            if not token_matches(self.token.value, presented.strip()):
                await _send_error(
                    send, 401, "A valid API token is required (Authorization: Bearer ...). "
                    "`hearth token` prints it.", "authentication_error", "invalid_api_key",
                    [(b"www-authenticate", b"Bearer")], path, scope,
                )  # fmt: skip
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for bodies over the cap, whether announced by Content-Length or sent chunked.

    Upload routes (multipart files) have their own, larger cap; their routes read the form
    themselves, so a chunked upload is counted as it streams and stopped at the cap.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, upload_bytes: int, upload_prefixes: tuple[str, ...]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes
        self.upload_prefixes = upload_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("path", "").startswith(self.upload_prefixes)
        limit = self.upload_bytes if upload else self.max_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(
                send, 413, _too_large(limit), "invalid_request_error", "payload_too_large"
            )
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server holds the body to its length
        elif upload:
            await self.app(scope, _counting(receive, limit), send)
        else:
            await self._buffered(scope, receive, send, limit)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        # A chunked JSON body announces no size: read it up to the cap before the app sees it.
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > limit:
                await _send_error(
                    send, 413, _too_large(limit), "invalid_request_error", "payload_too_large"
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> str:
    size = f"{limit / (1024 * 1024):g} MiB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KiB"
    return f"The request body is larger than the {size} limit."


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(_too_large(limit))
        return message

    return counted


class JsonByDefault:
    """Treat /v1 POST bodies sent without a JSON content type as JSON, as OpenAI's API does.

    `curl -d` labels bodies as form data; multipart uploads keep their own type.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            kind = (_header(scope, b"content-type") or "").lower()
            if not kind or kind.startswith("application/x-www-form-urlencoded"):
                headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
