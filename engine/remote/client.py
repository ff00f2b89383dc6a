"""Calls to a remote OpenAI-compatible provider: time limits, bounded retries, streaming.

429, 5xx and connection errors are retried with exponential backoff and jitter, honouring
Retry-After, a bounded number of times, and only before any byte of a reply was passed on. A
stream that breaks half-way ends with a clear error. The API key never appears in errors or logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from engine.backends.llama_backend import CallDelta, Piece
from engine.errors import HearthError
from engine.schemas import Provider, Usage
from engine.security.moderation import OutputFilter, all_flags
from engine.services.generation import screened

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RemoteError(HearthError):
    status = 502
    type = "server_error"
    code = "remote_error"


class RemoteTimeout(RemoteError):
    status = 504
    code = "remote_timeout"


class BudgetExceeded(HearthError):
    status = 402
    type = "insufficient_quota"
    code = "budget_exceeded"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try and three retries
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(float(retry_after), self.max_retry_after)
            except ValueError:
                pass
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        return float(backoff * (0.5 + random.random() / 2))  # jitter: 50-100 % of the backoff


def _upstream_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return str(message or response.reason_phrase or "no details")[:300]


@dataclass
class RemoteReply:
    """A reply coming from a provider; the same shape as a local Generation."""

    id: str
    created: int
    model_id: str
    provider: str
    _chunks: AsyncIterator[dict[str, Any]]
    _close: Any
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    input_flags: dict[str, list[str]] = field(default_factory=dict)
    output_filter: OutputFilter | None = None
    started: float = field(default_factory=time.monotonic)

    def pieces(self) -> AsyncIterator[Piece]:
        """The provider's reply, through the same output moderation as a local one."""
        return screened(self._raw_pieces(), self.output_filter, self.cancel)

    async def _raw_pieces(self) -> AsyncIterator[Piece]:
        try:
            async for chunk in self._chunks:
                if chunk.get("usage"):
                    self.prompt_tokens = chunk["usage"].get("prompt_tokens", 0)
                    self.completion_tokens = chunk["usage"].get("completion_tokens", 0)
                    self.estimated = False
                for choice in chunk.get("choices") or []:
                    said = choice.get("delta") or choice.get("message") or {}
                    text = said.get("content") or ""
                    if text and self.estimated:
                        self.completion_tokens += 1  # one delta per token, near enough
                    calls = _call_deltas(said.get("tool_calls"))
                    yield Piece(text, choice.get("finish_reason"), None, calls)
        finally:
            await self._close()

    def cancel(self) -> None:
        """Closing happens when the consumer stops iterating; nothing runs locally."""

    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.prompt_tokens + self.completion_tokens,
        )

    def flags(self) -> dict[str, list[str]]:
        return all_flags(self.input_flags, self.output_filter)

    async def collect(self) -> tuple[str, str | None]:
        parts, finish = [], None
        async for piece in self.pieces():
            parts.append(piece.text)
            finish = piece.finish_reason or finish
        return "".join(parts), finish


def _call_deltas(calls: Any) -> list[CallDelta] | None:
    """A provider's tool calls (whole in a message, or deltas in a stream) as deltas."""
    if not isinstance(calls, list) or not calls:
        return None
    out = []
    for position, call in enumerate(calls):
        function = call.get("function") or {}
        out.append(
            CallDelta(
                index=int(call.get("index", position)),
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        )
    return out


class RemoteClient:
    def __init__(self, connect_timeout: float, read_timeout: float, retry: RetryPolicy) -> None:
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._retry = retry

    async def chat(
        self, provider: Provider, key: str | None, body: dict[str, Any], prompt_estimate: int
    ) -> RemoteReply:
        """Send a chat request; returns once the provider has started answering."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.AsyncClient(timeout=self._timeout, headers=headers, trust_env=False)
        url = provider.base_url.rstrip("/") + "/chat/completions"
        stream = bool(body.get("stream"))
        try:
            response = await self._send(client, provider, url, body)
        except BaseException:
            await client.aclose()
            raise

        async def close() -> None:
            await response.aclose()
            await client.aclose()

        reply = RemoteReply(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model_id=f"{provider.name}/{body['model']}",
            provider=provider.name,
            _chunks=self._events(response, provider) if stream else self._whole(response, provider),
            _close=close,
        )
        if stream:
            reply.prompt_tokens, reply.estimated = prompt_estimate, True
        return reply

    async def _send(
        self, client: httpx.AsyncClient, provider: Provider, url: str, body: dict[str, Any]
    ) -> httpx.Response:
        last = "no attempt"
        for attempt in range(self._retry.attempts):
            retry_after = None
            try:
                request = client.build_request("POST", url, json=body)
                response = await client.send(request, stream=True)
            except httpx.TimeoutException:
                last = "it did not answer in time"
            except httpx.TransportError:
                last = "the connection failed"
            else:
                if response.status_code < 400:
                    return response
                await response.aread()
                if response.status_code not in RETRY_STATUSES:
                    await response.aclose()
                    raise RemoteError(
                        f"The provider '{provider.name}' refused the request "
                        f"({response.status_code}): {_upstream_message(response)}"
                    )
                retry_after = response.headers.get("retry-after")
                last = f"it answered {response.status_code}"
                await response.aclose()
            if attempt + 1 < self._retry.attempts:
                wait = self._retry.delay(attempt, retry_after)
                log.warning("provider %s: %s; retrying in %.1f s", provider.name, last, wait)
                await asyncio.sleep(wait)
        error = RemoteTimeout if "in time" in last else RemoteError
        raise error(
            f"The provider '{provider.name}' could not serve the request: {last} "
            f"({self._retry.attempts} attempts)."
        )

    async def _whole(
        self, response: httpx.Response, provider: Provider
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            body = json.loads(await response.aread())
        except (httpx.HTTPError, ValueError) as exc:
            raise RemoteError(f"The provider '{provider.name}' sent an unreadable answer.") from exc
        yield body

    async def _events(
        self, response: httpx.Response, provider: Provider
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                chunk = json.loads(data)
                if "error" in chunk:
                    raise RemoteError(
                        f"The provider '{provider.name}' reported an error mid-reply."
                    )
                yield chunk
        except httpx.TimeoutException as exc:
            raise RemoteTimeout(f"The provider '{provider.name}' stalled mid-reply.") from exc
        except (httpx.TransportError, ValueError) as exc:
            raise RemoteError(f"The connection to '{provider.name}' broke mid-reply.") from exc

    async def models(self, provider: Provider, key: str | None) -> list[str]:
        """The provider's model ids (used by `providers test`)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(timeout=self._timeout, headers=headers, trust_env=False) as c:
            try:
                response = await c.get(provider.base_url.rstrip("/") + "/models")
            except httpx.HTTPError as exc:
                raise RemoteError(f"The provider '{provider.name}' cannot be reached.") from exc
        if response.status_code >= 400:
            raise RemoteError(
                f"The provider '{provider.name}' answered {response.status_code}: "
                f"{_upstream_message(response)}"
            )
        return [str(m.get("id")) for m in response.json().get("data", [])]
