"""An image as a background job (the desktop's drag-and-drop): its text by OCR, and a caption
when a vision model is installed."""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidInput, NotFound
from engine.jobs.runner import JobContext, JobKind
from engine.services.images import ImageService


def image_kind(images: ImageService) -> JobKind:
    async def handle(context: JobContext) -> Any:
        if context.input is None:
            raise NotFound("The job's input file is gone.")
        await context.report(0.0, 0, 2)
        ocr = await images.ocr(context.input)
        await context.report(0.5, 1, 2)
        caption = None
        try:
            caption = (await images.caption(context.input, None, None))["caption"]
        except InvalidInput as exc:
            if exc.code != "no_vision_model":
                raise
        await context.report(1.0, 2, 2)
        return {"ocr": ocr, "caption": caption}

    return JobKind(handler=handle)
