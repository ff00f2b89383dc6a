"""Drafts from a small model of the same family: it greedily writes the next few tokens of a
reply, and the big model checks them all in one batched decode. Pays where the big model is
much slower per token than the small one (a 7B model drafted by a 0.5B one); chosen per model
in the settings (`model_options.<id>.draft_model`).

The drafter keeps, per slot, a sequence in its own context that follows the big model's: at
each step it evaluates only what it has not seen yet (the previous guesses that were right stay
in its cache), then writes the guesses one token at a time.
"""

from __future__ import annotations

from engine.backends.llama_backend import GenerationParams
from engine.serving.slots import SequenceModel
from engine.serving.state_cache import common_prefix


class Drafter:
    def __init__(self, model: SequenceModel, slots: int, batch_tokens: int) -> None:
        self.model = model
        self._batch = batch_tokens
        self._seen: dict[int, list[int]] = {seq: [] for seq in range(slots)}
        self._greedy = [model.sampler(GenerationParams(max_tokens=None, temperature=0))
                        for _ in range(slots)]  # fmt: skip

    def propose(self, seq: int, history: list[int], limit: int) -> list[int]:
        """Up to `limit` tokens the small model expects after `history` (the big model's
        evaluated tokens and its pending one); fewer when the small model fails."""
        if limit <= 0 or not history:
            return []
        seen = self._seen[seq]
        keep = min(common_prefix(seen, history), len(history) - 1)  # the last one: for logits
        entries: list[tuple[int, int, int, bool]] = []
        self.model.forget(seq, keep)
        del seen[keep:]
        while len(seen) < len(history):  # read what it has not seen, in batch-sized pieces
            start = len(seen)
            piece = history[start : start + self._batch]
            last = start + len(piece) == len(history)
            entries = [(t, start + i, seq, last and i == len(piece) - 1) for i, t in
                       enumerate(piece)]  # fmt: skip
            if self.model.decode(entries) != 0:
                self.forget(seq)
                return []
            seen.extend(piece)
        index = len(entries) - 1
        guesses: list[int] = []
        greedy = self._greedy[seq]
        while True:
            token = greedy.sample(index)
            guesses.append(token)
            if len(guesses) == limit:
                return guesses
            if self.model.decode([(token, len(seen), seq, True)]) != 0:
                return guesses
            seen.append(token)
            index = 0

    def forget(self, seq: int) -> None:
        self.model.forget(seq)
        self._seen[seq].clear()

    def close(self) -> None:
        for sampler in self._greedy:
            sampler.close()
        self.model.close()
