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


class TextEvents:
    """Events that differ only in their text, formatted from one template: a reply's content
    chunks are most of a stream, and building a model per token costs the event loop time the
    model's threads could use."""

    def __init__(self, sample: BaseModel, marker: str = '"content":""') -> None:
        text = sample.model_dump_json(exclude_none=False)
        head, found, tail = text.partition(marker)
        if not found:
            raise ValueError("the sample has no empty content to fill in")
        self._head = "data: " + head + marker[:-2]
        self._tail = tail + "\n\n"

    def __call__(self, content: str) -> str:
        return self._head + json.dumps(content, ensure_ascii=False) + self._tail


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
