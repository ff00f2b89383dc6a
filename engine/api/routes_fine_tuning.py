"""OpenAI's fine-tuning API, trained on this machine: `/v1/fine_tuning/jobs` (create, list,
retrieve, cancel, events, checkpoints); Hearth's own `/v1/fine_tuning/estimates` (the data
checked and the job's tokens, memory and time, before anything runs) and
`/v1/fine_tuning/training_files` (stored conversations as training data). Thin routes over
engine.services.fine_tuning."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from engine.api.state import State, blocking

router = APIRouter(prefix="/v1/fine_tuning")
JobId = Annotated[str, Path(pattern=r"^ftjob-[0-9a-f]{24}$")]


class Hyperparameters(BaseModel):
    n_epochs: int | Literal["auto"] = Field(default="auto")
    batch_size: int | Literal["auto"] = "auto"  # accepted; one 256-token window a step here
    learning_rate_multiplier: float | Literal["auto"] = "auto"


class JobCreate(BaseModel):
    model: str
    training_file: str
    validation_file: str | None = None
    hyperparameters: Hyperparameters | None = None
    suffix: str | None = Field(default=None, max_length=64, pattern=r"^[a-zA-Z0-9_.-]*$")
    seed: int | None = None
    metadata: dict[str, str] | None = None
    method: dict[str, Any] | None = None  # "supervised" is what is trained here
    # Hearth's: mix in the base model's own answers (against forgetting), train only the
    # upper layers (0: all), and the tuned model's type (Q4 would erase what was learned).
    replay: bool = True
    upper_layers: int = Field(default=0, ge=0, le=256)
    output_type: Literal["q8_0", "f16"] = "q8_0"


def _check(body: JobCreate) -> None:
    hyper = body.hyperparameters or Hyperparameters()
    if isinstance(hyper.n_epochs, int) and not 1 <= hyper.n_epochs <= 50:
        from engine.errors import InvalidInput

        raise InvalidInput("n_epochs is 1 to 50", param="hyperparameters.n_epochs")


class TrainingFileCreate(BaseModel):
    conversation_ids: list[str] = Field(min_length=1, max_length=10_000)
    filename: str = Field(default="conversations.jsonl", max_length=200)


def _job_body(body: JobCreate) -> dict[str, Any]:
    _check(body)
    data = body.model_dump()
    data["hyperparameters"] = (body.hyperparameters or Hyperparameters()).model_dump()
    return data


@router.post("/jobs")
async def create_job(body: JobCreate, state: State) -> dict[str, Any]:
    return await state.fine_tuning.create(_job_body(body))


@router.post("/estimates")
async def estimate_job(body: JobCreate, state: State) -> dict[str, Any]:
    """What `POST /jobs` with this body would check and need; nothing is queued."""
    return await state.fine_tuning.estimate(_job_body(body))


@router.post("/training_files")
async def training_file(body: TrainingFileCreate, state: State) -> dict[str, Any]:
    """A file (purpose fine-tune) made of stored conversations, for a job's training_file."""
    return await state.fine_tuning.training_file(body.conversation_ids, body.filename)


@router.get("/jobs")
async def list_jobs(state: State, limit: int = Query(default=20, ge=1, le=100)) -> dict[str, Any]:
    jobs = await blocking(state.fine_tuning_store.all, limit)
    return {"object": "list", "data": jobs, "has_more": False}


@router.get("/jobs/{job_id}")
async def get_job(job_id: JobId, state: State) -> dict[str, Any]:
    return await blocking(state.fine_tuning_store.get, job_id)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: JobId, state: State) -> dict[str, Any]:
    return await state.fine_tuning.cancel(job_id)


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: JobId,
    state: State,
    limit: int = Query(default=20, ge=1, le=1000),
    after: str | None = None,
) -> dict[str, Any]:
    before = int(after.removeprefix("ftevent-")) if after and after.startswith("ftevent-") else None
    events = await blocking(state.fine_tuning_store.events, job_id, limit + 1, before)
    return {"object": "list", "data": events[:limit], "has_more": len(events) > limit}


@router.get("/jobs/{job_id}/checkpoints")
async def job_checkpoints(job_id: JobId, state: State) -> dict[str, Any]:
    found = await blocking(state.fine_tuning_store.checkpoints, job_id)
    return {"object": "list", "data": found, "has_more": False,
            "first_id": found[0]["id"] if found else None,
            "last_id": found[-1]["id"] if found else None}  # fmt: skip
