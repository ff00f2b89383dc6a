"""Stored Responses-API responses: the response object as last written and the input items it
was given, so a later request can continue from it (`previous_response_id`) and a background
one can be polled."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from engine.memory.database import Database

UNFINISHED = ("queued", "in_progress")


@dataclass
class StoredResponse:
    body: dict[str, Any]
    input_items: list[dict[str, Any]]


class ResponseStore:
    """Blocking: call from worker threads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, body: dict[str, Any], input_items: list[dict[str, Any]]) -> None:
        self._db.execute(
            "INSERT INTO responses (id, created_at, status, previous_response_id, body, "
            "input_items) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "status = excluded.status, body = excluded.body",
            (body["id"], time.time(), body["status"], body.get("previous_response_id"),
             json.dumps(body, ensure_ascii=False), json.dumps(input_items, ensure_ascii=False)),
        )  # fmt: skip

    def get(self, response_id: str) -> StoredResponse | None:
        rows = self._db.query(
            "SELECT body, input_items FROM responses WHERE id = ?", (response_id,)
        )
        if not rows:
            return None
        return StoredResponse(json.loads(rows[0]["body"]), json.loads(rows[0]["input_items"]))

    def chain(self, response_id: str) -> list[StoredResponse] | None:
        """The response and the ones it continues, oldest first; None if it is not stored. A
        deleted ancestor ends the chain there."""
        chain: list[StoredResponse] = []
        seen: set[str] = set()
        next_id: str | None = response_id
        while next_id is not None and next_id not in seen:
            seen.add(next_id)
            stored = self.get(next_id)
            if stored is None:
                break
            chain.append(stored)
            next_id = stored.body.get("previous_response_id")
        return list(reversed(chain)) if chain else None

    def delete(self, response_id: str) -> bool:
        return self._db.execute("DELETE FROM responses WHERE id = ?", (response_id,)) > 0

    def fail_unfinished(self, message: str) -> int:
        """Responses a stopped engine left queued or running are marked failed (at start-up)."""
        error = json.dumps({"code": "server_error", "message": message})
        marks = ",".join("?" for _ in UNFINISHED)
        return self._db.execute(
            "UPDATE responses SET status = 'failed', body = json_set(body, '$.status', 'failed', "
            f"'$.error', json(?)) WHERE status IN ({marks})",
            (error, *UNFINISHED),
        )
