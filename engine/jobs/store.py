"""Jobs in the engine's SQLite database, so results survive a restart."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from engine.memory.database import Database
from engine.schemas import Job

INTERRUPTED = "The engine stopped while this job was running; submit it again."


class JobStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, job_id: str, kind: str, params: dict[str, Any], input_name: str) -> None:
        self._db.execute(
            "INSERT INTO jobs (id, kind, status, params, input_name, created_at) "
            "VALUES (?, ?, 'queued', ?, ?, ?)",
            (job_id, kind, json.dumps(params), input_name, time.time()),
        )

    def params(self, job_id: str) -> dict[str, Any]:
        rows = self._db.query("SELECT params FROM jobs WHERE id = ?", (job_id,))
        return json.loads(rows[0]["params"]) if rows else {}

    def get(self, job_id: str) -> Job | None:
        rows = self._db.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def result(self, job_id: str) -> Any:
        rows = self._db.query("SELECT result FROM jobs WHERE id = ?", (job_id,))
        return json.loads(rows[0]["result"]) if rows and rows[0]["result"] else None

    def recent(self, limit: int = 100) -> list[Job]:
        rows = self._db.query("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_job(r) for r in rows]

    def queued_ids(self) -> list[str]:
        rows = self._db.query("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at")
        return [r["id"] for r in rows]

    def mark_running(self, job_id: str) -> bool:
        """Queued → running; False when the job was cancelled meanwhile."""
        changed = self._db.execute(
            "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'",
            (time.time(), job_id),
        )
        return changed == 1

    def progress(self, job_id: str, fraction: float, done: float, total: float) -> None:
        self._db.execute(
            "UPDATE jobs SET progress = ?, done_seconds = ?, total_seconds = ? "
            "WHERE id = ? AND status = 'running'",
            (fraction, done, total, job_id),
        )

    def finish(
        self, job_id: str, status: str, *, result: Any = None, error: str | None = None
    ) -> bool:
        """Set a final status unless the job already has one (a cancel wins over a late end)."""
        stored = json.dumps(result) if result is not None else None
        changed = self._db.execute(
            "UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ?, "
            "progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END, "
            "done_seconds = CASE WHEN ? = 'succeeded' THEN total_seconds ELSE done_seconds END "
            "WHERE id = ? AND status IN ('queued', 'running')",
            (status, stored, error, time.time(), status, status, job_id),
        )
        return changed == 1

    def fail_interrupted(self) -> int:
        """At start-up: jobs that were running when the engine died are failed, with a reason."""
        return self._db.execute(
            "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? "
            "WHERE status = 'running'",
            (INTERRUPTED, time.time()),
        )

    def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _job(row: sqlite3.Row) -> Job:
    params = json.loads(row["params"])
    return Job(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        progress=row["progress"],
        done_seconds=row["done_seconds"],
        total_seconds=row["total_seconds"],
        input_name=row["input_name"],
        response_format=params.get("response_format", "json"),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
    )
