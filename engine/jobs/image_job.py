"""An image as a background job (the desktop's drag-and-drop): its text, by OCR.

A caption joins the result once a vision model can be installed (the images issue's other half).
"""

from __future__ import annotations

from typing import Any

from engine.errors import NotFound
from engine.jobs.runner import JobContext, JobKind
from engine.services.images import ImageService


def image_kind(images: ImageService) -> JobKind:
    async def handle(context: JobContext) -> Any:
        if context.input is None:
            raise NotFound("The job's input file is gone.")
        await context.report(0.0, 0, 1)
        ocr = await images.ocr(context.input)
        await context.report(1.0, 1, 1)
        return {"ocr": ocr, "caption": None}

    return JobKind(handler=handle)
