"""The audit log: one row per API request (what, who served it, tokens, status, time), kept for
a configurable number of days. Message content only when the user turns that on; never secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Scope

from engine.memory.database import Database

log = logging.getLogger(__name__)


@dataclass
class AuditRecord:
    """Filled in by routes as they learn things; written when the response ends."""

    model: str | None = None
    provider: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    redactions: dict[str, int] = field(default_factory=dict)
    moderation: list[str] = field(default_factory=list)
    content: str | None = None
    request_id: str | None = None  # also the response's x-request-id header


class AuditStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def write(
        self, method: str, endpoint: str, status: int, duration_ms: float, record: AuditRecord
    ) -> None:
        self._db.execute(
            "INSERT INTO audit (at, method, endpoint, status, duration_ms, model, provider, "
            "prompt_tokens, completion_tokens, redactions, moderation, content, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                method,
                endpoint,
                status,
                round(duration_ms, 2),
                record.model,
                record.provider,
                record.prompt_tokens,
                record.completion_tokens,
                json.dumps(record.redactions) if record.redactions else None,
                json.dumps(record.moderation) if record.moderation else None,
                record.content,
                record.request_id,
            ),
        )

    def query(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        endpoint: str | None = None,
        status: int | None = None,
        provider: str | None = None,
        request_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        clauses: list[str] = ["1"]
        args: list[Any] = []
        for column, op, value in (
            ("at", ">=", since),
            ("at", "<=", until),
            ("endpoint", "=", endpoint),
            ("status", "=", status),
            ("provider", "=", provider),
            ("request_id", "=", request_id),
        ):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                args.append(value)
        rows = self._db.query(
            f"SELECT * FROM audit WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
        out = []
        for row in rows:
            item = dict(row)
            item["redactions"] = json.loads(item["redactions"]) if item["redactions"] else {}
            item["moderation"] = json.loads(item["moderation"]) if item["moderation"] else []
            out.append(item)
        return out

    def purge(self, keep_days: float) -> int:
        return self._db.execute(
            "DELETE FROM audit WHERE at < ?", (time.time() - keep_days * 86400,)
        )


@dataclass
class AuditSink:
    """Writes a row per request; the store arrives when the lifespan opens the database."""

    store: AuditStore | None = None

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        store = self.store
        if store is None:
            return
        record = scope.get("state", {}).get("audit") or AuditRecord()
        # Only the path, never the query string (it may hold a search).
        args = (store, scope["method"], scope.get("path", ""), status, seconds * 1000, record)
        asyncio.get_running_loop().run_in_executor(None, _safe_write, *args)


def _safe_write(
    store: AuditStore, method: str, path: str, status: int, ms: float, record: AuditRecord
) -> None:
    try:
        store.write(method, path, status, ms, record)
    except Exception as exc:  # the audit must never break a request
        log.error("could not write the audit log: %s", type(exc).__name__)
