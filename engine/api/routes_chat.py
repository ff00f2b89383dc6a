"""POST /v1/chat/completions and /v1/completions: validate, call the service, map the result."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from engine.api.sse import DONE, TextEvents, error_event, event, sse_response
from engine.api.state import State
from engine.errors import HearthError
from engine.remote.router import RoutedReply
from engine.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    ChunkDelta,
    Completion,
    CompletionChoice,
    CompletionRequest,
    ServedBy,
    ToolCallDelta,
    ToolCallDeltaFunction,
)
from engine.services.generation import Generation, choice_logprobs
from engine.tools.calls import CallDelta

router = APIRouter(prefix="/v1")


def _call_delta(delta: CallDelta) -> ToolCallDelta:
    return ToolCallDelta(
        index=delta.index,
        id=delta.id,
        type="function" if delta.id else None,
        function=ToolCallDeltaFunction(name=delta.name, arguments=delta.arguments),
    )


def _finish(reason: str | None) -> str:
    # OpenAI's reasons; a cancelled reply only reaches clients that stayed, as a stop.
    return reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop"


def audit_reply(request: Request, gen: Generation | RoutedReply) -> None:
    """Tell the audit log what served this request (filled in as the reply ends)."""
    record = request.state.audit
    record.model = gen.model_id
    record.provider = gen.served.provider if isinstance(gen, RoutedReply) else "local"
    if isinstance(gen, RoutedReply):
        record.redactions = dict(gen.served.redactions)
    usage = gen.usage()
    record.prompt_tokens, record.completion_tokens = usage.prompt_tokens, usage.completion_tokens
    record.moderation = sorted(gen.flags())
    if request.app.state.engine.settings.audit_content and isinstance(gen, RoutedReply):
        record.content = "".join(gen.text)  # the reply, kept only when the user asked for it


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    req: ChatCompletionRequest, state: State, request: Request
) -> Response | ChatCompletion:
    gen = await state.router.start_chat(req)
    headers = {"x-hearth-provider": gen.served.provider}
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        events = _chat_events(gen, include_usage, lambda: audit_reply(request, gen))
        return sse_response(events, headers)
    text, finish = await gen.collect()
    audit_reply(request, gen)
    calls = gen.tool_calls()
    choice = ChatChoice(
        message=AssistantMessage(content=text or (None if calls else ""), tool_calls=calls or None),
        finish_reason=_finish(finish),
        logprobs=choice_logprobs(gen.logprobs if req.logprobs else None),
    )
    reply = ChatCompletion(
        id=gen.id,
        created=gen.created,
        model=gen.model_id,
        choices=[choice],
        usage=gen.usage(),
        hearth=gen.served,
    )
    return JSONResponse(reply.model_dump(mode="json"), headers=headers)


async def _chat_events(
    gen: RoutedReply, include_usage: bool, on_end: Callable[[], None]
) -> AsyncIterator[str]:
    def chunk(
        delta: ChunkDelta, finish: str | None = None, served: ServedBy | None = None
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=gen.id,
            created=gen.created,
            model=gen.model_id,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
            hearth=served,
        )

    content = TextEvents(chunk(ChunkDelta(content="")))
    try:
        yield event(chunk(ChunkDelta(role="assistant", content=""), served=gen.served))
        async for piece in gen.pieces():
            if piece.calls:
                if piece.text:
                    yield content(piece.text)
                yield event(chunk(ChunkDelta(tool_calls=[_call_delta(c) for c in piece.calls])))
            elif piece.logprobs is not None:
                with_logprobs = chunk(ChunkDelta(content=piece.text))
                with_logprobs.choices[0].logprobs = choice_logprobs(piece.logprobs)
                yield event(with_logprobs)
            elif piece.text:
                yield content(piece.text)
            if piece.finish_reason is not None:
                yield event(chunk(ChunkDelta(), _finish(piece.finish_reason), gen.served))
        if include_usage:
            last = ChatCompletionChunk(
                id=gen.id, created=gen.created, model=gen.model_id, choices=[], usage=gen.usage()
            )
            yield event(last)
    except HearthError as exc:
        yield error_event(exc)
    finally:
        # Runs when the client goes away too: the model stops within one token.
        gen.cancel()
        on_end()
    yield DONE


@router.post("/completions", response_model=None)
async def completions(
    req: CompletionRequest, state: State, request: Request
) -> Response | Completion:
    gen = await state.generation.start_completion(req)
    prefix = req.prompt_text() if req.echo else ""
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        events = _completion_events(gen, prefix, include_usage, lambda: audit_reply(request, gen))
        return sse_response(events)
    text, finish = await gen.collect()
    audit_reply(request, gen)
    return Completion(
        id=gen.id,
        created=gen.created,
        model=gen.model_id,
        choices=[CompletionChoice(text=prefix + text, finish_reason=_finish(finish))],
        usage=gen.usage(),
    )


async def _completion_events(
    gen: Generation, prefix: str, include_usage: bool, on_end: Callable[[], None]
) -> AsyncIterator[str]:
    def chunk(text: str, finish: str | None = None) -> Completion:
        return Completion(
            id=gen.id,
            created=gen.created,
            model=gen.model_id,
            choices=[CompletionChoice(text=text, finish_reason=finish)],
        )

    try:
        if prefix:
            yield event(chunk(prefix))
        async for piece in gen.pieces():
            finish = _finish(piece.finish_reason) if piece.finish_reason else None
            if piece.text or finish:
                yield event(chunk(piece.text, finish))
        if include_usage:
            yield event(
                Completion(
                    id=gen.id,
                    created=gen.created,
                    model=gen.model_id,
                    choices=[],
                    usage=gen.usage(),
                )
            )
    except HearthError as exc:
        yield error_event(exc)
    finally:
        gen.cancel()
        on_end()
    yield DONE
