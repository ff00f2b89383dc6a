"""One loaded model's scheduler: continuous batching over a fixed set of slots.

A thread of its own runs steps. Each step puts into one `llama_decode` the next token of every
reply being generated (with its prompt-lookup guesses, when it has some) and a chunk of the
prompts being read, then samples each reply's next token in its own C sampler chain. A request
takes a free slot at the next step and gives it back when it ends, so new requests never wait
for old ones to finish, and a long prompt is read a chunk per step between the others' tokens.

A slot keeps what its last request evaluated: the next request that shares a prefix with it
(the next turn of the same conversation) reuses that part in place. A slot's cache that a new
request would overwrite is saved to a RAM cache first, for when that conversation comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

from engine.backends.llama_backend import Piece
from engine.errors import Busy, GenerationFailed, HearthError
from engine.serving.draft_model import Drafter
from engine.serving.pacing import DRAFT_MAX, StepPacer
from engine.serving.prompt_lookup import PromptLookup, copy_chance
from engine.serving.slots import DRAFT_PRIOR, BatchBackend, Job, Request, ServingStats, Slot
from engine.serving.state_cache import StateCache, common_prefix
from engine.serving.text_out import TextOut

log = logging.getLogger(__name__)

SAVE_AT_LEAST = 64  # a slot's cache shorter than this is not worth keeping in RAM
LOST_WITH_RAM_CACHE = 0.125  # an overwritten cached token's weight against one not read again
SHORT = 48  # prompt tokens read whole whatever the step's budget
DRAFT_QUIT = 0.3  # below this a reply's guesses are not worth checking
DRAFT_PAUSE_STEPS = 16  # ... for a while
SEND_SECONDS = 0.04  # text goes out at most this often per reply (first token at once)


def _short(slot: Slot) -> bool:
    """Whether a slot's request had little of its prompt to read (not: has little left)."""
    job = slot.job
    return job is not None and len(job.request.prompt) - job.request.stats.cached_tokens <= SHORT


def _worth(cached: list[int], prompt: list[int], lost_weight: float) -> float:
    """What placing `prompt` in a slot holding `cached` gains (tokens not read again) less
    what it loses (cached tokens overwritten, weighted by what getting them back costs): the
    next turn of a conversation goes back to its slot, a prompt sharing a long prefix with a
    slot reuses it (the same system prompt, a script's repeated question), and a new
    conversation sharing little takes an empty or the least recently used slot."""
    gain = common_prefix(cached, prompt)
    return gain - (len(cached) - gain) * lost_weight


M = TypeVar("M", bound=BatchBackend)


class Scheduler(Generic[M]):
    """Made with a function that loads the model: the scheduler's thread calls it, so that
    every llama.cpp call on this model's context, the load included, comes from that one
    thread (measured: a decode loop on another thread than the one that first evaluated the
    prompt ran at two thirds of the speed, with OpenMP's workers of both threads competing)."""

    def __init__(
        self,
        make_model: Callable[[], M],
        slots: int,
        batch_tokens: int,
        step_seconds: float,
        max_pending: int,
        retry_after: int,
        state_cache: StateCache | None = None,
        make_drafter: Callable[[M], Drafter] | None = None,
        shared_kv: bool = False,
    ) -> None:
        self.slots = [Slot(seq=i) for i in range(slots)]
        self.batch_tokens = batch_tokens
        # While replies stream, a step reading a prompt takes about step_seconds, so the
        # others' next tokens never wait for a whole long prompt.
        self.pacer = StepPacer(step_seconds, batch_tokens)
        self.max_pending = max_pending
        self.retry_after = retry_after
        self.state_cache = state_cache
        # With a KV stream per slot, llama.cpp splits a batch whose sequences have unequal
        # entries into equal parts, one decode each: one guess beside 3 other replies made the
        # step 1.5 times as dear (one pool: 1.27), and 4 story replies 8% slower with guesses.
        # So guesses go only to a reply that has the step to itself, unless the pool is one.
        self.shared_kv = shared_kv
        self._waiting: deque[Request] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._steps = 0
        self._last_batch = 0
        self._rate = 0.0  # generated tokens per second, smoothed
        self._last_measure: float | None = None
        self._drafted = 0
        self._accepted = 0
        self.drafter: Drafter | None = None
        self._loaded = threading.Event()
        self._load_error: BaseException | None = None
        self.model: M
        self._thread = threading.Thread(
            target=self._run, args=(make_model, make_drafter), name="hearth-scheduler", daemon=True
        )
        self._thread.start()
        self._loaded.wait()
        if self._load_error is not None:
            self._thread.join()
            raise self._load_error

    # -- from other threads ----------------------------------------------------------------
    def submit(self, request: Request) -> None:
        """Queue a request; Busy when the slots and the queue are all taken."""
        with self._wake:
            active = sum(1 for s in self.slots if s.job is not None)
            pending = active + len(self._waiting)
            if pending >= self.max_pending:
                raise Busy(
                    f"The model is busy: {pending} requests are running or waiting. "
                    f"Retry in {self.retry_after} s.",
                    retry_after=self.retry_after,
                )
            self._waiting.append(request)
            self._wake.notify()

    def cancel(self, request: Request) -> None:
        request.cancelled.set()
        with self._wake:
            self._wake.notify()

    @property
    def pending(self) -> int:
        with self._wake:
            return sum(1 for s in self.slots if s.job is not None) + len(self._waiting)

    def stats(self) -> ServingStats:
        with self._wake:
            cache = self.state_cache
            return ServingStats(
                slots=len(self.slots),
                slots_busy=sum(1 for s in self.slots if s.job is not None),
                waiting=len(self._waiting),
                last_batch=self._last_batch,
                tokens_per_second=round(self._rate, 1),
                drafted=self._drafted,
                drafts_accepted=self._accepted,
                state_cache_bytes=cache.size if cache else 0,
                state_cache_entries=len(cache) if cache else 0,
            )

    def close(self) -> None:
        """Stop the thread and free the model (requests still running end as cancelled)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    # -- the scheduler's thread ------------------------------------------------------------
    def _run(
        self, make_model: Callable[[], M], make_drafter: Callable[[M], Drafter] | None
    ) -> None:
        try:
            self.model = make_model()
        except BaseException as exc:  # handed to the constructor's caller
            self._load_error = exc
            self._loaded.set()
            return
        try:
            self.drafter = make_drafter(self.model) if make_drafter else None
        except BaseException as exc:
            self.model.close()
            self._load_error = exc
            self._loaded.set()
            return
        self._loaded.set()
        try:
            self._serve()
        finally:
            if self.drafter is not None:
                self.drafter.close()
            self.model.close()

    def _serve(self) -> None:
        while True:
            # No gathering wait when idle: on a CPU a step's time grows with its entries, so
            # requests sent together are served best as they come (the first at once, the rest
            # at the next step), as measured against llama-server with 4 and 8 clients.
            with self._wake:
                while not self._closed and not self._waiting and not self._busy():
                    self._wake.wait()
                if self._closed:
                    break
            try:
                self._step()
            except Exception as exc:  # a failure must end the requests, not the thread
                log.error("a decode step failed: %s", type(exc).__name__)
                self._fail_all(GenerationFailed("the model failed while generating"))
        for slot in self.slots:
            if slot.job is not None:
                self._finish(slot, "cancelled")
        for request in self._waiting:
            request.emit(Piece(text="", finish_reason="cancelled"))

    def _busy(self) -> bool:
        return any(s.job is not None for s in self.slots)

    def _step(self) -> None:
        self._drop_cancelled()
        self._admit()
        entries: list[tuple[int, int, int, bool]] = []
        decoding: list[tuple[Slot, int, list[int]]] = []  # slot, first entry, drafts
        replies = sum(1 for s in self.slots if s.job is not None and s.job.pending is not None)
        # A prompt waiting to be read gets the step's room: guesses would take its budget
        # (seen: three looping poems guessing 12 tokens each left a 2,000-token prompt a token
        # a step, read in 165 s instead of 22).
        guessing = all(s.job is None or s.job.pending is not None for s in self.slots) and (
            replies == 1 or self.shared_kv
        )
        for slot in self.slots:
            job = slot.job
            if job is None or job.pending is None:
                continue
            drafts = self._drafts(slot, job, len(entries), replies) if guessing else []
            decoding.append((slot, len(entries), drafts))
            pos = len(slot.cached)
            for i, token in enumerate([job.pending, *drafts]):
                entries.append((token, pos + i, slot.seq, True))
        reading: list[tuple[Slot, int, int]] = []  # slot, first entry, prompt tokens taken
        room = self.batch_tokens - len(entries)
        budget = self.pacer.prompt_budget(bool(decoding), room, len(entries))
        reading_start = len(entries)
        # Short prompts (a question, a conversation's next turn) first and whole: their first
        # token comes a step later at little cost to the others. Then the rest by arrival.
        by_arrival = sorted(
            (s for s in self.slots if s.job is not None and s.job.pending is None),
            key=lambda s: (not _short(s), s.job.request.arrived if s.job else 0.0),
        )
        for slot in by_arrival:
            job = slot.job
            assert job is not None
            left = len(job.request.prompt) - job.next_prompt
            take = min(
                room - (len(entries) - reading_start), left, left if _short(slot) else budget
            )
            if take <= 0:
                break
            reading.append((slot, len(entries), take))
            prompt = job.request.prompt
            for k in range(take):
                i = job.next_prompt + k
                entries.append((prompt[i], i, slot.seq, i == len(prompt) - 1))
            budget -= take
        if not entries:
            return
        started = time.monotonic()
        code = self.model.decode(entries)
        read = len(entries) - reading_start
        self.pacer.observe(len(entries), read, bool(decoding), time.monotonic() - started)
        if code != 0:
            self._decode_failed(code, decoding, reading)
            return
        self._steps += 1
        self._last_batch = len(entries)
        made = 0
        for slot, first, drafts in decoding:
            made += self._after_decode(slot, first, drafts)
        for slot, first, take in reading:
            made += self._after_read(slot, first, take)
        self._measure(made)

    def _measure(self, made: int) -> None:
        now = time.monotonic()
        last, self._last_measure = self._last_measure, now
        if last is not None and now > last:
            rate = made / (now - last)
            self._rate = rate if self._rate == 0 else 0.9 * self._rate + 0.1 * rate

    # -- admission ---------------------------------------------------------------------------
    def _drop_cancelled(self) -> None:
        for slot in self.slots:
            if slot.job is not None and slot.job.request.cancelled.is_set():
                self._finish(slot, "cancelled")
        with self._wake:
            gone = [r for r in self._waiting if r.cancelled.is_set()]
            for request in gone:
                self._waiting.remove(request)
        for request in gone:
            request.emit(Piece(text="", finish_reason="cancelled"))

    def _admit(self) -> None:
        while True:
            with self._wake:
                free = [s for s in self.slots if s.job is None]
                if not free or not self._waiting:
                    return
                request = self._waiting.popleft()
            try:
                self._place(request, free)
            except Exception:
                # Out of the queue and in no slot: it must hear of it, or its client waits on.
                request.emit(GenerationFailed("the model failed while generating"))
                raise

    def _place(self, request: Request, free: list[Slot]) -> None:
        prompt = request.prompt
        # Overwritten tokens go to the RAM cache, when there is one, and come back for a small
        # part of what reading them again costs (measured with SmolLM2 on a 2-core CPU: 1,000
        # tokens saved and restored in 42 ms, read in about 4.5 s).
        lost_weight = LOST_WITH_RAM_CACHE if self.state_cache is not None else 1.0
        slot = max(free, key=lambda s: (_worth(s.cached, prompt, lost_weight), -s.used))
        reuse = common_prefix(slot.cached, prompt) if request.params.cache_prompt else 0
        cache = self.state_cache
        if cache is not None and request.params.cache_prompt:
            kept, key = cache.best(prompt)
            if key is not None and kept > reuse + SAVE_AT_LEAST:
                state = cache.take(key)  # before saving the slot's own, which may push it out
                self._keep(slot, reuse)
                self.model.forget(slot.seq)
                if self.model.load_sequence(slot.seq, state):
                    slot.cached, reuse = list(key), kept
                else:
                    slot.cached, reuse = [], 0
        self._keep(slot, reuse)
        reuse = min(reuse, len(prompt) - 1)  # the last prompt token is read again for its logits
        self.model.forget(slot.seq, reuse)
        del slot.cached[reuse:]
        try:
            sampler = self.model.sampler(request.params)
        except HearthError as exc:
            request.emit(exc)
            return
        request.stats.cached_tokens = reuse
        slot.job = Job(
            request=request,
            sampler=sampler,
            text=TextOut(request.stop),
            lookup=PromptLookup(prompt) if request.speculate else None,
            next_prompt=reuse,
        )
        slot.used = time.monotonic()

    def _keep(self, slot: Slot, reuse: int) -> None:
        """Save a slot's cache to RAM before a request overwrites much of it."""
        cache = self.state_cache
        if cache is None or len(slot.cached) - reuse < SAVE_AT_LEAST:
            return
        if cache.touch(slot.cached):  # the same tokens were saved before: the same state
            return
        cache.put(slot.cached, self.model.save_sequence(slot.seq))

    # -- after a decode ----------------------------------------------------------------------
    def _drafts(self, slot: Slot, job: Job, batched: int, replies: int) -> list[int]:
        request = job.request
        if job.lookup is None or self._steps < job.paused_until:
            return []
        room = min(
            DRAFT_MAX,
            request.max_tokens - job.generated - 1,
            self.model.n_ctx - len(slot.cached) - 2,
            self.batch_tokens - batched - 1 - len(self.slots),  # the others' tokens come too
        )
        if room <= 0:
            return []
        if self.drafter is None:
            # The evidence that the reply copies: the match before the guess, and the reply's
            # own guesses right in a row.
            guess = job.lookup.propose(room)
            agreed = guess.matched + job.copied
            return guess.tokens[: self.pacer.draft_length(partial(copy_chance, agreed), replies)]
        want = self.pacer.draft_length(lambda k: job.hit_rate**k, replies)
        if want == 0:
            # Not worth it at this reply's hit rate; with no guesses checked, the rate would
            # never change, so hope afresh a while later.
            self._pause_drafts(job)
            return []
        assert job.pending is not None
        return self.drafter.propose(slot.seq, [*slot.cached, job.pending], min(want, room))

    def _pause_drafts(self, job: Job) -> None:
        job.hit_rate, job.paused_until = DRAFT_PRIOR, self._steps + DRAFT_PAUSE_STEPS

    def _after_read(self, slot: Slot, first: int, take: int) -> int:
        job = slot.job
        assert job is not None
        prompt = job.request.prompt
        slot.cached.extend(prompt[job.next_prompt : job.next_prompt + take])
        job.next_prompt += take
        if job.next_prompt < len(prompt):
            return 0
        return self._emit_tokens(slot, [self._sample(job, first + take - 1)])

    def _after_decode(self, slot: Slot, first: int, drafts: list[int]) -> int:
        job = slot.job
        assert job is not None
        assert job.pending is not None
        slot.cached.append(job.pending)
        sampled = [self._sample(job, first)]
        for i, draft in enumerate(drafts):
            if sampled[-1] != draft:
                break
            slot.cached.append(draft)  # the guess was right: its cache entry stands
            sampled.append(self._sample(job, first + 1 + i))
        accepted = len(sampled) - 1
        if drafts:
            self._drafted += len(drafts)
            self._accepted += accepted
            # Guesses are checked in order: a run of `accepted` rights, then (maybe) a wrong.
            seen = accepted / (accepted + (1 if accepted < len(drafts) else 0))
            job.hit_rate = 0.6 * job.hit_rate + 0.4 * seen
            job.copied = job.copied + accepted if accepted == len(drafts) else 0
            if job.hit_rate < DRAFT_QUIT:
                self._pause_drafts(job)
            if accepted < len(drafts):
                self.model.forget(slot.seq, len(slot.cached))  # the wrong guesses' entries
        return self._emit_tokens(slot, sampled)

    def _sample(self, job: Job, index: int) -> int:
        token = job.sampler.sample(index)
        top = job.request.params.logprobs
        if top is not None:
            job.logprobs.append(self.model.logprob(index, token, top))
        return token

    def _emit_tokens(self, slot: Slot, tokens: list[int]) -> int:
        """Send the new tokens' text; end the reply at an end token, a stop string or the
        length limit. Returns how many tokens were generated."""
        job = slot.job
        assert job is not None
        request = job.request
        text = ""
        for n, token in enumerate(tokens, 1):
            if self.model.is_end(token):
                del job.logprobs[n - 1 :]  # an end token is not part of the reply
                self._send(job, text)
                self._finish(slot, "stop")
                return n - 1
            job.generated += 1
            request.stats.completion_tokens = job.generated
            if job.lookup is not None:
                job.lookup.extend([token])
            piece, stopped = job.text.feed(self.model.piece(token))
            text += piece
            if stopped:
                self._send(job, text)
                self._finish(slot, "stop")
                return n
            if job.generated >= request.max_tokens:
                self._send(job, text + job.text.flush())
                self._finish(slot, "length")
                return n
        job.pending = tokens[-1]
        self._send(job, text)
        return len(tokens)

    @staticmethod
    def _send(job: Job, text: str, reason: str | None = None) -> None:
        """Pass text on: the first at once, then at most every SEND_SECONDS (a piece per token
        costs the event loop and the client a wake-up each, which a 2-core machine pays for
        in decode speed), and whatever is held when the reply ends."""
        job.outbox += text
        now = time.monotonic()
        if reason is None and job.sent and now - job.sent < SEND_SECONDS:
            return
        logprobs = None
        if job.request.params.logprobs is not None:
            logprobs, job.logprobs = job.logprobs, []
        if job.outbox or logprobs or reason is not None:
            job.request.emit(Piece(text=job.outbox, finish_reason=reason, logprobs=logprobs))
            job.outbox, job.sent = "", now

    def _finish(self, slot: Slot, reason: str, error: HearthError | None = None) -> None:
        job = slot.job
        assert job is not None
        job.sampler.close()
        slot.job = None
        slot.used = time.monotonic()
        # A cancelled job's last token may not be in the cache yet: what is cached stays valid.
        if error is None:
            self._send(job, "", reason)
            return
        if job.outbox:
            job.request.emit(Piece(job.outbox))
        job.request.emit(error)

    # -- failures ----------------------------------------------------------------------------
    def _decode_failed(
        self,
        code: int,
        decoding: list[tuple[Slot, int, list[int]]],
        reading: list[tuple[Slot, int, int]],
    ) -> None:
        involved = [slot for slot, _f, _d in decoding] + [slot for slot, _f, _t in reading]
        if code == 1:
            # The shared KV cache is full: free what idle slots keep, and if that was nothing,
            # end the most recently admitted request; the rest go on at the next step.
            idle = [s for s in self.slots if s.job is None and s.cached]
            for slot in idle:
                self.model.forget(slot.seq)
                slot.cached.clear()
            if idle:
                return
            newest = max(involved, key=lambda s: s.job.admitted if s.job else 0.0)
            self.model.forget(newest.seq)
            newest.cached.clear()
            self._finish(
                newest,
                "error",
                Busy(
                    "The model's memory for running requests is full. "
                    f"Retry in {self.retry_after} s.",
                    retry_after=self.retry_after,
                ),
            )
            return
        log.error("llama_decode failed with code %d", code)
        for slot in involved:
            self.model.forget(slot.seq)
            slot.cached.clear()
            if slot.job is not None:
                self._finish(slot, "error", GenerationFailed("the model failed while generating"))

    def _fail_all(self, error: HearthError) -> None:
        for slot in self.slots:
            self.model.forget(slot.seq)
            slot.cached.clear()
            if slot.job is not None:
                self._finish(slot, "error", error)
