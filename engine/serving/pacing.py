"""How much work a scheduler step takes on: measured on this machine and model as steps run.

Two decisions rest on it. How much of a prompt a step reads while other replies stream: a
feedback loop keeps such steps near the target time (a prompt gets costlier per token as it
gets deeper, so a fixed chunk would not). And how many guessed tokens a reply's step checks:
each is a batch entry, worth it only when enough of them will be right.
"""

from __future__ import annotations

from collections.abc import Callable

DRAFT_MAX = 12
GUESS_MARGIN = 1.05


class StepPacer:
    def __init__(self, step_seconds: float, batch_tokens: int) -> None:
        self.step_seconds = step_seconds
        self.batch_tokens = batch_tokens
        self.entry_seconds = 0.005  # a batch entry's cost in a big step, measured
        self.single_seconds = 0.012  # a one-entry step's, measured
        self.prompt_token_seconds = self.entry_seconds  # a prompt token's in a mixed step

    def prompt_budget(self, streaming: bool, room: int, replies_entries: int) -> int:
        """Prompt tokens the next step may read: all that fit when no reply streams, else what
        keeps the step near its target time beside the replies' entries (their tokens and
        guesses, which vary from step to step) — at least one, however deep the prompt."""
        if not streaming:
            return room
        left = self.step_seconds - self._replies_seconds(replies_entries)
        return max(1, min(room, int(left / self.prompt_token_seconds)))

    def _replies_seconds(self, entries: int) -> float:
        return self.single_seconds + self.entry_seconds * max(0, entries - 1)

    def observe(self, entries: int, prompt_tokens: int, streaming: bool, took: float) -> None:
        """Learn from a finished step: its entries, how many were prompt tokens, its time."""
        if entries >= 8:  # big enough that the fixed cost of a step does not dominate
            self.entry_seconds = 0.8 * self.entry_seconds + 0.2 * took / entries
        elif entries == 1:
            self.single_seconds = 0.9 * self.single_seconds + 0.1 * took
        if streaming and prompt_tokens > 0 and took > 0:
            # What the prompt's part of the step cost per token (a prompt gets costlier per
            # token as it gets deeper, so this follows it); a floor, as the replies' part is
            # an estimate. Scaling whole steps instead overshot by the guesses' variation.
            rest = took - self._replies_seconds(entries - prompt_tokens)
            per_token = max(rest, 0.25 * took) / prompt_tokens
            self.prompt_token_seconds = 0.5 * self.prompt_token_seconds + 0.5 * per_token

    def draft_length(self, chance: Callable[[int], float], replies: int) -> int:
        """How many guessed tokens pay for their checking. Each costs a batch entry in a step
        that makes a token for each of `replies`; k guesses add chance(1) + ... + chance(k)
        tokens, where chance(j) is that the first j are all right. On a CPU, where an entry
        costs about half a one-token step, few pay and only when nearly all are right, and
        none when many replies already fill the batch; where entries are cheap (a GPU, a big
        model), many do."""
        single, entry = self.single_seconds, self.entry_seconds
        base = single + entry * (replies - 1)
        # Guesses must beat none by a margin: a step's first few extra entries cost more than
        # the average entry measured on big steps (a 2-token decode costs 1.6-1.8 one-token
        # decodes here).
        best, best_rate, expected = 0, GUESS_MARGIN * replies / base, float(replies)
        for k in range(1, DRAFT_MAX + 1):
            expected += chance(k)
            rate = expected / (base + entry * k)
            if rate > best_rate:
                best, best_rate = k, rate
        return best
