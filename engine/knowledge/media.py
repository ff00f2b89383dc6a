"""Recordings and pictures as blocks for a collection: each transcript segment keeps its start
time (a citation opens the recording there); a picture's OCR lines become its text."""

from __future__ import annotations

from typing import Any

from engine.backends.whisper_backend import Transcript
from engine.knowledge.readers import Block, Unreadable


def transcript_blocks(transcript: Transcript, filename: str) -> list[Block]:
    blocks = [Block(s.text.strip(), start_seconds=round(s.start, 2))
              for s in transcript.segments if s.text.strip()]  # fmt: skip
    if not blocks:
        raise Unreadable(f"no speech was heard in {filename}")
    return blocks


def ocr_blocks(ocr: dict[str, Any], filename: str) -> list[Block]:
    lines = [line["text"].strip() for line in ocr["lines"] if line["text"].strip()]
    if not lines:
        raise Unreadable(f"no text was found in the picture {filename}")
    return [Block("\n".join(lines))]
