"""The Batch API on the engine's jobs: each JSONL line is a chat request run through the same
routing as a live one; results are written, in input order, to an output file."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from pydantic import ValidationError

from engine.errors import HearthError, InvalidInput
from engine.jobs.files import FileStore
from engine.jobs.runner import JobContext, JobKind
from engine.remote.router import ChatRouter
from engine.schemas import AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionRequest, Job

ENDPOINT = "/v1/chat/completions"
MAX_LINES = 50_000
STATUS = {
    "queued": "validating", "running": "in_progress", "succeeded": "completed",
    "failed": "failed", "cancelled": "cancelled",
}  # fmt: skip


def parse_lines(data: bytes) -> list[dict[str, Any]]:
    """The requests of a batch input file; 400 for anything malformed."""
    try:
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("The batch file must be JSON Lines.", param="input_file_id") from exc
    if not lines or len(lines) > MAX_LINES:
        raise InvalidInput(f"A batch holds 1 to {MAX_LINES} requests.", param="input_file_id")
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            raise InvalidInput(f"Line {n} has no custom_id.", param="input_file_id")
        if line["custom_id"] in seen:
            raise InvalidInput(
                f"Line {n} repeats custom_id '{line['custom_id']}'.", param="input_file_id"
            )
        seen.add(line["custom_id"])
        if line.get("url") != ENDPOINT or not isinstance(line.get("body"), dict):
            raise InvalidInput(
                f"Line {n} must be a POST to {ENDPOINT} with a body.", param="input_file_id"
            )
    return lines


def batch_object(job: Job) -> dict[str, Any]:
    # A batch job counts requests where a transcription counts seconds.
    result = job.result if isinstance(job.result, dict) else {}
    total = int(result.get("total", job.total_seconds or 0))
    done = int(result.get("completed", job.done_seconds))
    return {
        "id": job.id,
        "object": "batch",
        "endpoint": ENDPOINT,
        "input_file_id": job.input_name,
        "completion_window": "24h",
        "status": STATUS[job.status],
        "output_file_id": result.get("output_file_id"),
        "error_file_id": None,
        "created_at": int(job.created_at),
        "in_progress_at": int(job.started_at) if job.started_at else None,
        "completed_at": int(job.finished_at)
        if job.finished_at and job.status == "succeeded"
        else None,
        "failed_at": int(job.finished_at) if job.finished_at and job.status == "failed" else None,
        "cancelled_at": int(job.finished_at)
        if job.finished_at and job.status == "cancelled"
        else None,
        "request_counts": {
            "total": total,
            "completed": done,
            "failed": int(result.get("failed", 0)),
        },
        "errors": {"object": "list", "data": [{"message": job.error}]} if job.error else None,
        "metadata": None,
    }


def batch_kind(router: ChatRouter, files: FileStore) -> JobKind:
    async def handle(context: JobContext) -> Any:
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(None, files.content, context.params["input_file_id"])
        lines = parse_lines(data)
        out: list[str] = []
        failed = 0
        for n, line in enumerate(lines):
            if context.cancelled:
                return None
            entry: dict[str, Any] = {
                "id": f"batch_req_{uuid.uuid4().hex}",
                "custom_id": line["custom_id"],
            }
            try:
                req = ChatCompletionRequest.model_validate({**line["body"], "stream": False})
                routed = await router.start_chat(req, "/v1/batches")
                text, finish = await routed.collect()
                choice = ChatChoice(
                    message=AssistantMessage(content=text), finish_reason=finish or "stop"
                )
                body = ChatCompletion(
                    id=routed.id, created=routed.created, model=routed.model_id,
                    choices=[choice], usage=routed.usage(), hearth=routed.served,
                )  # fmt: skip
                entry["response"] = {
                    "status_code": 200,
                    "request_id": routed.id,
                    "body": body.model_dump(mode="json"),
                }
                entry["error"] = None
            except (HearthError, ValidationError) as exc:
                failed += 1
                message = exc.message if isinstance(exc, HearthError) else "invalid request body"
                entry["response"] = None
                entry["error"] = {"code": getattr(exc, "code", "invalid_value"), "message": message}
            out.append(json.dumps(entry, ensure_ascii=False))
            await context.report((n + 1) / len(lines), n + 1, len(lines))
        output = await loop.run_in_executor(
            None,
            files.add_bytes,
            ("\n".join(out) + "\n").encode(),
            f"{context.job_id}_output.jsonl",
            "batch_output",
        )
        return {
            "output_file_id": output["id"],
            "total": len(lines),
            "completed": len(lines) - failed,
            "failed": failed,
        }

    return JobKind(handler=handle)
