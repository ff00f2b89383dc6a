"""Background jobs: POST /v1/jobs (multipart), GET /v1/jobs[/{id}[/events|/result]], DELETE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import JSONResponse, Response

from engine.api.routes_audio import transcription_params
from engine.api.sse import sse_response
from engine.api.state import State
from engine.api.uploads import multipart_body, read_upload
from engine.errors import InvalidInput
from engine.jobs.transcription_job import params_to_json
from engine.schemas import Job, JobList
from engine.services.transcript_formats import FORMATS, MEDIA_TYPES

# Ids are checked before use: never anything shaped like a path.
JobId = Annotated[str, Path(pattern=r"^job-[0-9a-f]{32}$")]
router = APIRouter(prefix="/v1/jobs")
KINDS = ("transcription", "translation", "image")


@router.post(
    "",
    status_code=202,
    openapi_extra=multipart_body(
        kind="transcription (default), translation or image",
        model="speech model (transcription jobs)",
        language="ISO 639-1 code (transcription jobs)",
        response_format="the result's default format (json, text, srt, vtt, verbose_json)",
    ),
)
async def create_job(request: Request, state: State) -> JSONResponse:
    upload = await read_upload(request, state.settings.dirs.uploads)
    try:
        kind = upload.field("kind") or "transcription"
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}.", param="kind")
        if kind == "image":
            job = await state.jobs.submit("image", {}, upload.path, upload.filename)
        else:
            task = "translate" if kind == "translation" else "transcribe"
            params = transcription_params(upload, task)
            state.speech_models.resolve(params.model)  # an unknown model fails now, not later
            job = await state.jobs.submit(
                "transcription", params_to_json(params), upload.path, upload.filename
            )
    except BaseException:
        upload.discard()
        raise
    return JSONResponse(job.model_dump(), status_code=202)


@router.get("")
async def list_jobs(state: State) -> JobList:
    return JobList(data=await state.jobs.recent())


@router.get("/{job_id}")
async def get_job(job_id: JobId, state: State) -> Job:
    return await state.jobs.get(job_id)


@router.delete("/{job_id}")
async def cancel_job(job_id: JobId, state: State) -> Job:
    return await state.jobs.cancel(job_id)


@router.get("/{job_id}/result")
async def job_result(job_id: JobId, state: State, format: str | None = None) -> Response:
    job = await state.jobs.get(job_id, with_result=False)
    fmt = format or job.response_format
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}.", param="format")
    body = await state.jobs.result(job_id, fmt)
    if isinstance(body, dict):
        return JSONResponse(body)
    return Response(body, media_type=MEDIA_TYPES[fmt])


@router.get("/{job_id}/events")
async def job_events(job_id: JobId, state: State) -> Response:
    await state.jobs.get(job_id, with_result=False)  # 404 before the stream starts

    async def events() -> AsyncIterator[str]:
        async for job in state.jobs.watch(job_id):
            yield f"data: {job.model_dump_json()}\n\n"
        yield "data: [DONE]\n\n"

    return sse_response(events())
