"""Where a chat request is served: the local model, a remote provider, or the response cache.

Policies: local_only (the default: nothing leaves the device), local_first (remote when the local
model is missing, fails to load, the prompt is too long for it, or its queue is full),
remote_first, remote_only. A model named `provider/model` goes to that provider. Text sent to a
provider is redacted first and restored in the reply; every reply says who served it and why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.backends.llama_backend import CallDelta, Piece, TokenLogprob
from engine.errors import (
    Busy,
    ContextLengthExceeded,
    HearthError,
    InvalidInput,
    ModelLoadFailed,
    ModelNotFound,
    NotFound,
)
from engine.remote.client import BudgetExceeded, RemoteClient, RemoteError
from engine.remote.providers import ProviderStore
from engine.schemas import (
    ChatCompletionRequest,
    Provider,
    ServedBy,
    ToolCall,
    ToolCallFunction,
    Usage,
)
from engine.security.key_vault import KeyVault
from engine.security.redaction import Redaction, Redactor, StreamRestorer
from engine.services.generation import GenerationService
from engine.settings import EngineSettings
from engine.tools.calls import assemble
from engine.usage.response_cache import CachedAnswer, ResponseCache, cache_key
from engine.usage.store import UsageEntry, UsageStore, cost_of

log = logging.getLogger(__name__)

FALLBACK_REASONS: dict[type[HearthError], str] = {
    ModelNotFound: "the local model is not installed",
    ModelLoadFailed: "the local model failed to load",
    ContextLengthExceeded: "the prompt is longer than the local model's context",
    Busy: "the local model's queue is full",
}
_OPENAI_FIELDS = (
    "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "stop", "seed",
    "response_format", "tools", "tool_choice", "parallel_tool_calls",
)  # fmt: skip


def _parses(arguments: str) -> bool:
    try:
        json.loads(arguments)
    except ValueError:
        return False
    return True


@dataclass
class CachedReply:
    """A stored answer replayed as if generated (no inference, no upstream call)."""

    answer: CachedAnswer
    id: str
    created: int
    model_id: str
    input_flags: dict[str, list[str]] = field(default_factory=dict)

    async def pieces(self) -> AsyncIterator[Piece]:
        yield Piece(text=self.answer.text, finish_reason=self.answer.finish_reason)

    def usage(self) -> Usage:
        a = self.answer
        return Usage(
            prompt_tokens=a.prompt_tokens,
            completion_tokens=a.completion_tokens,
            total_tokens=a.prompt_tokens + a.completion_tokens,
        )

    def cancel(self) -> None:
        """Nothing runs."""

    def flags(self) -> dict[str, list[str]]:
        return dict(self.input_flags)


@dataclass
class RoutedReply:
    """A reply with its routing facts; iterate `pieces()` once, then read the totals."""

    reply: Any  # Generation, RemoteReply or CachedReply: the same small interface
    served: ServedBy
    provider: Provider | None
    redaction: Redaction | None
    key: str | None
    record: Callable[[RoutedReply], None]
    text: list[str] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)  # when the request asked
    calls: list[CallDelta] = field(default_factory=list)  # function calls, as they came
    finish_reason: str | None = None
    endpoint: str = "/v1/chat/completions"
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    ended: float | None = None

    @property
    def id(self) -> str:
        return str(self.reply.id)

    @property
    def created(self) -> int:
        return int(self.reply.created)

    @property
    def model_id(self) -> str:
        return str(self.reply.model_id)

    def usage(self) -> Usage:
        return self.reply.usage()  # type: ignore[no-any-return]

    def cancel(self) -> None:
        self.reply.cancel()

    def flags(self) -> dict[str, list[str]]:
        return self.reply.flags()  # type: ignore[no-any-return]

    async def pieces(self) -> AsyncIterator[Piece]:
        restorer = (
            StreamRestorer(self.redaction) if self.redaction and self.redaction.items else None
        )
        completed = False
        try:
            async for piece in self.reply.pieces():
                text = restorer.feed(piece.text) if restorer else piece.text
                if piece.finish_reason is not None and restorer:
                    text += restorer.flush()
                if text:
                    self.first_token = self.first_token or time.monotonic()
                    self.text.append(text)
                self.finish_reason = piece.finish_reason or self.finish_reason
                self.logprobs.extend(piece.logprobs or [])
                self.calls.extend(piece.calls or [])
                if text or piece.finish_reason or piece.logprobs or piece.calls:
                    yield Piece(text, piece.finish_reason, piece.logprobs, piece.calls)
            completed = True
        finally:
            self.ended = time.monotonic()
            if completed:
                self.record(self)

    def tool_calls(self) -> list[ToolCall]:
        """The reply's function calls, whole (after `pieces()` or `collect()`). A call that
        max_tokens cut before it closed is left out: its arguments would not parse (the
        finish_reason, "length", says the reply was cut)."""
        calls = assemble(self.calls)
        if self.finish_reason == "length":
            calls = [c for c in calls if _parses(c[2])]
        return [
            ToolCall(id=call_id, function=ToolCallFunction(name=name, arguments=arguments))
            for call_id, name, arguments in calls
        ]

    async def collect(self) -> tuple[str, str | None]:
        async for _piece in self.pieces():
            pass
        return "".join(self.text), self.finish_reason


class ChatRouter:
    def __init__(
        self,
        settings: EngineSettings,
        generation: GenerationService,
        providers: ProviderStore,
        keystore: KeyVault,
        redactor: Redactor,
        remote: RemoteClient,
        usage: UsageStore,
        cache: ResponseCache,
    ) -> None:
        self._settings = settings
        self._generation = generation
        self._providers = providers
        self._keystore = keystore
        self._redactor = redactor
        self._remote = remote
        self._usage = usage
        self._cache = cache
        self.on_recorded: Callable[[RoutedReply], None] | None = None

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def start_chat(
        self, req: ChatCompletionRequest, endpoint: str = "/v1/chat/completions"
    ) -> RoutedReply:
        """Serve a chat request (locally, remotely or from the cache, as its route says);
        `endpoint` is the API the client used, for the usage records."""
        routed = await self._route(req)
        routed.endpoint = endpoint
        return routed

    async def _route(self, req: ChatCompletionRequest) -> RoutedReply:
        policy = req.route or self._settings.route_policy
        remote_target = await self._remote_target(req.model)
        if remote_target is not None:
            return await self._cached_or(req, remote_target, None)
        if policy == "local_only":
            return await self._cached_or(req, None, None)
        if policy == "remote_only":
            return await self._cached_or(req, await self._default_remote(), None)
        if policy == "remote_first":
            target = await self._default_remote(required=False)
            if target is not None:
                try:
                    return await self._cached_or(req, target, None)
                except (RemoteError, BudgetExceeded) as exc:
                    return await self._cached_or(
                        req, None, f"the remote provider failed: {exc.message}"
                    )
            return await self._cached_or(req, None, "no remote provider is configured")
        try:  # local_first
            return await self._cached_or(req, None, None)
        except (ModelNotFound, ModelLoadFailed, ContextLengthExceeded, Busy) as exc:
            target = await self._default_remote(required=False)
            if target is None:
                raise
            reason = next(r for t, r in FALLBACK_REASONS.items() if isinstance(exc, t))
            return await self._cached_or(req, target, reason)

    async def _remote_target(self, name: str | None) -> tuple[Provider, str] | None:
        if not name or "/" not in name:
            return None
        provider_name, model = name.split("/", 1)
        try:
            provider = await self._blocking(self._providers.get, provider_name)
        except NotFound:
            return None  # not a provider: the local registry answers (404 there)
        return provider, model

    async def _default_remote(self, required: bool = True) -> tuple[Provider, str] | None:
        wanted = self._settings.default_remote_model
        if wanted:
            target = await self._remote_target(wanted)
            if target is not None:
                return target
        for provider in await self._blocking(self._providers.all):
            if provider.models:
                return provider, provider.models[0]
        if required:
            raise InvalidInput(
                "No remote provider is configured. Add one with `hearth providers add`.",
                param="route",
            )
        return None

    async def _cached_or(
        self, req: ChatCompletionRequest, target: tuple[Provider, str] | None, reason: str | None
    ) -> RoutedReply:
        provider, remote_model = target if target else (None, None)
        # A cached answer is text only; replies that may be calls are never replayed.
        use_cache = (provider is not None or self._settings.cache_local) and not req.tools
        model_label = (
            f"{provider.name}/{remote_model}"
            if provider
            else (req.model or self._settings.default_model)
        )
        body = req.model_dump(exclude_none=True, include={"messages", *_OPENAI_FIELDS})
        key = cache_key(model_label, body) if use_cache and self._settings.cache_entries else None
        hit = self._cache.get(key) if key else None
        if hit is not None:
            reply: Any = CachedReply(
                hit, f"chatcmpl-cache-{key[:24] if key else ''}", int(time.time()), hit.model
            )
            served = ServedBy(
                provider="cache", model=hit.model, fallback_reason=reason, cached=True
            )
            return RoutedReply(reply, served, None, None, None, self._record)
        if provider is None:
            gen = await self._generation.start_chat(req)
            served = ServedBy(provider="local", model=gen.model_id, fallback_reason=reason)
            return RoutedReply(gen, served, None, None, key, self._record)
        assert remote_model is not None
        redaction = Redaction()
        messages = []
        flags: dict[str, list[str]] = {}
        for message in req.messages:
            # The same moderation as a local request, then redaction, on the way out.
            screened_text = self._generation.screen(message.text(), flags)
            text, redaction = self._redactor.redact(screened_text, redaction)
            wired: dict[str, Any] = {
                "role": "system" if message.role == "developer" else message.role,
                "content": text,
            }
            # Calls and their results travel as they are (their arguments are the model's own
            # output, sent back to the provider that wrote them).
            if message.tool_calls:
                wired["tool_calls"] = [c.model_dump() for c in message.tool_calls]
            if message.tool_call_id:
                wired["tool_call_id"] = message.tool_call_id
            messages.append(wired)
        await self._check_budget(provider)
        key_value = (
            await self._blocking(self._keystore.get, provider.key_name)
            if provider.key_name
            else None
        )
        wire = {**{k: v for k, v in body.items() if k != "messages"}, "model": remote_model}
        wire.update(messages=messages, stream=req.stream)
        if req.stream:
            wire["stream_options"] = {"include_usage": True}
        estimate = sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages)
        remote = await self._remote.chat(provider, key_value, wire, estimate)
        remote.input_flags = flags
        remote.output_filter = self._generation.output_filter()
        served = ServedBy(
            provider=provider.name,
            model=remote.model_id,
            fallback_reason=reason,
            redactions=redaction.counts(),
            currency=provider.currency,
        )
        return RoutedReply(remote, served, provider, redaction, key, self._record)

    async def _check_budget(self, provider: Provider) -> None:
        if provider.monthly_budget is None:
            return
        spent = await self._blocking(self._usage.spent_this_month, provider.name)
        if spent >= provider.monthly_budget:
            raise BudgetExceeded(
                f"The monthly budget for '{provider.name}' ({provider.monthly_budget:g} "
                f"{provider.currency}) is used up ({spent:.4f} spent). The local model "
                f"'{self._settings.default_model}' can answer instead (route: local_only)."
            )

    def _record(self, routed: RoutedReply) -> None:
        """After a reply ends: cache it, count its usage and cost (cost also goes in the body)."""
        usage = routed.usage()
        text = "".join(routed.text)
        if routed.key and routed.finish_reason in ("stop", "length"):
            self._cache.put(
                routed.key,
                CachedAnswer(text, routed.finish_reason or "stop", usage.prompt_tokens,
                             usage.completion_tokens, routed.served.provider, routed.model_id),
            )  # fmt: skip
        elapsed = (routed.ended or time.monotonic()) - routed.started
        first = (routed.first_token - routed.started) if routed.first_token else None
        generating = (routed.ended or 0) - (routed.first_token or 0)
        entry = UsageEntry(
            endpoint=routed.endpoint,
            provider=routed.served.provider,
            model=routed.model_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached=routed.served.cached,
            estimated=bool(getattr(routed.reply, "estimated", False)),
            first_token_ms=first * 1000 if first is not None else None,
            tokens_per_second=(usage.completion_tokens - 1) / generating
            if generating > 0 and usage.completion_tokens > 1 else None,
            duration_ms=elapsed * 1000,
        )  # fmt: skip
        routed.served.cost = (
            0.0
            if routed.served.cached
            else cost_of(routed.provider, usage.prompt_tokens, usage.completion_tokens)
        )
        # The row is written off the event loop; the cost is already in the reply.
        asyncio.get_running_loop().run_in_executor(None, self._usage.record, entry, routed.provider)
        if self.on_recorded is not None:
            self.on_recorded(routed)
