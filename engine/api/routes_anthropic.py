"""Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`): a thin translation
over the chat router, so the same models, queue, redaction, moderation, usage and audit serve
it. Errors come back in Anthropic's shape (engine.api.errors)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from engine.api.errors import anthropic_error
from engine.api.routes_chat import audit_reply
from engine.api.sse import sse_response
from engine.api.state import State
from engine.dialects.anthropic import StreamEvents, content_blocks, stop_reason, to_chat
from engine.errors import HearthError
from engine.remote.router import RoutedReply
from engine.schemas.anthropic import (
    AnthropicUsage,
    CountTokensRequest,
    MessagesRequest,
    MessagesResponse,
)

router = APIRouter(prefix="/v1/messages")


def _sse(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("", response_model=None)
async def create_message(
    body: MessagesRequest, state: State, request: Request
) -> Response | MessagesResponse:
    req = to_chat(body)
    req.stream = body.stream
    gen = await state.router.start_chat(req, "/v1/messages")
    message_id = f"msg_{uuid.uuid4().hex[:24]}"
    if body.stream:
        return sse_response(_events(gen, message_id, request))
    text, finish = await gen.collect()
    audit_reply(request, gen)
    usage = gen.usage()
    return MessagesResponse(
        id=message_id,
        model=gen.model_id,
        content=content_blocks(text, gen.tool_calls()),
        stop_reason=stop_reason(finish),
        usage=AnthropicUsage(
            input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens
        ),
    )


async def _events(gen: RoutedReply, message_id: str, request: Request) -> AsyncIterator[str]:
    start: dict[str, Any] = {
        "id": message_id, "type": "message", "role": "assistant", "model": gen.model_id,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": gen.usage().prompt_tokens, "output_tokens": 0},
    }  # fmt: skip
    blocks = StreamEvents()
    finish = None
    try:
        yield _sse("message_start", {"type": "message_start", "message": start})
        yield _sse("ping", {"type": "ping"})
        async for piece in gen.pieces():
            for name, data in blocks.piece(piece):
                yield _sse(name, data)
            finish = piece.finish_reason or finish
        for name, data in blocks.close():
            yield _sse(name, data)
        usage = gen.usage()
        yield _sse("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(finish), "stop_sequence": None},
            "usage": {"input_tokens": usage.prompt_tokens,
                      "output_tokens": usage.completion_tokens},
        })  # fmt: skip
        yield _sse("message_stop", {"type": "message_stop"})
    except HearthError as exc:
        yield _sse("error", anthropic_error(exc.status, exc.message))
    finally:
        gen.cancel()
        audit_reply(request, gen)


@router.post("/count_tokens")
async def count_tokens(body: CountTokensRequest, state: State) -> dict[str, int]:
    return {"input_tokens": await state.generation.count_chat_tokens(to_chat(body))}
