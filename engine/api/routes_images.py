"""POST /v1/images/ocr (multipart, like the audio endpoints)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from engine.api.state import State
from engine.api.uploads import read_upload

router = APIRouter(prefix="/v1/images")


@router.post("/ocr")
async def ocr(request: Request, state: State) -> dict[str, Any]:
    upload = await read_upload(request, state.settings.dirs.uploads)
    try:
        return await state.images.ocr(upload.path)
    finally:
        upload.discard()
