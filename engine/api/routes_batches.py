"""The Batch API in OpenAI's shape: POST /v1/files, POST/GET /v1/batches, cancel, results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from starlette.responses import Response

from engine.api.state import State, blocking
from engine.api.uploads import multipart_body, read_upload
from engine.errors import InvalidInput
from engine.jobs.batch_job import batch_object, parse_lines

router = APIRouter(prefix="/v1")
FileId = Annotated[str, Path(pattern=r"^file-[0-9a-f]{32}$")]
BatchId = Annotated[str, Path(pattern=r"^job-[0-9a-f]{32}$")]


class BatchCreate(BaseModel):
    input_file_id: str
    endpoint: Literal["/v1/chat/completions"] = "/v1/chat/completions"
    completion_window: str = "24h"
    metadata: dict[str, str] | None = None


@router.post(
    "/files",
    openapi_extra=multipart_body(
        purpose="batch (JSONL of chat completion requests), assistants or user_data (documents "
        "for vector stores), fine-tune (chat JSONL to train on)"
    ),
)
async def upload_file(request: Request, state: State) -> dict[str, Any]:
    upload = await read_upload(request, state.settings.dirs.uploads)
    try:
        purpose = upload.field("purpose") or "batch"
        if purpose not in ("batch", "assistants", "user_data", "fine-tune"):
            raise InvalidInput("purpose is 'batch', 'assistants', 'user_data' or 'fine-tune'.",
                               param="purpose")  # fmt: skip
        if purpose == "batch":
            parse_lines(upload.path.read_bytes())  # refuse a malformed batch file now
        return await blocking(state.files.add, upload.path, upload.filename, purpose)
    finally:
        upload.discard()


@router.get("/files/{file_id}")
async def get_file(file_id: FileId, state: State) -> dict[str, Any]:
    return await blocking(state.files.get, file_id)


@router.get("/files/{file_id}/content")
async def file_content(file_id: FileId, state: State) -> Response:
    data = await blocking(state.files.content, file_id)
    return Response(data, media_type="application/jsonl")


@router.post("/batches")
async def create_batch(body: BatchCreate, state: State) -> dict[str, Any]:
    await blocking(state.files.get, body.input_file_id)
    job = await state.jobs.submit(
        "batch", {"input_file_id": body.input_file_id}, None, body.input_file_id
    )
    return batch_object(job)


@router.get("/batches")
async def list_batches(state: State) -> dict[str, Any]:
    data = [batch_object(job) for job in await state.jobs.recent(kind="batch")]
    return {"object": "list", "data": data, "has_more": False}


@router.get("/batches/{batch_id}")
async def get_batch(batch_id: BatchId, state: State) -> dict[str, Any]:
    return batch_object(await state.jobs.get(batch_id))


@router.post("/batches/{batch_id}/cancel")
async def cancel_batch(batch_id: BatchId, state: State) -> dict[str, Any]:
    return batch_object(await state.jobs.cancel(batch_id))
