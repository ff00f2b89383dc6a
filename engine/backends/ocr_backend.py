"""RapidOCR (PP-OCRv4, Chinese and English, ONNX models inside its wheel) behind a small API."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float
    box: list[list[float]]  # four corners, clockwise from top-left, in image pixels


class OcrEngine:
    """Loaded on first use; one call at a time (onnxruntime sessions are not shared safely)."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def read(self, image: Any) -> list[OcrLine]:
        import numpy as np

        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR()
            # RapidOCR expects OpenCV's channel order (BGR).
            result, _elapsed = self._engine(np.asarray(image)[:, :, ::-1])
        lines = [
            OcrLine(
                text=str(text),
                confidence=round(float(conf), 4),
                box=[[float(x), float(y)] for x, y in box],
            )
            for box, text, conf in (result or [])
        ]
        # Reading order: top to bottom, then left to right.
        return sorted(lines, key=lambda line: (round(line.box[0][1] / 10), line.box[0][0]))
