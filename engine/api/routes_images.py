"""POST /v1/images/ocr and /v1/images/captions (multipart, like the audio endpoints)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from engine.api.state import State
from engine.api.uploads import multipart_body, read_upload
from engine.errors import InvalidInput

router = APIRouter(prefix="/v1/images")


@router.post("/ocr", openapi_extra=multipart_body())
async def ocr(request: Request, state: State) -> dict[str, Any]:
    upload = await read_upload(request, state.settings.dirs.uploads)
    try:
        return await state.images.ocr(upload.path)
    finally:
        upload.discard()


@router.post(
    "/captions",
    openapi_extra=multipart_body(
        prompt="what to ask about the image",
        model="a vision model (default: the first installed)",
        detail="short (default) or long",
    ),
)
async def captions(request: Request, state: State) -> dict[str, Any]:
    upload = await read_upload(request, state.settings.dirs.uploads)
    try:
        detail = upload.field("detail") or "short"
        if detail not in ("short", "long"):
            raise InvalidInput("detail must be 'short' or 'long'.", param="detail")
        return await state.images.caption(
            upload.path, upload.field("prompt"), upload.field("model"), detail
        )
    finally:
        upload.discard()
