"""Memories found by meaning as well as by words: a reply's recall fuses BM25 over trigrams with
the nearest memory embeddings (the default embedding model, E5's query/passage prefixes), so "When
is the birthday party?" finds "Lina turns 30 on 4 May" and "What car do I own?" finds "The user
drives a red Volvo", which share no word.

E5's cosine similarities crowd together (0.70 to 0.85 for related and unrelated pairs alike), so
no threshold on them tells a related memory from any other. Vectors are centred first: the mean
embedding of a fixed set of everyday sentences is taken off each (queries and passages each with
their own mean) before normalising, which spreads them out (measured on the embedded model:
related pairs 0.19 to 0.56, unrelated ones at most 0.15); the threshold is the setting
`memory_min_similarity`.

Memories are embedded lazily, just before a recall, so every way of adding or editing one (the
API, "remember that" in a conversation, the memory tool) is covered without each of them knowing
about vectors."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

from engine.errors import HearthError
from engine.memory.memories import MemoryStore
from engine.schemas import Memory
from engine.services.embeddings import EmbeddingService

log = logging.getLogger(__name__)
T = TypeVar("T")
RRF_K = 60
EMBED_BATCH = 64
CENTRING = "centred-1"  # names the sentences below: vectors made with others are not mixed
EVERYDAY = [
    "How do I cook rice?", "What time is it in Tokyo?", "Explain quantum computing simply",
    "Translate this to French", "Write an email to my boss", "What is the capital of Australia?",
    "Summarize this article", "How do I fix a flat tyre?", "今天天气怎么样？", "帮我写一首诗",
    "Recommend a good book", "What's the weather like?", "Help me debug my Python code",
    "How many calories in an apple?", "Plan a trip to Rome", "What is love?", "明天开会吗？",
    "Tell me about the Roman empire", "How do I learn guitar?", "Give me a recipe for pancakes",
]  # fmt: skip
Vector = list[float]


def _centred(vector: Sequence[float], mean: Sequence[float]) -> Vector:
    moved = [v - m for v, m in zip(vector, mean, strict=True)]
    length = math.sqrt(sum(v * v for v in moved)) or 1.0
    return [v / length for v in moved]


def _mean(vectors: Sequence[Sequence[float]]) -> Vector:
    return [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]


class MemoryRecall:
    def __init__(
        self,
        memories: MemoryStore,
        embeddings: EmbeddingService,
        executor: Executor,
        min_similarity: float,
    ) -> None:
        self._memories = memories
        self._embeddings = embeddings
        self._executor = executor
        self._min_similarity = min_similarity
        self._lock = asyncio.Lock()  # one catch-up at a time
        self._means: dict[str, tuple[Vector, Vector]] = {}  # model: (query mean, passage mean)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def recall(self, text: str, limit: int) -> list[Memory]:
        """The memories most related to `text`, best first; by words alone where vectors are
        unavailable (no sqlite-vec, or the embedding model cannot be loaded)."""
        if limit <= 0:
            return []
        by_words = await self._run(self._memories.recall, text, limit * 2)
        try:
            by_meaning = await self._by_meaning(text, limit * 2)
        except HearthError as exc:
            log.warning("memories recalled by words only: %s", exc.message)
            by_meaning = []
        fused: dict[int, float] = {}
        found: dict[int, Memory] = {}
        for ranked in (by_words, by_meaning):
            for rank, memory in enumerate(ranked):
                fused[memory.id] = fused.get(memory.id, 0.0) + 1.0 / (RRF_K + rank + 1)
                found[memory.id] = memory
        best = sorted(fused, key=lambda memory_id: -fused[memory_id])
        return [found[memory_id] for memory_id in best[:limit]]

    async def _by_meaning(self, text: str, limit: int) -> list[Memory]:
        if not self._memories.has_vectors or not text.strip():
            return []
        model = self._embeddings.resolve(None).id
        query_mean, passage_mean = await self._means_of(model)
        key = f"{model}#{CENTRING}"
        await self._catch_up(model, key, passage_mean)
        query = await self._embeddings.embed(model, [text], "query", truncate=True)
        vector = _centred(query.vectors[0], query_mean)
        return await self._run(self._memories.nearest, key, vector, limit, self._min_similarity)

    async def _means_of(self, model: str) -> tuple[Vector, Vector]:
        if model not in self._means:
            queries = await self._embeddings.embed(model, EVERYDAY, "query")
            passages = await self._embeddings.embed(model, EVERYDAY, "passage")
            self._means[model] = (_mean(queries.vectors), _mean(passages.vectors))
        return self._means[model]

    async def _catch_up(self, model: str, key: str, mean: Vector) -> None:
        """Embed the memories that have no vector under `key` yet."""
        async with self._lock:
            while missing := await self._run(self._memories.unembedded, key, EMBED_BATCH):
                done = await self._embeddings.embed(model, [c for _i, c in missing], "passage",
                                                    truncate=True)  # fmt: skip
                pairs = [(i, _centred(v, mean))
                         for (i, _c), v in zip(missing, done.vectors, strict=True)]  # fmt: skip
                await self._run(self._memories.save_vectors, key, pairs)
