"""Images: safe decoding, then OCR (and captioning, once a vision model is installed)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.backends.image_decoder import load_image, scale_to
from engine.backends.ocr_backend import OcrEngine
from engine.settings import EngineSettings

OCR_MAX_SIDE = 4096


class ImageService:
    def __init__(self, settings: EngineSettings, ocr: OcrEngine, executor: Executor) -> None:
        self._settings = settings
        self._ocr = ocr
        self._executor = executor

    def ocr_blocking(self, data: bytes) -> dict[str, Any]:
        image = load_image(data, self._settings.max_image_pixels)
        width, height = image.size  # type: ignore[attr-defined]
        lines = self._ocr.read(scale_to(image, OCR_MAX_SIDE))
        return {
            "object": "ocr",
            "text": "\n".join(line.text for line in lines),
            "lines": [asdict(line) for line in lines],
            "width": width,
            "height": height,
        }

    async def ocr(self, path: Path) -> dict[str, Any]:
        data = await asyncio.get_running_loop().run_in_executor(self._executor, path.read_bytes)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self.ocr_blocking, data
        )
