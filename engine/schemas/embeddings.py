"""OpenAI's embeddings API, with Hearth's two additions (`input_type`, `truncate`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from engine.schemas.common import _Open


class EmbeddingRequest(_Open):
    model: str | None = None
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
    # Hearth: what the text is for (E5-style models embed a question and a passage apart).
    input_type: Literal["query", "passage"] = "query"
    # Hearth: embed the beginning of a text too long for the model instead of refusing it.
    truncate: bool = False

    @field_validator("input")
    @classmethod
    def _something(
        cls, v: str | list[str] | list[int] | list[list[int]]
    ) -> str | list[str] | list[int] | list[list[int]]:
        items = [v] if isinstance(v, str) else v
        if not items:
            raise ValueError("input must not be empty")
        if len(items) > 2048:
            raise ValueError("at most 2048 inputs per request")
        if any(isinstance(i, str) and not i.strip() for i in items):
            raise ValueError("an input string must not be empty")
        if any(isinstance(i, list) and not i for i in items):
            raise ValueError("a token array must not be empty")
        return v

    def items(self) -> list[str | list[int]]:
        """The inputs as strings or token arrays (a flat list of ints is one token array)."""
        v = self.input
        if isinstance(v, str):
            return [v]
        ints = [i for i in v if isinstance(i, int)]
        if len(ints) == len(v):
            return [ints]
        return [i if isinstance(i, str) else list(i) for i in v if not isinstance(i, int)]
