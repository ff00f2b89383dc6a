"""POST /v1/embeddings, as OpenAI's (float or base64 vectors, usage counted)."""

from __future__ import annotations

import base64
import struct
from typing import Any

from fastapi import APIRouter

from engine.api.state import State
from engine.errors import InvalidInput
from engine.schemas.embeddings import EmbeddingRequest

router = APIRouter(prefix="/v1")


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


@router.post("/embeddings")
async def embeddings(body: EmbeddingRequest, state: State) -> dict[str, Any]:
    done = await state.embeddings.embed(
        body.model, body.items(), body.input_type, body.truncate, "/v1/embeddings"
    )
    size = len(done.vectors[0])
    if body.dimensions is not None and body.dimensions != size:
        raise InvalidInput(f"{done.model_id} gives {size}-dimensional vectors and cannot "
                           "shorten them", param="dimensions")  # fmt: skip
    data = [{"object": "embedding", "index": i, "embedding": _encoded(v, body.encoding_format)}
            for i, v in enumerate(done.vectors)]  # fmt: skip
    return {"object": "list", "data": data, "model": done.model_id,
            "usage": {"prompt_tokens": done.tokens, "total_tokens": done.tokens}}  # fmt: skip
