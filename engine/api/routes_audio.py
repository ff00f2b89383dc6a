"""POST /v1/audio/transcriptions and /v1/audio/translations (multipart, like OpenAI's)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from engine.api.sse import DONE, error_event, sse_response
from engine.api.state import State
from engine.api.uploads import Upload, multipart_body, read_upload
from engine.errors import HearthError, InvalidInput
from engine.services.thread_stream import ThreadStream
from engine.services.transcript_formats import MEDIA_TYPES, render
from engine.services.transcription import Progress, TranscriptionParams

router = APIRouter(prefix="/v1/audio")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(upload: Upload, name: str) -> bool | None:
    value = upload.field(name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidInput(f"'{name}' must be true or false.", param=name)


def transcription_params(upload: Upload, task: str) -> TranscriptionParams:
    """The request's fields, checked; shared with the jobs route."""
    temperature = upload.field("temperature") or "0"
    try:
        temp = float(temperature)
    except ValueError as exc:
        raise InvalidInput("temperature must be a number.", param="temperature") from exc
    granularities = upload.fields.get("timestamp_granularities[]", []) + upload.fields.get(
        "timestamp_granularities", []
    )
    return TranscriptionParams(
        model=upload.field("model"),
        language=None if task == "translate" else (upload.field("language") or None),
        prompt=upload.field("prompt"),
        temperature=temp,
        response_format=upload.field("response_format") or "json",
        granularities=frozenset(granularities),
        vad=_flag(upload, "vad_filter"),
        task=task,
    )


async def _handle(request: Request, state: State, task: str) -> Response:
    upload = await read_upload(request, state.settings.dirs.uploads)
    try:
        params = transcription_params(upload, task)
        streaming = bool(_flag(upload, "stream"))
        stream, _model = await state.transcription.stream(upload.path, params, upload.discard)
    except BaseException:
        upload.discard()
        raise
    if streaming:
        return sse_response(_events(stream))
    async for _progress in stream.items():
        pass
    transcript = await stream.future
    body = render(transcript, params.response_format, task, params.granularities)
    if isinstance(body, dict):
        return JSONResponse(body)
    return Response(body, media_type=MEDIA_TYPES[params.response_format])


def _event(payload: dict[str, object]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _events(stream: ThreadStream[Progress]) -> AsyncIterator[str]:
    texts: list[str] = []
    try:
        async for progress in stream.items():
            if progress.segment is not None and progress.segment.text:
                delta = (" " if texts else "") + progress.segment.text
                texts.append(progress.segment.text)
                yield _event({"type": "transcript.text.delta", "delta": delta})
        yield _event({"type": "transcript.text.done", "text": " ".join(texts)})
    except HearthError as exc:
        yield error_event(exc)
    finally:
        stream.cancel()
    yield DONE


# The multipart fields both routes read (translations ignore `language`: English is the target).
SPEECH_FIELDS = {
    "model": "'whisper-1' (the default model) or an installed speech model",
    "prompt": "text that guides spelling and style",
    "temperature": "0 to 1",
    "response_format": "json, text, srt, vtt or verbose_json",
    "timestamp_granularities__": "segment and/or word (verbose_json)",
    "stream": "true: transcript.text.delta / transcript.text.done events",
    "vad_filter": "true or false; on by default for long audio",
}


@router.post(
    "/transcriptions",
    openapi_extra=multipart_body(language="ISO 639-1 code; empty means detect", **SPEECH_FIELDS),
)
async def transcriptions(request: Request, state: State) -> Response:
    return await _handle(request, state, "transcribe")


@router.post("/translations", openapi_extra=multipart_body(**SPEECH_FIELDS))
async def translations(request: Request, state: State) -> Response:
    return await _handle(request, state, "translate")
