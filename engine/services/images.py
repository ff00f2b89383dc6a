"""Images: safe decoding, then OCR (and captioning, once a vision model is installed)."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import Executor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.backends.image_decoder import load_image, scale_to
from engine.backends.llama_backend import GenerationParams
from engine.backends.ocr_backend import OcrEngine
from engine.errors import InvalidInput
from engine.registry.model_registry import ModelRegistry
from engine.services.generation import GenerationService
from engine.services.image_parts import checked_data_url
from engine.settings import EngineSettings

OCR_MAX_SIDE = 4096


PROMPTS = {
    "short": "Describe this image in one sentence.",
    "long": "Describe this image in detail: what it shows, any text in it, and its setting.",
}


class ImageService:
    def __init__(
        self,
        settings: EngineSettings,
        ocr: OcrEngine,
        executor: Executor,
        generation: GenerationService,
        registry: ModelRegistry,
    ) -> None:
        self._settings = settings
        self._ocr = ocr
        self._executor = executor
        self._generation = generation
        self._registry = registry

    def vision_model(self, name: str | None) -> str:
        """The vision model to caption with: the one named, else the first installed."""
        if name:
            return name
        found = sorted(e.id for e in self._registry.entries().values() if e.projector)
        if not found:
            raise InvalidInput(
                "No vision model is installed, so images cannot be described. Install one, for "
                "example `hearth models pull smolvlm-256m-instruct`; OCR (/v1/images/ocr) works "
                "without one.",
                param="model",
                code="no_vision_model",
            )
        return found[0]

    async def caption(
        self, path: Path, prompt: str | None, model: str | None, detail: str = "short"
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(self._executor, path.read_bytes)
        url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        checked = await loop.run_in_executor(
            self._executor, checked_data_url, url, self._settings.max_image_pixels, "file"
        )
        model_id = self.vision_model(model)
        messages = [
            {"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": checked}},
                {"type": "text", "text": prompt or PROMPTS.get(detail, PROMPTS["short"])},
            ]},
        ]  # fmt: skip
        params = GenerationParams(max_tokens=60 if detail == "short" else 250, temperature=0.2)
        gen = await self._generation.start_with_images(model_id, params, messages)
        text, _finish = await gen.collect()
        return {"object": "caption", "caption": text.strip(), "model": gen.model_id}

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
