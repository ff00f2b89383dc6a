"""Sequences pushed out of their slot, kept in RAM (their KV state as bytes) so that coming back
to a conversation does not mean evaluating it again. Least recently used goes first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class StateCache:
    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[int, ...], bytearray] = OrderedDict()

    def put(self, tokens: Sequence[int], state: bytearray) -> None:
        if len(state) > self.capacity:
            return
        key = tuple(tokens)
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._entries[key] = state
        self.size += len(state)
        while self.size > self.capacity:
            _key, dropped = self._entries.popitem(last=False)
            self.size -= len(dropped)

    def touch(self, tokens: Sequence[int]) -> bool:
        """Whether a state for exactly these tokens is kept (then it becomes the most recent):
        saving it again would copy megabytes for nothing."""
        key = tuple(tokens)
        if key not in self._entries:
            return False
        self._entries.move_to_end(key)
        return True

    def best(self, tokens: Sequence[int]) -> tuple[int, tuple[int, ...] | None]:
        """The longest prefix of `tokens` a kept state covers, and that state's key."""
        best_len, best_key = 0, None
        for key in self._entries:
            n = common_prefix(key, tokens)
            if n > best_len:
                best_len, best_key = n, key
        return best_len, best_key

    def take(self, key: tuple[int, ...]) -> bytearray:
        state = self._entries.pop(key)
        self.size -= len(state)
        return state

    def __len__(self) -> int:
        return len(self._entries)
