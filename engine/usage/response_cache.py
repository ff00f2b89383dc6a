"""Exact-match answers for deterministic requests (temperature 0 or a fixed seed).

Same model, messages and parameters give the stored answer without inference. Bounded in entries
and in age; kept in memory, since a cache is a speed-up, not a record.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    provider: str
    model: str


def cache_key(model: str, body: dict[str, Any]) -> str | None:
    """The key of a deterministic request, or None when its answer may vary."""
    temperature = body.get("temperature", 1.0)
    if body.get("seed") is None and temperature not in (0, 0.0):
        return None
    relevant = {k: v for k, v in body.items() if k not in ("stream", "stream_options", "route")}
    blob = json.dumps({"model": model, **relevant}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    def __init__(self, max_entries: int, max_age_seconds: float) -> None:
        self._entries: OrderedDict[str, tuple[float, CachedAnswer]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age_seconds

    def get(self, key: str) -> CachedAnswer | None:
        found = self._entries.get(key)
        if found is None:
            return None
        stored, answer = found
        if time.monotonic() - stored > self._max_age:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return answer

    def put(self, key: str, answer: CachedAnswer) -> None:
        self._entries[key] = (time.monotonic(), answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
