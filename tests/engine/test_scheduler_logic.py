"""The scheduler's logic against a tiny deterministic stand-in for llama.cpp (fast; the real
model's tests are in test_serving.py): continuous batching, chunked prompts, prefix reuse,
drafts, stops, cancellation, a full queue and a full KV cache."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from engine.backends.llama_backend import GenerationParams, Piece, TokenLogprob
from engine.errors import Busy, HearthError
from engine.serving.pacing import StepPacer
from engine.serving.prompt_lookup import Guess, PromptLookup, copy_chance
from engine.serving.scheduler import Scheduler
from engine.serving.slots import Request
from engine.serving.state_cache import StateCache
from engine.serving.text_out import TextOut

END = 0
VOCAB = 100


def follow(token: int) -> int:
    """The stand-in model's 'greedy' next token: 7 follows 6 follows 5 ... 50 ends; from 51
    on it runs 51 ... 60, 51 ... and never ends."""
    if token == 50:
        return END
    return 51 if token == 60 else token + 1


@dataclass
class FakeModel:
    """Positions and sequences are checked like llama.cpp's cache would: a token must sit at
    the next free position of its sequence."""

    n_ctx: int = 4096
    capacity: int = 100_000  # cache cells in all
    steps: list[list[tuple[int, int, int, bool]]] = field(default_factory=list)
    cache: dict[int, list[int]] = field(default_factory=dict)
    last: list[tuple[int, int, int, bool]] = field(default_factory=list)
    closed: bool = False
    saves: int = 0

    def sampler(self, params: GenerationParams) -> FakeSampler:
        return FakeSampler(self)

    def decode(self, entries: list[tuple[int, int, int, bool]]) -> int:
        if sum(len(v) for v in self.cache.values()) + len(entries) > self.capacity:
            return 1
        for token, pos, seq, _logits in entries:
            held = self.cache.setdefault(seq, [])
            assert pos == len(held), f"seq {seq}: token at {pos}, but {len(held)} are cached"
            held.append(token)
        self.steps.append(list(entries))
        self.last = list(entries)
        return 0

    def forget(self, seq: int, start: int = 0) -> None:
        del self.cache.setdefault(seq, [])[start:]

    def save_sequence(self, seq: int) -> bytearray:
        self.saves += 1
        return bytearray(self.cache.get(seq, []))

    def load_sequence(self, seq: int, state: bytearray) -> bool:
        self.cache[seq] = list(state)
        return True

    def piece(self, token: int) -> bytes:
        return f"<{token}>".encode()

    def is_end(self, token: int) -> bool:
        return token == END

    def logprob(self, index: int, token: int, top: int) -> TokenLogprob:
        return TokenLogprob(self.piece(token), -0.5)

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeSampler:
    model: FakeModel

    def sample(self, index: int) -> int:
        assert self.model.last[index][3], "sampled where no logits were asked for"
        return follow(self.model.last[index][0])

    def close(self) -> None:
        pass


@dataclass
class Collected:
    pieces: list[Piece] = field(default_factory=list)
    error: HearthError | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def __call__(self, item: Piece | HearthError) -> None:
        if isinstance(item, HearthError):
            self.error = item
            self.done.set()
            return
        self.pieces.append(item)
        if item.finish_reason is not None:
            self.done.set()

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)

    @property
    def finish(self) -> str | None:
        return self.pieces[-1].finish_reason if self.pieces else None


def request(prompt: list[int], max_tokens: int = 8, **kw: object) -> tuple[Request, Collected]:
    out = Collected()
    params = GenerationParams(max_tokens=max_tokens, temperature=0)
    return Request(prompt=prompt, params=params, stop=[], max_tokens=max_tokens, emit=out,
                   **kw), out  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


def scheduler(model: FakeModel, **kw: object) -> Scheduler[FakeModel]:
    args: dict[str, object] = {"slots": 2, "batch_tokens": 64, "step_seconds": 10.0,
                               "max_pending": 8, "retry_after": 1}  # fmt: skip
    args.update(kw)
    return Scheduler(lambda: model, **args)  # type: ignore[arg-type]


def serve_together(
    sched: Scheduler[FakeModel], *requests: tuple[Request, Collected]
) -> list[Collected]:
    """Submit the requests at once, wait for all, close the scheduler."""
    try:
        for req, _out in requests:
            sched.submit(req)
        for _req, out in requests:
            assert out.done.wait(5)
    finally:
        sched.close()
    return [out for _req, out in requests]


@pytest.fixture
def running(model: FakeModel) -> Iterator[Scheduler[FakeModel]]:
    sched = scheduler(model)
    yield sched
    sched.close()
    assert model.closed  # freed on the scheduler's own thread


def test_a_reply_is_the_models_greedy_continuation(running: Scheduler[FakeModel]) -> None:
    req, out = request([1, 2, 3], max_tokens=4)
    running.submit(req)
    assert out.done.wait(5)
    assert out.text == "<4><5><6><7>"
    assert out.finish == "length"
    assert req.stats.completion_tokens == 4


def test_an_end_token_stops_without_being_sent(running: Scheduler[FakeModel]) -> None:
    req, out = request([47], max_tokens=10)
    running.submit(req)
    assert out.done.wait(5)
    assert (out.text, out.finish) == ("<48><49><50>", "stop")
    assert req.stats.completion_tokens == 3


def test_requests_share_steps_and_a_late_one_joins_at_once(model: FakeModel) -> None:
    gate = threading.Event()
    first_out = Collected()

    def slow(item: Piece | HearthError) -> None:
        first_out(item)
        gate.wait(5)  # hold the scheduler's thread after each piece until the second arrives

    sched = scheduler(model)
    try:
        first = Request([1, 2], GenerationParams(max_tokens=6, temperature=0), [], 6, slow)
        sched.submit(first)
        second, out = request([30, 31], max_tokens=3)
        sched.submit(second)
        gate.set()
        assert first_out.done.wait(5)
        assert out.done.wait(5)
    finally:
        sched.close()
    both = [s for s in model.steps if {e[2] for e in s} == {0, 1}]
    assert both, "no step decoded the two sequences together"
    assert out.text == "<32><33><34>"
    assert first_out.text == "<3><4><5><6><7><8>"


def test_a_long_prompt_is_read_in_chunks_between_the_others_tokens(model: FakeModel) -> None:
    sched = scheduler(model, step_seconds=0.0)  # no time to spare: chunks shrink to a token
    try:
        streaming, out = request([51], max_tokens=1_000_000)  # never ends by itself
        sched.submit(streaming)
        while not out.pieces:  # it is streaming now
            threading.Event().wait(0.001)
        long_prompt = [9] * 200
        late, late_out = request(long_prompt, max_tokens=2)
        sched.submit(late)
        assert late_out.done.wait(5)
        sched.cancel(streaming)
        assert out.done.wait(5)
    finally:
        sched.close()
    assert out.finish == "cancelled"
    reading = [s for s in model.steps if any(e[2] == 1 for e in s)]
    sizes = [sum(1 for e in s if e[2] == 1) for s in reading]
    assert sizes[0] <= 32  # the first chunk, before any step was measured
    assert sizes[-2] == 1  # steps over their target time made the chunks shrink
    # Every step that read a piece of the long prompt also carried the stream's next token.
    while_read = [s for s in reading if any(e[2] == 0 for e in s)]
    assert len(while_read) >= len(reading) - 2


def test_the_next_turn_reuses_its_prefix_in_the_same_slot(running: Scheduler[FakeModel]) -> None:
    turn1, out1 = request([11, 12, 13, 14, 15], max_tokens=3)
    running.submit(turn1)
    assert out1.done.wait(5)
    other, out_other = request([40, 41, 42], max_tokens=2)  # takes the other slot
    running.submit(other)
    assert out_other.done.wait(5)
    turn2, out2 = request([11, 12, 13, 14, 15, 16, 17, 18, 21, 22], max_tokens=2)
    running.submit(turn2)
    assert out2.done.wait(5)
    # The prompt and the reply's evaluated tokens (its last one was sent, never evaluated).
    assert turn2.stats.cached_tokens == 7
    assert out2.text == "<23><24>"


def test_a_repeated_prompt_reuses_its_slot_when_a_ram_cache_keeps_what_it_overwrites(
    model: FakeModel,
) -> None:
    """The same question again (a script, a benchmark, a shared system prompt) reads only its
    last token, though an empty slot is free and the slot's long reply is overwritten: that
    reply goes to the RAM cache, which gives it back for far less than reading it."""
    sched = scheduler(model, state_cache=StateCache(1 << 20))
    question = list(range(1, 21))
    try:
        first, out = request([*question, 51], max_tokens=80)  # 51 ... 60 never ends
        sched.submit(first)
        assert out.done.wait(5)
        again, again_out = request([*question, 52], max_tokens=2)
        sched.submit(again)
        assert again_out.done.wait(5)
        new, new_out = request([1, 99, 98], max_tokens=2)  # shares one token: the empty slot
        sched.submit(new)
        assert new_out.done.wait(5)
    finally:
        sched.close()
    assert again.stats.cached_tokens == 20
    assert len(sched.state_cache or []) == 1  # the first reply, kept when overwritten
    assert new.stats.cached_tokens == 0
    assert {seq for seq, held in model.cache.items() if held} == {0, 1}


def test_a_state_already_in_the_ram_cache_is_not_saved_again(model: FakeModel) -> None:
    """The same question asked again gets the same reply at temperature 0: the slot then
    holds exactly what the RAM cache already has."""
    sched = scheduler(model, slots=1, state_cache=StateCache(1 << 20))
    try:
        for _ in range(3):
            again, out = request([*range(1, 21), 51], max_tokens=80)
            sched.submit(again)
            assert out.done.wait(5)
    finally:
        sched.close()
    assert again.stats.cached_tokens == 20
    assert model.saves == 1


def test_without_a_ram_cache_a_long_conversation_is_not_overwritten_for_a_short_prefix(
    model: FakeModel,
) -> None:
    sched = scheduler(model)
    question = list(range(1, 21))
    try:
        first, out = request([*question, 51], max_tokens=80)
        sched.submit(first)
        assert out.done.wait(5)
        again, again_out = request([*question, 52], max_tokens=2)
        sched.submit(again)
        assert again_out.done.wait(5)
    finally:
        sched.close()
    assert again.stats.cached_tokens == 0  # read in the empty slot
    assert len(model.cache[0]) > 80  # the first conversation is still whole


def test_an_overwritten_conversation_comes_back_from_the_ram_cache(model: FakeModel) -> None:
    sched = scheduler(model, slots=1, state_cache=StateCache(1 << 20))
    try:
        long_conversation = list(range(1, 41)) * 2  # 80 tokens: worth keeping
        first, out = request(long_conversation, max_tokens=2)
        sched.submit(first)
        assert out.done.wait(5)
        other, other_out = request([55, 56], max_tokens=2)  # the only slot is overwritten
        sched.submit(other)
        assert other_out.done.wait(5)
        # The same conversation with its reply's first token (41) and a new turn (44).
        back, back_out = request([*long_conversation, 41, 44], max_tokens=2)
        sched.submit(back)
        assert back_out.done.wait(5)
    finally:
        sched.close()
    assert back.stats.cached_tokens == 81  # restored from RAM, not read again
    assert back_out.text == "<45><46>"


def test_a_ram_cache_with_room_for_one_swaps_two_conversations(model: FakeModel) -> None:
    """Saving the slot's conversation pushes out the very state about to be restored (seen in
    a soak: the request was lost and the others failed)."""
    sched = scheduler(model, slots=1, state_cache=StateCache(100))  # one 80-token state fits
    a, b = list(range(1, 41)) * 2, list(range(2, 42)) * 2
    try:
        for prompt in (a, b):
            first, out = request(prompt, max_tokens=2)
            sched.submit(first)
            assert out.done.wait(5)
        back, back_out = request([*a, 41, 44], max_tokens=2)  # a comes back; b must be saved
        sched.submit(back)
        assert back_out.done.wait(5)
        again, again_out = request([*b, 42, 44], max_tokens=2)  # and b after it
        sched.submit(again)
        assert again_out.done.wait(5)
    finally:
        sched.close()
    assert back_out.error is None
    assert again_out.error is None
    assert back_out.text == again_out.text == "<45><46>"
    assert back.stats.cached_tokens == again.stats.cached_tokens == 81


def test_drafts_guessed_from_the_prompt_change_nothing_but_speed(model: FakeModel) -> None:
    prompt = [*range(10, 30), 5, 6]  # 5, 6 -> its greedy run 7, 8, ... copies the prompt's
    texts = {}
    for speculate in (False, True):
        model.steps.clear()
        sched = scheduler(model, slots=1)
        try:
            req, out = request(prompt, max_tokens=30, speculate=speculate)
            sched.submit(req)
            assert out.done.wait(5)
            texts[speculate] = out.text
            stats = sched.stats()
        finally:
            sched.close()
        model.cache.clear()
        if speculate:
            assert stats.drafts_accepted > 10
            steps = len([s for s in model.steps if any(e[2] == 0 for e in s)])
    assert texts[True] == texts[False]
    assert steps < 30  # several tokens per step (without drafts: a step per token)


class CpuCosts(StepPacer):
    """A CPU's step costs, kept fixed (the stand-in's steps take no time to learn from): a
    batch entry costs half a one-token step."""

    def __init__(self) -> None:
        super().__init__(10.0, 64)
        self.single_seconds, self.entry_seconds = 0.012, 0.006

    def observe(self, entries: int, prompt_tokens: int, streaming: bool, took: float) -> None:
        pass


def test_guesses_grow_with_a_copy_and_come_back_after_an_edit(model: FakeModel) -> None:
    """An edit: the reply copies 10 ... 19, writes 20 where the prompt has 40 (one wrong
    guess), then copies 21 ... 49. Guesses start short while little agrees and grow as the
    reply goes on copying; after the edit they start short again and grow again (a running
    hit rate used to stop them for the rest of an edit)."""
    prompt = [*range(10, 20), 40, *range(21, 50), 5, 6]
    sched = scheduler(model, slots=1)
    sched.pacer = CpuCosts()
    (out,) = serve_together(sched, request(prompt, max_tokens=60))
    stats = sched.stats()  # its counters outlive the scheduler's thread
    assert out.text == "".join(f"<{t}>" for t in range(7, 51))
    guesses = [len(step) - 1 for step in model.steps[1:]]  # the first step read the prompt
    runs = [list(run) for guessing, run in itertools.groupby(guesses, bool) if guessing]
    assert len(runs) == 2  # before the edit and after it: [2, 4], [2, 4, 5, 7, 9] here
    for run in runs:
        assert run[0] <= 2
        assert run == sorted(run)
    assert max(runs[1]) >= 8
    assert stats.drafted > stats.drafts_accepted  # the miss at 40


def test_no_guesses_while_a_prompt_waits_to_be_read(model: FakeModel) -> None:
    """A reply that copies would guess; while another request's long prompt is read in
    chunks beside it, the step's room goes to that prompt, and the guesses come back after."""
    pacer = CpuCosts()
    pacer.step_seconds = 0.03  # three prompt tokens a step beside one reply
    sched = scheduler(model, slots=2)
    sched.pacer = pacer
    copying_out, _ = serve_together(
        sched, request([*range(10, 50), 5, 6], max_tokens=60), request([70] * 60, max_tokens=1)
    )
    assert copying_out.text == "".join(f"<{t}>" for t in range(7, 51))  # the same reply
    copy_seq = model.steps[0][0][2]  # the first step read the copying prompt first, whole
    beside = [s for s in model.steps[1:] if any(e[2] != copy_seq for e in s)]  # the long one's
    assert len(beside) >= 10
    assert all(sum(e[2] == copy_seq for e in s) == 1 for s in beside)  # its token, no guesses
    after = model.steps[model.steps.index(beside[-1]) + 1 :]
    assert any(sum(e[2] == copy_seq for e in s) > 1 for s in after)


def test_no_guesses_beside_other_replies_with_a_kv_stream_per_slot(model: FakeModel) -> None:
    """Unequal entries per sequence split a step into several decodes there: a reply that
    copies guesses only once it has the step to itself (or always, with one KV pool)."""
    for shared in (False, True):
        model.steps.clear()
        model.cache.clear()
        sched = scheduler(model, slots=2, shared_kv=shared)
        sched.pacer = CpuCosts()
        copying_out, other_out = serve_together(
            sched, request([*range(10, 50), 5, 6], max_tokens=60), request([80], max_tokens=20)
        )
        assert copying_out.text == "".join(f"<{t}>" for t in range(7, 51))
        assert other_out.text == "".join(f"<{t}>" for t in range(81, 101))
        both = [s for s in model.steps[1:] if len({e[2] for e in s}) == 2]
        assert len(both) >= 10
        guessed_beside = any(len(s) > 2 for s in both)
        assert guessed_beside == shared
        if not shared:  # the copying reply outlasts the other and then guesses alone
            alone = model.steps[model.steps.index(both[-1]) + 1 :]
            assert any(len(s) > 1 for s in alone)


def test_a_guess_says_how_long_the_reply_has_agreed_with_what_it_copies() -> None:
    lookup = PromptLookup([1, 2, 3, 4, 5, 6, 7, 8])
    lookup.extend([9, 3, 4, 5])
    guess = lookup.propose(2)
    assert guess == Guess([6, 7], matched=3)  # 3 4 5 agree; 9 and 2 do not
    lookup.extend([6, 7])
    assert lookup.propose(8) == Guess([8, 9, 3, 4, 5, 6, 7], matched=5)
    assert lookup.propose(0) == Guess([], 0)
    # A longer agreement makes a long run of guesses likelier, never certain; under 4 tokens
    # it is no evidence.
    assert copy_chance(3, 1) == 0.0
    assert 0.0 < copy_chance(4, 4) < copy_chance(20, 4) < 1.0
    assert copy_chance(20, 4) < copy_chance(20, 1)


def test_stop_strings_across_tokens_and_split_characters() -> None:
    out = TextOut(["END"])
    assert out.feed(b"abc E") == ("abc ", False)  # " E" could begin the stop string
    assert out.feed(b"N") == ("", False)
    assert out.feed(b"D and more") == ("", True)
    split = TextOut([])
    euro = "€".encode()
    assert split.feed(euro[:2]) == ("", False)
    assert split.feed(euro[2:]) == ("€", False)


def test_cancel_frees_the_slot_and_a_full_queue_is_busy(model: FakeModel) -> None:
    sched = scheduler(model, slots=1, max_pending=2)
    hold = threading.Event()

    def blocking(item: Piece | HearthError) -> None:
        hold.wait(5)

    try:
        first = Request([1], GenerationParams(max_tokens=1000, temperature=0), [], 1000, blocking)
        sched.submit(first)
        waiting, waiting_out = request([2], max_tokens=2)
        sched.submit(waiting)
        with pytest.raises(Busy):
            sched.submit(request([3])[0])
        sched.cancel(first)
        hold.set()
        assert waiting_out.done.wait(5)  # it got the slot
        assert waiting_out.text == "<3><4>"
    finally:
        sched.close()


def test_a_full_kv_cache_ends_the_newest_request_with_busy() -> None:
    model = FakeModel(capacity=30)
    first_out, second_out = serve_together(
        scheduler(model, slots=2), request([1] * 10, max_tokens=8), request([2] * 10, max_tokens=20)
    )
    errors = [o.error for o in (first_out, second_out) if o.error is not None]
    assert len(errors) == 1
    assert isinstance(errors[0], Busy)


def test_a_failure_while_placing_a_request_answers_it_and_serving_goes_on(
    model: FakeModel,
) -> None:
    sched = scheduler(model)
    real_sampler = model.sampler
    model.sampler = lambda params: (_ for _ in ()).throw(RuntimeError("boom"))  # type: ignore[method-assign]
    try:
        doomed, doomed_out = request([1, 2], max_tokens=2)
        sched.submit(doomed)
        assert doomed_out.done.wait(5)  # told, not left waiting
        model.sampler = real_sampler  # type: ignore[method-assign]
        fine, fine_out = request([1, 2], max_tokens=2)
        sched.submit(fine)
        assert fine_out.done.wait(5)
    finally:
        sched.close()
    assert doomed_out.error is not None
    assert doomed_out.error.code == "generation_failed"
    assert fine_out.text == "<3><4>"
