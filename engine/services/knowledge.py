"""Document collections (OpenAI's vector stores, on the device): files uploaded through
/v1/files are read, chunked by the embedding model's own token count, embedded as passages and
written with their positions; a search embeds the query and fuses vector similarity
(sqlite-vec) with FTS5 trigram matches by reciprocal rank.

Indexing runs one file at a time on a worker of its own (reading on a thread, embedding on the
embedding thread), never on the chat path. The store's table of files doubles as the queue, so
files still in progress when the engine stopped are indexed again at the next start; a file's
chunks are written in one transaction, so nothing is indexed twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from engine.errors import HearthError, InvalidInput
from engine.jobs.files import FileStore
from engine.knowledge.chunking import chunk_blocks
from engine.knowledge.filters import matches
from engine.knowledge.readers import read_document
from engine.knowledge.store import Hit, KnowledgeStore
from engine.services.embeddings import EmbeddingService

log = logging.getLogger(__name__)
T = TypeVar("T")
CHUNK_TOKENS, OVERLAP_TOKENS = 400, 80  # E5 reads 512 tokens, its prefix included
EMBED_BATCH = 32
RRF_K = 60  # reciprocal rank fusion's constant (the usual one)
CANDIDATES = 50  # from each index, before fusing


class KnowledgeService:
    def __init__(
        self,
        store: KnowledgeStore,
        files: FileStore,
        embeddings: EmbeddingService,
        executor: Executor,
    ) -> None:
        self._store = store
        self._files = files
        self._embeddings = embeddings
        self._executor = executor
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._closing = False

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        for pair in await self._run(self._store.pending):  # left by the last run
            self._queue.put_nowait(pair)
        self._worker = asyncio.create_task(self._work())

    async def close(self) -> None:
        self._closing = True
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    # -- stores ------------------------------------------------------------------------------
    async def create_store(
        self,
        name: str | None,
        metadata: dict[str, str],
        file_ids: list[str],
        chunking: tuple[int, int] | None,
        model: str | None = None,
    ) -> dict[str, Any]:
        entry = self._embeddings.resolve(model)
        dimensions = await self._run(self._embeddings.dimensions, entry.id)
        created = await self._run(self._store.create, name, entry.id, dimensions, metadata)
        for file_id in file_ids:
            await self.add_file(created["id"], file_id, {}, chunking)
        return await self._run(self._store.get, created["id"])

    async def add_file(
        self,
        store_id: str,
        file_id: str,
        attributes: dict[str, Any],
        chunking: tuple[int, int] | None,
    ) -> dict[str, Any]:
        store = await self._run(self._store.get, store_id)
        stored = await self._run(self._files.get, file_id)
        size, overlap = chunking or (CHUNK_TOKENS, OVERLAP_TOKENS)
        limit = await self._run(self._embeddings.context, store["embedding_model"]) - 16
        if not 16 <= size <= limit or not 0 <= overlap <= size // 2:
            raise InvalidInput(f"chunks are 16 to {limit} tokens for {store['embedding_model']}, "
                               "with an overlap of at most half a chunk",
                               param="chunking_strategy")  # fmt: skip
        added = await self._run(self._store.add_file, store_id, file_id, stored["filename"],
                                attributes, size, overlap)  # fmt: skip
        self._queue.put_nowait((store_id, file_id))
        return added

    # -- indexing ----------------------------------------------------------------------------
    async def _work(self) -> None:
        while not self._closing:
            store_id, file_id = await self._queue.get()
            try:
                await self._run(self._index, store_id, file_id)
            except HearthError as exc:
                await self._run(self._store.set_status, store_id, file_id, "failed", exc.message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad file must not stop the others
                log.error("indexing a file failed: %s", type(exc).__name__)
                reason = f"the file could not be indexed ({type(exc).__name__})"
                await self._run(self._store.set_status, store_id, file_id, "failed", reason)

    def _index(self, store_id: str, file_id: str) -> None:
        try:
            entry = self._store.get_file(store_id, file_id)
        except HearthError:
            return  # removed while it waited
        if entry["status"] != "in_progress":
            return
        model = self._store.get(store_id)["embedding_model"]
        strategy = entry["chunking_strategy"]["static"]
        blocks = read_document(self._files.path(file_id), entry["filename"])
        chunks = chunk_blocks(
            blocks,
            lambda text: self._embeddings.count_tokens(model, text),
            strategy["max_chunk_size_tokens"],
            strategy["chunk_overlap_tokens"],
        )
        vectors: list[list[float]] = []
        for start in range(0, len(chunks), EMBED_BATCH):
            if self._closing:
                return  # stays in progress: indexed again at the next start
            batch = chunks[start : start + EMBED_BATCH]
            texts = [f"{c.heading}\n{c.text}" if c.heading else c.text for c in batch]
            vectors += self._embeddings.submit(model, texts, "passage", True).result().vectors
        size = sum(len(c.text.encode("utf-8")) for c in chunks)
        self._store.write_chunks(store_id, file_id, chunks, vectors, size)

    # -- search ------------------------------------------------------------------------------
    async def search(
        self,
        store_id: str,
        queries: list[str],
        limit: int,
        filters: dict[str, Any] | None = None,
        threshold: float = 0.0,
        ranker: str = "hybrid",
    ) -> list[Hit]:
        """The best chunks for the queries: each query's nearest vectors and its FTS5 matches,
        fused by reciprocal rank (`ranker` "vector" or "keyword" uses one of the two alone).
        Scores are scaled to 0..1 (1: first in every list)."""
        store = await self._run(self._store.get, store_id)
        ranked: list[list[int]] = []
        if ranker != "keyword":
            done = await self._embeddings.embed(store["embedding_model"], queries, "query")
            for vector in done.vectors:
                ranked.append(await self._run(self._store.nearest, store_id,
                                              store["dimensions"], vector, CANDIDATES))  # fmt: skip
        if ranker != "vector":
            for query in queries:
                ranked.append(await self._run(self._store.matching, store_id, query, CANDIDATES))
        fused: dict[int, float] = {}
        for ids in ranked:
            for rank, chunk_id in enumerate(ids):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = len(ranked) / (RRF_K + 1)
        scores = {chunk_id: score / best for chunk_id, score in fused.items()}
        hits = await self._run(self._store.hits, scores)
        kept = [h for h in hits if h.score >= threshold and matches(filters, h.attributes)]
        return kept[:limit]
