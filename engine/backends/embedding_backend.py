"""A GGUF embedding model on llama.cpp's C API: its own small context (one model context long,
several sequences per decode), pooled as the GGUF says (mean, CLS, last), vectors normalised.
Not thread-safe: one thread calls it (engine.services.embeddings gives it one)."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.backends.llama_batch import free_native, load_native, tokenize_with
from engine.errors import InvalidInput, ModelLoadFailed

MAX_SEQUENCES = 16  # texts per decode


class EmbeddingModel:
    def __init__(self, path: Path, n_threads: int, n_gpu_layers: int = 0) -> None:
        self._L, self.model = load_native(path, n_gpu_layers)
        L = self._L
        self.ctx: Any = None
        self.batch: Any = None
        try:
            self.n_ctx = int(L.llama_model_n_ctx_train(self.model)) or 512
            self.dimensions = int(L.llama_model_n_embd(self.model))
            ctx_params = L.llama_context_default_params()
            ctx_params.embeddings = True
            ctx_params.n_ctx = self.n_ctx * 2  # room for a full sequence and smaller ones
            ctx_params.n_batch = ctx_params.n_ubatch = self.n_ctx * 2
            ctx_params.n_seq_max = MAX_SEQUENCES
            ctx_params.n_threads = ctx_params.n_threads_batch = n_threads
            ctx_params.no_perf = True
            self.ctx = L.llama_init_from_model(self.model, ctx_params)
            if not self.ctx:
                raise ModelLoadFailed(f"llama.cpp could not make a context for {path.name}")
            if int(L.llama_pooling_type(self.ctx)) == L.LLAMA_POOLING_TYPE_NONE:
                raise ModelLoadFailed(f"{path.name} does not pool its outputs into one vector")
            self.batch = L.llama_batch_init(self.n_ctx * 2, 0, 1)
        except BaseException:
            self.close()
            raise
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        self.memory = L.llama_get_memory(self.ctx)

    def tokenize(self, text: str) -> list[int]:
        """The model's tokens for `text`, with the start and end tokens it adds."""
        return tokenize_with(self._L, self.vocab, text, True, False)

    def check_tokens(self, tokens: Sequence[int]) -> None:
        if any(not 0 <= t < self.n_vocab for t in tokens):
            raise InvalidInput(f"token ids must be between 0 and {self.n_vocab - 1} for this "
                               "model", param="input")  # fmt: skip

    def embed(self, inputs: Sequence[Sequence[int]]) -> list[list[float]]:
        """Unit vectors for token sequences, each at most `n_ctx` tokens, several per decode."""
        out: list[list[float]] = []
        group: list[Sequence[int]] = []
        used = 0
        for tokens in inputs:
            if len(tokens) > self.n_ctx:
                raise InvalidInput(f"an input has {len(tokens)} tokens; this model reads at "
                                   f"most {self.n_ctx}", param="input")  # fmt: skip
            if group and (used + len(tokens) > self.n_ctx * 2 or len(group) == MAX_SEQUENCES):
                out += self._decode(group)
                group, used = [], 0
            group.append(tokens)
            used += len(tokens)
        if group:
            out += self._decode(group)
        return out

    def _decode(self, group: list[Sequence[int]]) -> list[list[float]]:
        L = self._L
        batch = self.batch
        i = 0
        for seq, tokens in enumerate(group):
            for pos, token in enumerate(tokens):
                batch.token[i] = token
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = True  # every token is an output of an embedding model
                i += 1
        batch.n_tokens = i
        L.llama_memory_clear(self.memory, True)
        if L.llama_decode(self.ctx, batch) != 0:
            raise ModelLoadFailed("llama.cpp could not compute the embeddings")
        vectors = []
        for seq in range(len(group)):
            ptr = L.llama_get_embeddings_seq(self.ctx, seq)
            vector = [float(x) for x in ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float))[
                : self.dimensions]]  # fmt: skip
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            vectors.append([x / norm for x in vector])
        return vectors

    def close(self) -> None:
        free_native(self)
