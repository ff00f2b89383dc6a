"""Fine-tuning jobs, their events and checkpoints in the engine's SQLite file, in OpenAI's
shapes. Blocking: call from worker threads."""

from __future__ import annotations

import json
import time
from typing import Any

from engine.errors import NotFound
from engine.memory.database import Database

FINISHED = ("succeeded", "failed", "cancelled")


class FineTuningStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, job_id: str, model: str, training_file: str, validation_file: str | None,
            params: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        self._db.execute(
            "INSERT INTO fine_tuning_jobs (id, model, training_file, validation_file, params, "
            "status, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)",
            (job_id, model, training_file, validation_file, json.dumps(params), time.time()),
        )
        return self.get(job_id)

    def _row(self, job_id: str) -> Any:
        rows = self._db.query("SELECT * FROM fine_tuning_jobs WHERE id = ?", (job_id,))
        if not rows:
            raise NotFound(f"No fine-tuning job with id '{job_id}'.", param="fine_tuning_job_id")
        return rows[0]

    def params(self, job_id: str) -> dict[str, Any]:
        return dict(json.loads(self._row(job_id)["params"]))

    def get(self, job_id: str) -> dict[str, Any]:
        row = self._row(job_id)
        params = json.loads(row["params"])
        return {
            "id": row["id"], "object": "fine_tuning.job", "created_at": int(row["created_at"]),
            "finished_at": int(row["finished_at"]) if row["finished_at"] else None,
            "model": row["model"], "fine_tuned_model": row["fine_tuned_model"],
            "organization_id": "local", "status": row["status"],
            "hyperparameters": params["hyperparameters"],
            "training_file": row["training_file"], "validation_file": row["validation_file"],
            "result_files": [], "trained_tokens": row["trained_tokens"],
            "error": json.loads(row["error"]) if row["error"] else None,
            "seed": params["seed"], "user_provided_suffix": params.get("suffix"),
            "estimated_finish": params.get("estimated_finish"), "integrations": [],
            "metadata": params.get("metadata"),
            "method": {"type": "supervised",
                       "supervised": {"hyperparameters": params["hyperparameters"]}},
            "report": json.loads(row["report"]) if row["report"] else None,  # Hearth's
        }  # fmt: skip

    def all(self, limit: int) -> list[dict[str, Any]]:
        rows = self._db.query("SELECT id FROM fine_tuning_jobs ORDER BY created_at DESC LIMIT ?",
                              (limit,))  # fmt: skip
        return [self.get(r[0]) for r in rows]

    def with_status(self, *statuses: str) -> list[str]:
        marks = ",".join("?" for _ in statuses)
        rows = self._db.query(f"SELECT id FROM fine_tuning_jobs WHERE status IN ({marks}) "
                              "ORDER BY created_at", statuses)  # fmt: skip
        return [r[0] for r in rows]

    def set_status(self, job_id: str, status: str, **fields: Any) -> bool:
        """Change a job that has not finished; False when it had (a cancel came first)."""
        sets: list[str] = ["status = ?"]
        args: list[Any] = [status]
        for key in ("fine_tuned_model", "trained_tokens"):
            if key in fields:
                sets.append(f"{key} = ?")
                args.append(fields[key])
        for key in ("error", "report"):
            if key in fields:
                sets.append(f"{key} = ?")
                args.append(json.dumps(fields[key]))
        if status in FINISHED:
            sets.append("finished_at = ?")
            args.append(time.time())
        marks = ",".join("?" for _ in FINISHED)
        return bool(self._db.execute(
            f"UPDATE fine_tuning_jobs SET {', '.join(sets)} WHERE id = ? AND status NOT IN "
            f"({marks})", [*args, job_id, *FINISHED]))  # fmt: skip

    def add_event(self, job_id: str, level: str, kind: str, message: str,
                  data: dict[str, Any] | None = None, at: float | None = None) -> None:  # fmt: skip
        self._db.execute(
            "INSERT INTO fine_tuning_events (job_id, created_at, level, type, message, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, at or time.time(), level, kind, message, json.dumps(data or {})),
        )

    def events(self, job_id: str, limit: int, after: int | None) -> list[dict[str, Any]]:
        """Newest first, as OpenAI lists them; `after` pages back from an event id."""
        self._row(job_id)
        rows = self._db.query(
            "SELECT * FROM fine_tuning_events WHERE job_id = ? AND id < ? ORDER BY id DESC "
            "LIMIT ?", (job_id, after if after is not None else 2**62, limit))  # fmt: skip
        return [{"id": f"ftevent-{r['id']}", "object": "fine_tuning.job.event",
                 "created_at": int(r["created_at"]), "level": r["level"], "type": r["type"],
                 "message": r["message"], "data": json.loads(r["data"] or "{}")}
                for r in rows]  # fmt: skip

    def add_checkpoint(self, job_id: str, step: int, metrics: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO fine_tuning_checkpoints (job_id, created_at, step, metrics) VALUES "
            "(?, ?, ?, ?)", (job_id, time.time(), step, json.dumps(metrics)))  # fmt: skip

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        row = self._row(job_id)
        rows = self._db.query("SELECT * FROM fine_tuning_checkpoints WHERE job_id = ? ORDER BY "
                              "id DESC", (job_id,))  # fmt: skip
        return [{"id": f"ftckpt-{r['id']}", "object": "fine_tuning.job.checkpoint",
                 "created_at": int(r["created_at"]), "fine_tuning_job_id": job_id,
                 "fine_tuned_model_checkpoint": row["fine_tuned_model"], "step_number": r["step"],
                 "metrics": json.loads(r["metrics"])} for r in rows]  # fmt: skip
