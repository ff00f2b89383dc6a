"""OpenAI's vector stores (`/v1/vector_stores`, their files, file batches and search), kept on
the device: thin routes over engine.services.knowledge and its store."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from engine.api.state import State, blocking
from engine.knowledge.filters import check
from engine.knowledge.store import Hit

router = APIRouter(prefix="/v1/vector_stores")
StoreId = Annotated[str, Path(pattern=r"^vs_[0-9a-f]{32}$")]
FileId = Annotated[str, Path(pattern=r"^file-[0-9a-f]{32}$")]
BatchId = Annotated[str, Path(pattern=r"^vsfb_[0-9a-f]{32}$")]


class StaticChunking(BaseModel):
    max_chunk_size_tokens: int = Field(ge=16)
    chunk_overlap_tokens: int = Field(ge=0)


class ChunkingStrategy(BaseModel):
    type: Literal["auto", "static"] = "auto"
    static: StaticChunking | None = None

    def sizes(self) -> tuple[int, int] | None:
        if self.type == "static" and self.static is not None:
            return self.static.max_chunk_size_tokens, self.static.chunk_overlap_tokens
        return None


class StoreCreate(BaseModel):
    name: str | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=16)
    chunking_strategy: ChunkingStrategy | None = None
    expires_after: dict[str, Any] | None = None  # accepted; stores do not expire here
    embedding_model: str | None = None  # Hearth: which embedding model (the default's if none)


class StoreUpdate(BaseModel):
    name: str | None = None
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    expires_after: dict[str, Any] | None = None


class FileAdd(BaseModel):
    file_id: str
    attributes: dict[str, str | float | bool] = Field(default_factory=dict, max_length=16)
    chunking_strategy: ChunkingStrategy | None = None


class BatchAdd(BaseModel):
    file_ids: list[str] = Field(min_length=1, max_length=500)
    attributes: dict[str, str | float | bool] = Field(default_factory=dict, max_length=16)
    chunking_strategy: ChunkingStrategy | None = None


class RankingOptions(BaseModel):
    # OpenAI's names mean the hybrid; Hearth adds one index alone, for comparing.
    ranker: Literal["auto", "default-2024-11-15", "hybrid", "vector", "keyword"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)


class SearchRequest(BaseModel):
    query: str | list[str] = Field(min_length=1)
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False


def _sizes(strategy: ChunkingStrategy | None) -> tuple[int, int] | None:
    return strategy.sizes() if strategy else None


def listed(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": False}  # fmt: skip


def result_of(hit: Hit) -> dict[str, Any]:
    """A search result as OpenAI's, with Hearth's position fields (page, time, heading)."""
    return {
        "file_id": hit.file_id, "filename": hit.filename, "score": round(hit.score, 4),
        "attributes": hit.attributes, "content": [{"type": "text", "text": hit.text}],
        "page": hit.page, "start_seconds": hit.start_seconds, "heading": hit.heading,
    }  # fmt: skip


@router.post("")
async def create_store(body: StoreCreate, state: State) -> dict[str, Any]:
    return await state.knowledge.create_store(
        body.name, body.metadata, body.file_ids, _sizes(body.chunking_strategy),
        body.embedding_model,
    )  # fmt: skip


@router.get("")
async def list_stores(state: State) -> dict[str, Any]:
    return listed(await blocking(state.knowledge_store.all))


@router.get("/{store_id}")
async def get_store(store_id: StoreId, state: State) -> dict[str, Any]:
    return await blocking(state.knowledge_store.get, store_id)


@router.post("/{store_id}")
async def update_store(store_id: StoreId, body: StoreUpdate, state: State) -> dict[str, Any]:
    return await blocking(state.knowledge_store.update, store_id, body.name, body.metadata)


@router.delete("/{store_id}")
async def delete_store(store_id: StoreId, state: State) -> dict[str, Any]:
    await blocking(state.knowledge_store.delete, store_id)
    return {"id": store_id, "object": "vector_store.deleted", "deleted": True}


@router.post("/{store_id}/files")
async def add_file(store_id: StoreId, body: FileAdd, state: State) -> dict[str, Any]:
    return await state.knowledge.add_file(
        store_id, body.file_id, body.attributes, _sizes(body.chunking_strategy)
    )


@router.get("/{store_id}/files")
async def list_files(
    store_id: StoreId,
    state: State,
    filter: Literal["in_progress", "completed", "failed", "cancelled"] | None = None,
) -> dict[str, Any]:
    files = await blocking(state.knowledge_store.files, store_id, filter)
    return listed([_with_progress(f, state) for f in files])


@router.get("/{store_id}/files/{file_id}")
async def get_file(store_id: StoreId, file_id: FileId, state: State) -> dict[str, Any]:
    return _with_progress(await blocking(state.knowledge_store.get_file, store_id, file_id), state)


def _with_progress(entry: dict[str, Any], state: State) -> dict[str, Any]:
    """Hearth adds how far indexing is (0 to 1) while a file is in progress."""
    done = 1.0 if entry["status"] == "completed" else None
    if entry["status"] == "in_progress":
        done = state.knowledge.progress(entry["vector_store_id"], entry["id"]) or 0.0
    return {**entry, "progress": done}


@router.delete("/{store_id}/files/{file_id}")
async def remove_file(store_id: StoreId, file_id: FileId, state: State) -> dict[str, Any]:
    await blocking(state.knowledge_store.remove_file, store_id, file_id)
    return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}


@router.post("/{store_id}/file_batches")
async def add_batch(store_id: StoreId, body: BatchAdd, state: State) -> dict[str, Any]:
    for file_id in body.file_ids:
        await state.knowledge.add_file(
            store_id, file_id, body.attributes, _sizes(body.chunking_strategy)
        )
    batch_id = await blocking(state.knowledge_store.add_batch, store_id, body.file_ids)
    return _batch(await blocking(state.knowledge_store.batch, store_id, batch_id))


def _batch(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k != "files"}


@router.get("/{store_id}/file_batches/{batch_id}")
async def get_batch(store_id: StoreId, batch_id: BatchId, state: State) -> dict[str, Any]:
    return _batch(await blocking(state.knowledge_store.batch, store_id, batch_id))


@router.post("/{store_id}/file_batches/{batch_id}/cancel")
async def cancel_batch(store_id: StoreId, batch_id: BatchId, state: State) -> dict[str, Any]:
    batch = await blocking(state.knowledge_store.batch, store_id, batch_id)
    ids = [f["id"] for f in batch["files"]]
    await blocking(state.knowledge_store.cancel_files, store_id, ids)
    return _batch(await blocking(state.knowledge_store.batch, store_id, batch_id))


@router.get("/{store_id}/file_batches/{batch_id}/files")
async def batch_files(store_id: StoreId, batch_id: BatchId, state: State) -> dict[str, Any]:
    return listed((await blocking(state.knowledge_store.batch, store_id, batch_id))["files"])


@router.post("/{store_id}/search")
async def search(store_id: StoreId, body: SearchRequest, state: State) -> dict[str, Any]:
    check(body.filters)
    queries = [body.query] if isinstance(body.query, str) else body.query
    options = body.ranking_options or RankingOptions()
    ranker = options.ranker if options.ranker in ("vector", "keyword") else "hybrid"
    hits = await state.knowledge.search(
        store_id, queries, body.max_num_results, body.filters, options.score_threshold, ranker
    )
    return {"object": "vector_store.search_results.page", "search_query": queries,
            "data": [result_of(h) for h in hits], "has_more": False, "next_page": None}  # fmt: skip
