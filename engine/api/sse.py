"""Server-sent events in the OpenAI stream format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from pydantic import BaseModel
from starlette.responses import StreamingResponse

from engine.api.errors import error_payload
from engine.errors import HearthError

DONE = "data: [DONE]\n\n"


def event(obj: BaseModel) -> str:
    return f"data: {obj.model_dump_json(exclude_none=False)}\n\n"


def error_event(exc: HearthError) -> str:
    return f"data: {json.dumps(error_payload(exc.message, exc.type, exc.code, exc.param))}\n\n"


def sse_response(
    events: AsyncIterator[str], headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
    )
