"""What a scheduler works with: the model's side it needs, a request, a request at work in a
slot, the slots themselves, and the figures it reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from engine.backends.llama_backend import GenerationParams, GenerationStats, Piece, TokenLogprob
from engine.errors import HearthError
from engine.serving.prompt_lookup import PromptLookup
from engine.serving.text_out import TextOut

Emit = Callable[[Piece | HearthError], None]
DRAFT_PRIOR = 0.7  # the chance a guessed token is right, before a reply has shown its own


class Sampler(Protocol):
    def sample(self, index: int) -> int: ...
    def close(self) -> None: ...


class SequenceModel(Protocol):
    """Sequences decoded in batches and sampled: what a draft model needs too."""

    def sampler(self, params: GenerationParams) -> Sampler: ...
    def decode(self, entries: list[tuple[int, int, int, bool]]) -> int: ...
    def forget(self, seq: int, start: int = 0) -> None: ...
    def close(self) -> None: ...


class BatchBackend(SequenceModel, Protocol):
    """What the scheduler needs of a model (engine.backends.llama_batch.BatchModel)."""

    n_ctx: int

    def save_sequence(self, seq: int) -> bytearray: ...
    def load_sequence(self, seq: int, state: bytearray) -> bool: ...
    def piece(self, token: int) -> bytes: ...
    def is_end(self, token: int) -> bool: ...
    def logprob(self, index: int, token: int, top: int) -> TokenLogprob: ...


@dataclass
class Request:
    """A prompt to continue, and where its pieces go (called from the scheduler's thread)."""

    prompt: list[int]
    params: GenerationParams
    stop: list[str]
    max_tokens: int
    emit: Emit
    stats: GenerationStats = field(default_factory=GenerationStats)
    speculate: bool = True
    cancelled: threading.Event = field(default_factory=threading.Event)
    arrived: float = field(default_factory=time.monotonic)


@dataclass
class Job:
    """A request in a slot."""

    request: Request
    sampler: Sampler
    text: TextOut
    lookup: PromptLookup | None
    next_prompt: int  # index of the next prompt token to evaluate
    admitted: float = field(default_factory=time.monotonic)
    pending: int | None = None  # sampled, not yet evaluated: its cache entry comes next step
    generated: int = 0
    hit_rate: float = DRAFT_PRIOR  # how often this reply's guessed tokens were right, smoothed
    paused_until: int = 0
    copied: int = 0  # guessed tokens right in a row since the last wrong one
    logprobs: list[TokenLogprob] = field(default_factory=list)  # for tokens not yet sent
    outbox: str = ""  # text not yet sent
    sent: float = 0.0  # when text was last sent


@dataclass
class Slot:
    seq: int
    cached: list[int] = field(default_factory=list)  # tokens whose KV entries this seq holds
    job: Job | None = None
    used: float = 0.0


@dataclass
class ServingStats:
    slots: int
    slots_busy: int
    waiting: int
    last_batch: int
    tokens_per_second: float
    drafted: int
    drafts_accepted: int
    state_cache_bytes: int
    state_cache_entries: int
