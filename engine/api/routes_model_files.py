"""POST /v1/models/pull (progress as SSE, like Ollama's), /v1/models/import, DELETE a model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from engine.api.sse import error_event, sse_response
from engine.api.state import State, blocking
from engine.errors import HearthError, InvalidInput
from engine.registry.catalog import check_model_name
from engine.registry.downloads import DownloadProgress
from engine.schemas import CustomModel
from engine.services.thread_stream import ThreadStream

router = APIRouter(prefix="/v1/models")
custom_router = APIRouter(prefix="/v1/custom-models")


class PullRequest(BaseModel):
    model: str | None = None
    url: str | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    stream: bool = True


class ImportRequest(BaseModel):
    path: str


def _line(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


async def _events(model_id: str, stream: ThreadStream[DownloadProgress]) -> AsyncIterator[str]:
    try:
        yield _line({"status": "pulling", "model": model_id})
        async for p in stream.items():
            yield _line(
                {"status": p.status, "file": p.file, "completed": p.completed, "total": p.total,
                 "bytes_per_second": round(p.bytes_per_second)}
            )  # fmt: skip
        files = await stream.future
        yield _line({"status": "success", "model": model_id, "files": files})
    except HearthError as exc:
        yield error_event(exc)
    finally:
        stream.cancel()  # a client that goes away cancels; the partial file stays for a resume
    yield "data: [DONE]\n\n"


@router.post("/pull", response_model=None)
async def pull(body: PullRequest, state: State) -> Response | dict[str, Any]:
    if (body.model is None) == (body.url is None):
        raise InvalidInput("Give exactly one of 'model' (a catalog id) and 'url'.", param="model")
    model_id, files = state.models.plan(body.model, body.url, body.sha256)
    stream = state.models.pull(files)
    if body.stream:
        return sse_response(_events(model_id, stream))
    async for _progress in stream.items():
        pass
    return {"status": "success", "model": model_id, "files": await stream.future}


@router.post("/import", status_code=201)
async def import_model(body: ImportRequest, state: State) -> dict[str, Any]:
    model_id = await blocking(state.models.import_file, body.path)
    return {"id": model_id, "object": "model", "imported": True}


@custom_router.post("", status_code=201)
async def create_custom_model(body: CustomModel, state: State) -> CustomModel:
    return await blocking(state.registry.add_custom, body)


@custom_router.get("")
async def list_custom_models(state: State) -> dict[str, Any]:
    data = [m.model_dump() for m in await blocking(state.registry.custom.all)]
    return {"object": "list", "data": data}


@custom_router.delete("/{model_id}")
async def delete_custom_model(model_id: str, state: State) -> dict[str, Any]:
    await blocking(state.registry.custom.delete, model_id)
    return {"id": model_id, "object": "custom_model.deleted", "deleted": True}


@router.delete("/{model_id:path}")
async def remove_model(model_id: str, state: State) -> dict[str, Any]:
    check_model_name(model_id)
    removed = await blocking(state.models.remove, model_id)
    return {"id": model_id, "object": "model.deleted", "deleted": True, "files": removed}
