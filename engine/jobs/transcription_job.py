"""Transcription as a background job: the handler and how its stored result is shown."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from engine.errors import NotFound
from engine.jobs.runner import JobContext, JobKind
from engine.services.transcript_formats import from_storage, render, to_storage
from engine.services.transcription import TranscriptionParams, TranscriptionService


def params_to_json(params: TranscriptionParams) -> dict[str, Any]:
    data = asdict(params)
    data["granularities"] = sorted(params.granularities)
    return data


def params_from_json(data: dict[str, Any]) -> TranscriptionParams:
    return TranscriptionParams(
        **{**data, "granularities": frozenset(data.get("granularities", []))}
    )


def transcription_kind(service: TranscriptionService) -> JobKind:
    async def handle(context: JobContext) -> Any:
        if context.input is None:
            raise NotFound("The job's input file is gone.")
        params = params_from_json(context.params)
        stream, _model = await service.stream(context.input, params, cleanup=lambda: None)
        context.on_cancel(stream.cancel)
        async for progress in stream.items():
            await context.report(progress.fraction, progress.done_seconds, progress.total_seconds)
        transcript = await stream.future
        if transcript is None or transcript.cancelled:
            return None
        return to_storage(transcript)

    def show(stored: Any, params: dict[str, Any], fmt: str) -> Any:
        granularities = frozenset(params.get("granularities", []))
        return render(from_storage(stored), fmt, params.get("task", "transcribe"), granularities)

    return JobKind(handler=handle, render=show)
