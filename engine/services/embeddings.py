"""Embeddings: texts (or token ids) to unit vectors with a GGUF embedding model, on a thread of
their own with their own small context, so that indexing never waits for chat or holds it up.
E5-style models get their `query: ` / `passage: ` prefixes here, not from the caller."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from engine.backends.embedding_backend import EmbeddingModel
from engine.errors import InvalidInput
from engine.registry.model_registry import ModelEntry, ModelRegistry
from engine.serving.sizing import physical_cores
from engine.settings import EngineSettings
from engine.usage.store import UsageEntry, UsageStore

Purpose = Literal["query", "passage"]
KEEP_LOADED = 2  # embedding models held at once


@dataclass
class Embedded:
    model_id: str
    vectors: list[list[float]]
    tokens: int


class EmbeddingService:
    def __init__(
        self, settings: EngineSettings, registry: ModelRegistry, usage: UsageStore
    ) -> None:
        self._settings = settings
        self._usage = usage
        self._registry = registry
        # One thread: llama.cpp's context is not shared between threads, and one model's work
        # is batched into its decodes anyway.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearth-embed")
        self._models: dict[str, EmbeddingModel] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str | None) -> ModelEntry:
        wanted = name or self._settings.default_embedding_model
        entry = self._registry.resolve(wanted)
        if entry.kind != "embedding":
            raise InvalidInput(f"'{entry.id}' is a {entry.kind} model, not an embedding model; "
                               f"'{self._settings.default_embedding_model}' is the default one",
                               param="model")  # fmt: skip
        return entry

    def _model(self, entry: ModelEntry) -> EmbeddingModel:
        with self._lock:
            model = self._models.pop(entry.id, None)
            if model is None:
                threads = self._settings.embedding_threads or max(1, physical_cores() // 2)
                model = EmbeddingModel(entry.path, threads)
            self._models[entry.id] = model  # most recently used last
            while len(self._models) > KEEP_LOADED:
                self._models.pop(next(iter(self._models))).close()
            return model

    def dimensions(self, name: str | None) -> int:
        """A model's vector size (loads it). Blocking: call from a worker thread."""
        return self._thread.submit(lambda: self._model(self.resolve(name)).dimensions).result()

    def submit(
        self,
        name: str | None,
        inputs: Sequence[str | Sequence[int]],
        purpose: Purpose = "query",
        truncate: bool = False,
    ) -> Future[Embedded]:
        """Vectors for internal work (indexing), computed on the embedding thread."""
        return self._thread.submit(self._embed, name, inputs, purpose, truncate)

    def context(self, name: str | None) -> int:
        """How many tokens one input may have (loads the model). Blocking."""
        return self._thread.submit(lambda: self._model(self.resolve(name)).n_ctx).result()

    def count_tokens(self, name: str | None, text: str) -> int:
        """Tokens of a passage as the model will read it (prefix included). Blocking."""
        entry = self.resolve(name)
        prefix = entry.catalog.passage_prefix if entry.catalog else ""
        return self._thread.submit(lambda: len(self._model(entry).tokenize(prefix + text))).result()

    def _embed(
        self,
        name: str | None,
        inputs: Sequence[str | Sequence[int]],
        purpose: Purpose = "query",
        truncate: bool = False,
    ) -> Embedded:
        entry = self.resolve(name)
        card = entry.catalog
        prefix = (card.query_prefix if purpose == "query" else card.passage_prefix) if card else ""
        model = self._model(entry)
        token_lists: list[Sequence[int]] = []
        for i, item in enumerate(inputs):
            tokens = model.tokenize(prefix + item) if isinstance(item, str) else list(item)
            if not isinstance(item, str):
                model.check_tokens(tokens)
            if len(tokens) > model.n_ctx:
                if not truncate:
                    raise InvalidInput(
                        f"input[{i}] has {len(tokens)} tokens; {entry.id} reads at most "
                        f'{model.n_ctx}. Shorten it, or send "truncate": true to embed its '
                        "beginning.",
                        param="input",
                    )
                tokens = [*tokens[: model.n_ctx - 1], tokens[-1]]  # keep the end token
            token_lists.append(tokens)
        vectors = model.embed(token_lists)
        return Embedded(entry.id, vectors, sum(len(t) for t in token_lists))

    async def embed(
        self,
        name: str | None,
        inputs: Sequence[str | Sequence[int]],
        purpose: Purpose = "query",
        truncate: bool = False,
        endpoint: str | None = None,
    ) -> Embedded:
        """Vectors for a client's request (counted in the usage records under `endpoint`)."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        done = await loop.run_in_executor(
            self._thread, self._embed, name, inputs, purpose, truncate
        )
        if endpoint is not None:
            entry = UsageEntry(endpoint=endpoint, provider="local", model=done.model_id,
                               prompt_tokens=done.tokens, completion_tokens=0,
                               duration_ms=(time.monotonic() - started) * 1000)  # fmt: skip
            await loop.run_in_executor(None, self._usage.record, entry, None)
        return done

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()
