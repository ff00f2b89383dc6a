"""A piece of a document with where it is: what the readers give, the chunker cuts and the
store keeps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Passage:
    text: str
    heading: str | None = None
    page: int | None = None
    start_seconds: float | None = None
