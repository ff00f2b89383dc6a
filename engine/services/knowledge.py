"""Document collections (OpenAI's vector stores, on the device): files uploaded through
/v1/files are read, chunked by the embedding model's own token count, embedded as passages and
written with their positions; a search embeds the query and fuses vector similarity
(sqlite-vec) with FTS5 trigram matches by reciprocal rank.

Indexing runs one file at a time on a worker of its own (reading on a thread, recordings through
the speech model's queue, pictures through OCR, embedding on the embedding thread), never on the
chat path. The store's table of files doubles as the queue, so
files still in progress when the engine stopped are indexed again at the next start; a file's
chunks are written in one transaction, so nothing is indexed twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

from engine.backends.whisper_backend import Transcript
from engine.errors import HearthError, InvalidInput
from engine.jobs.files import FileStore
from engine.knowledge.chunking import chunk_blocks
from engine.knowledge.filters import matches
from engine.knowledge.folders import FolderStore, folder_file_id, scan
from engine.knowledge.media import ocr_blocks, transcript_blocks
from engine.knowledge.readers import AUDIO, IMAGE, Block, read_document
from engine.knowledge.store import Hit, KnowledgeStore
from engine.services.embeddings import EmbeddingService
from engine.services.images import ImageService
from engine.services.transcription import TranscriptionParams, TranscriptionService

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
        transcription: TranscriptionService,
        images: ImageService,
        folders: FolderStore,
        executor: Executor,
        scan_seconds: float = 10.0,
        folder_limit: int = 20000,
    ) -> None:
        self._store = store
        self._files = files
        self._embeddings = embeddings
        self._transcription = transcription
        self._images = images
        self._folders = folders
        self._scan_seconds = scan_seconds
        self._folder_limit = folder_limit
        self._watcher: asyncio.Task[None] | None = None
        self._scanning = asyncio.Lock()
        self._executor = executor
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._progress: dict[tuple[str, str], float] = {}

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        for pair in await self._run(self._store.pending):  # left by the last run
            self._queue.put_nowait(pair)
        self._worker = asyncio.create_task(self._work())
        self._watcher = asyncio.create_task(self._watch())

    async def close(self) -> None:
        self._closing = True
        tasks = [t for t in (self._worker, self._watcher) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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

    # -- watched folders ---------------------------------------------------------------------
    async def add_folder(
        self, store_id: str, path: str, include: list[str], exclude: list[str]
    ) -> dict[str, Any]:
        """Watch a folder (recursively) for the store; its first scan starts at once."""
        await self._run(self._store.get, store_id)
        root = Path(path).expanduser()
        # The reason names no path: errors never show where things are on disk.
        if not root.is_absolute():
            raise InvalidInput("path must be an absolute folder path", param="path")
        if not root.is_dir():
            raise InvalidInput("there is no folder at that path (or it cannot be read)",
                               param="path")  # fmt: skip
        folder_id = await self._run(self._folders.add, store_id, root.resolve(), include,
                                    exclude)  # fmt: skip
        await self.scan_folders(folder_id)
        return await self._run(self._folders.get, store_id, folder_id)

    async def folders(self, store_id: str) -> list[dict[str, Any]]:
        await self._run(self._store.get, store_id)
        return await self._run(self._folders.folders, store_id)

    async def folder(self, store_id: str, folder_id: str) -> dict[str, Any]:
        return await self._run(self._folders.get, store_id, folder_id)

    async def remove_folder(self, store_id: str, folder_id: str) -> None:
        """Stop watching; the folder's files leave the store (the files on disk stay)."""
        async with self._scanning:
            for file_id in await self._run(self._folders.delete, store_id, folder_id):
                with contextlib.suppress(HearthError):  # removed by hand before
                    await self._run(self._store.remove_file, store_id, file_id)

    async def _watch(self) -> None:
        while not self._closing:
            try:
                await self.scan_folders()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a scan that fails is tried again at the next turn
                log.error("scanning the watched folders failed: %s", type(exc).__name__)
            await asyncio.sleep(self._scan_seconds)

    async def scan_folders(self, only: str | None = None) -> None:
        """Index what changed in the watched folders since their last scan: new and changed
        files are (re)indexed, deleted ones leave the store. A folder that is missing (an
        unplugged drive) keeps its files and says so."""
        async with self._scanning:
            for folder in await self._run(self._folders.folders):
                if only is None or folder["id"] == only:
                    await self._scan_folder(folder)

    async def _scan_folder(self, folder: dict[str, Any]) -> None:
        store_id, folder_id = folder["vector_store_id"], folder["id"]
        root = Path(folder["path"])
        if not await self._run(root.is_dir):
            await self._run(self._folders.scanned, folder_id, "the folder is missing")
            return
        now = await self._run(scan, root, folder["include"], folder["exclude"],
                              self._folder_limit)  # fmt: skip
        before = await self._run(self._folders.seen, folder_id)
        size, overlap = CHUNK_TOKENS, OVERLAP_TOKENS
        for rel, seen in now.items():
            file_id = folder_file_id(folder_id, rel)
            if rel not in before:
                attributes = {"folder_id": folder_id, "path": rel[:512]}
                await self._run(self._store.add_file, store_id, file_id, rel, attributes, size,
                                overlap)  # fmt: skip
            elif before[rel] != seen:
                if not await self._run(self._store.reindex, store_id, file_id):
                    await self._run(self._folders.remember, folder_id, rel, seen)
                    continue  # taken out of the store by hand: it stays out
            else:
                continue
            self._queue.put_nowait((store_id, file_id))
            await self._run(self._folders.remember, folder_id, rel, seen)
        for rel in before.keys() - now.keys():
            with contextlib.suppress(HearthError):  # removed by hand before
                await self._run(self._store.remove_file, store_id, folder_file_id(folder_id, rel))
            await self._run(self._folders.remember, folder_id, rel, None)
        error = f"only the first {self._folder_limit} files are indexed" \
            if len(now) >= self._folder_limit else None  # fmt: skip
        await self._run(self._folders.scanned, folder_id, error)

    # -- indexing ----------------------------------------------------------------------------
    async def _work(self) -> None:
        while not self._closing:
            store_id, file_id = await self._queue.get()
            try:
                await self._index(store_id, file_id)
            except HearthError as exc:
                await self._run(self._store.set_status, store_id, file_id, "failed", exc.message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad file must not stop the others
                log.error("indexing a file failed: %s", type(exc).__name__)
                reason = f"the file could not be indexed ({type(exc).__name__})"
                await self._run(self._store.set_status, store_id, file_id, "failed", reason)
            finally:
                self._progress.pop((store_id, file_id), None)

    def progress(self, store_id: str, file_id: str) -> float | None:
        """How far the file being indexed is (0 to 1); None for one that is not."""
        return self._progress.get((store_id, file_id))

    async def _index(self, store_id: str, file_id: str) -> None:
        try:
            entry = await self._run(self._store.get_file, store_id, file_id)
        except HearthError:
            return  # removed while it waited
        if entry["status"] != "in_progress":
            return
        filename = entry["filename"]
        path = await self._run(self._folders.source, file_id) or self._files.path(file_id)
        ext = Path(filename).suffix.lower()
        self._progress[(store_id, file_id)] = 0.0
        reading = 0.0  # the part of the work reading takes: most of it for a recording
        if ext in AUDIO:
            reading = 0.8
            stream, _model = await self._transcription.stream(path, TranscriptionParams(),
                                                              cleanup=lambda: None)  # fmt: skip
            async for heard in stream.items():
                self._progress[(store_id, file_id)] = round(reading * heard.fraction, 3)
            transcript = await stream.future
            assert isinstance(transcript, Transcript)
            blocks = transcript_blocks(transcript, filename)
        elif ext in IMAGE:
            blocks = ocr_blocks(await self._images.ocr(path), filename)
        else:
            blocks = await self._run(read_document, path, filename)
        await self._run(self._write, store_id, file_id, entry, blocks, reading)

    def _write(
        self, store_id: str, file_id: str, entry: dict[str, Any], blocks: list[Block],
        done_before: float,
    ) -> None:  # fmt: skip
        model = self._store.get(store_id)["embedding_model"]
        strategy = entry["chunking_strategy"]["static"]
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
            if start and self._store.status(store_id, file_id) != "in_progress":
                return  # cancelled or removed meanwhile
            batch = chunks[start : start + EMBED_BATCH]
            texts = [f"{c.heading}\n{c.text}" if c.heading else c.text for c in batch]
            vectors += self._embeddings.submit(model, texts, "passage", True).result().vectors
            share = (1 - done_before) * len(vectors) / len(chunks)
            self._progress[(store_id, file_id)] = round(done_before + share, 3)
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
