"""OpenAI's Responses API (`/v1/responses`): thin routes over engine.services.responses, which
keeps the state and translates to the chat router (the same models, queue, redaction,
moderation, usage and audit as chat completions)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from engine.api.routes_chat import audit_reply
from engine.api.sse import sse_response
from engine.api.state import State
from engine.remote.router import RoutedReply
from engine.schemas.responses import ResponsesRequest

router = APIRouter(prefix="/v1/responses")


@router.post("", response_model=None)
async def create_response(
    body: ResponsesRequest, state: State, request: Request
) -> Response | dict[str, Any]:
    service = state.responses
    prepared = await service.prepare(body)
    gen = await service.start(prepared)
    if body.stream:
        return sse_response(_events(service.stream(prepared, gen), gen, request))
    try:
        return await service.finish(prepared, gen)
    finally:
        audit_reply(request, gen)


async def _events(
    events: AsyncIterator[tuple[str, dict[str, Any]]], gen: RoutedReply, request: Request
) -> AsyncIterator[str]:
    try:
        async for name, data in events:
            yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    finally:
        audit_reply(request, gen)


@router.get("/{response_id}")
async def get_response(response_id: str, state: State) -> dict[str, Any]:
    return await state.responses.get(response_id)


@router.delete("/{response_id}")
async def delete_response(response_id: str, state: State) -> dict[str, Any]:
    await state.responses.delete(response_id)
    return {"id": response_id, "object": "response", "deleted": True}


@router.post("/{response_id}/cancel")
async def cancel_response(response_id: str, state: State) -> dict[str, Any]:
    return await state.responses.cancel(response_id)


@router.get("/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    state: State,
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> dict[str, Any]:
    return await state.responses.input_items(response_id, limit, order, after)
