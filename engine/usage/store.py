"""Every request's tokens, timing and cost, local and remote, with totals and budgets."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

from engine.memory.database import Database
from engine.schemas import Provider

GROUPS = {"day": "date(at, 'unixepoch')", "model": "model", "provider": "provider",
          "endpoint": "endpoint"}  # fmt: skip


@dataclass
class UsageEntry:
    endpoint: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool = False
    estimated: bool = False
    first_token_ms: float | None = None
    tokens_per_second: float | None = None
    duration_ms: float | None = None


def cost_of(provider: Provider | None, prompt: int, completion: int) -> float | None:
    """Cost from per-million prices; local and unpriced providers have none."""
    if provider is None or provider.price_in is None or provider.price_out is None:
        return None
    return (prompt * provider.price_in + completion * provider.price_out) / 1_000_000


def month_start(now: float | None = None) -> float:
    t = time.gmtime(now if now is not None else time.time())
    return float(calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0)))


class UsageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, entry: UsageEntry, provider: Provider | None) -> float | None:
        cost = (
            0.0 if entry.cached else cost_of(provider, entry.prompt_tokens, entry.completion_tokens)
        )
        self._db.execute(
            "INSERT INTO usage (at, endpoint, provider, model, prompt_tokens, completion_tokens, "
            "cached_tokens, cached, estimated, first_token_ms, tokens_per_second, duration_ms, "
            "cost, currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                entry.endpoint,
                entry.provider,
                entry.model,
                entry.prompt_tokens,
                entry.completion_tokens,
                entry.prompt_tokens + entry.completion_tokens if entry.cached else 0,
                int(entry.cached),
                int(entry.estimated),
                entry.first_token_ms,
                entry.tokens_per_second,
                entry.duration_ms,
                cost,
                provider.currency if provider else None,
            ),
        )
        return cost

    def totals(
        self, since: float | None, until: float | None, group_by: str | None
    ) -> list[dict[str, Any]]:
        # One key ("day") or two ("day,provider": grp is the day, `provider` the second key).
        first, _, second = (group_by or "").partition(",")
        key = GROUPS.get(first, "'all'")
        extra = f", {GROUPS[second]} AS {second}" if second in GROUPS else ""
        rows = self._db.query(
            f"SELECT {key} AS grp{extra}, count(*) AS requests, "
            "sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, "
            "sum(cached_tokens) AS cached_tokens, "
            "sum(cached) AS cached_requests, sum(cost) AS cost, "
            "group_concat(DISTINCT currency) AS currency, avg(first_token_ms) AS first_token_ms, "
            "avg(tokens_per_second) AS tokens_per_second "
            f"FROM usage WHERE at >= ? AND at <= ? GROUP BY grp{extra and ', ' + second} "
            "ORDER BY grp",
            (since if since is not None else 0, until if until is not None else time.time() + 1),
        )
        return [dict(r) for r in rows]

    def spent_this_month(self, provider: str) -> float:
        rows = self._db.query(
            "SELECT coalesce(sum(cost), 0) FROM usage WHERE provider = ? AND at >= ?",
            (provider, month_start()),
        )
        return float(rows[0][0])
