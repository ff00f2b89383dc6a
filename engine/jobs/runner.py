"""Runs queued jobs one at a time in a worker thread; progress is pushed to watchers.

A job's input file waits under the data folder, so queued jobs survive a restart and run then;
one that was running when the engine died is marked failed with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.errors import HearthError, NotFound
from engine.jobs.store import INTERRUPTED, JobStore
from engine.schemas import TERMINAL_JOB_STATUSES, Job
from engine.services.transcript_formats import from_storage, render, to_storage
from engine.services.transcription import Progress, TranscriptionParams, TranscriptionService

log = logging.getLogger(__name__)
PROGRESS_WRITE_INTERVAL = 0.5


def _params_to_json(params: TranscriptionParams) -> dict[str, Any]:
    data = asdict(params)
    data["granularities"] = sorted(params.granularities)
    return data


def _params_from_json(data: dict[str, Any]) -> TranscriptionParams:
    return TranscriptionParams(
        **{**data, "granularities": frozenset(data.get("granularities", []))}
    )


class JobRunner:
    def __init__(self, store: JobStore, transcription: TranscriptionService, folder: Path) -> None:
        self._store = store
        self._transcription = transcription
        self._folder = folder
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._live: dict[str, Job] = {}  # running jobs' latest state, ahead of the database
        self._cancels: dict[str, Any] = {}
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        failed = await loop.run_in_executor(None, self._store.fail_interrupted)
        if failed:
            log.warning("%d job(s) were interrupted by the last shutdown and marked failed", failed)
        for job_id in await loop.run_in_executor(None, self._store.queued_ids):
            self._queue.put_nowait(job_id)
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        for cancel in self._cancels.values():
            cancel()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    # -- API ------------------------------------------------------------------------------
    async def submit_transcription(
        self, params: TranscriptionParams, upload_path: Path, input_name: str
    ) -> Job:
        job_id = f"job-{uuid.uuid4().hex}"
        folder = self._folder / job_id
        folder.mkdir(parents=True, exist_ok=True)
        shutil.move(upload_path, folder / ("input" + upload_path.suffix))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None, self._store.create, job_id, "transcription", _params_to_json(params), input_name
        )
        self._queue.put_nowait(job_id)
        return await self.get(job_id)

    async def get(self, job_id: str, with_result: bool = True) -> Job:
        if job_id in self._live:
            return self._live[job_id].model_copy()
        loop = asyncio.get_running_loop()
        job = await loop.run_in_executor(None, self._store.get, job_id)
        if job is None:
            raise NotFound(f"No job with id '{job_id}'.", param="id")
        if with_result and job.status == "succeeded":
            job.result = await self.result(job_id, job.response_format)
        return job

    async def recent(self) -> list[Job]:
        loop = asyncio.get_running_loop()
        jobs = await loop.run_in_executor(None, self._store.recent)
        return [self._live.get(j.id, j) for j in jobs]

    async def result(self, job_id: str, fmt: str) -> Any:
        loop = asyncio.get_running_loop()
        stored = await loop.run_in_executor(None, self._store.result, job_id)
        if stored is None:
            raise NotFound(f"Job '{job_id}' has no result yet.", param="id")
        params = await loop.run_in_executor(None, self._store.params, job_id)
        return render(
            from_storage(stored),
            fmt,
            params.get("task", "transcribe"),
            frozenset(params.get("granularities", [])),
        )

    async def cancel(self, job_id: str) -> Job:
        job = await self.get(job_id, with_result=False)
        if job.status in TERMINAL_JOB_STATUSES:
            return job
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: self._store.finish(job_id, "cancelled"))
        cancel = self._cancels.get(job_id)
        if cancel is not None:
            cancel()  # the worker stops at its next segment; the job is cancelled already
        self._live.pop(job_id, None)
        await self._notify()
        self._remove_input(job_id)
        return await self.get(job_id)

    async def watch(self, job_id: str) -> AsyncIterator[Job]:
        """The job now and after every change, until it ends."""
        last: tuple[object, ...] | None = None
        while True:
            job = await self.get(job_id, with_result=False)
            key = (job.status, round(job.progress, 3))
            if key != last:
                last = key
                yield job
            if job.status in TERMINAL_JOB_STATUSES:
                return
            async with self._changed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=1.0)

    # -- work -----------------------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _input_of(self, job_id: str) -> Path | None:
        return next((self._folder / job_id).glob("input*"), None)

    def _remove_input(self, job_id: str) -> None:
        shutil.rmtree(self._folder / job_id, ignore_errors=True)

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                await self._run(job_id)
            except Exception as exc:  # one broken job must not stop the others
                log.error("job %s failed: %s", job_id, type(exc).__name__)

    async def _run(self, job_id: str) -> None:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._store.mark_running, job_id):
            return  # cancelled while queued
        job = await self.get(job_id, with_result=False)
        self._live[job_id] = job
        await self._notify()
        source = self._input_of(job_id)
        params = _params_from_json(await loop.run_in_executor(None, self._store.params, job_id))
        status, result, error = "failed", None, None
        try:
            if source is None:
                raise NotFound("The job's input file is gone.")
            stream, _model = await self._transcription.stream(source, params, cleanup=lambda: None)
            self._cancels[job_id] = stream.cancel
            last_write = 0.0
            async for progress in stream.items():
                await self._progress(job_id, progress)
                if time.monotonic() - last_write > PROGRESS_WRITE_INTERVAL:
                    last_write = time.monotonic()
                    await loop.run_in_executor(
                        None,
                        self._store.progress,
                        job_id,
                        progress.fraction,
                        progress.done_seconds,
                        progress.total_seconds,
                    )
            transcript = await stream.future
            if transcript is not None and not transcript.cancelled:
                status, result = "succeeded", to_storage(transcript)
            else:
                error = INTERRUPTED
        except HearthError as exc:
            error = exc.message
        finally:
            self._cancels.pop(job_id, None)
            await loop.run_in_executor(
                None, lambda: self._store.finish(job_id, status, result=result, error=error)
            )
            self._live.pop(job_id, None)
            self._remove_input(job_id)
            await self._notify()

    async def _progress(self, job_id: str, progress: Progress) -> None:
        job = self._live.get(job_id)
        if job is None:
            return
        job.progress = progress.fraction
        job.done_seconds = progress.done_seconds
        job.total_seconds = progress.total_seconds
        await self._notify()
