"""Runs queued jobs one at a time; progress is pushed to watchers.

A job's kind names its handler (a transcription, a batch of chat requests, ...). A job's input
file waits under the data folder, so queued jobs survive a restart and run then; one that was
running when the engine died is marked failed with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import HearthError, InvalidInput, NotFound
from engine.jobs.store import INTERRUPTED, JobStore
from engine.schemas import TERMINAL_JOB_STATUSES, Job

log = logging.getLogger(__name__)
PROGRESS_WRITE_INTERVAL = 0.5


@dataclass
class JobContext:
    """What a handler gets: its parameters and input, a way to report progress and to stop."""

    job_id: str
    params: dict[str, Any]
    input: Path | None
    report: Callable[[float, float, float | None], Awaitable[None]]
    cancel_hooks: list[Callable[[], None]] = field(default_factory=list)
    cancelled: bool = False

    def on_cancel(self, hook: Callable[[], None]) -> None:
        self.cancel_hooks.append(hook)


# A handler returns the job's result (JSON-ready), or None when it was interrupted.
Handler = Callable[[JobContext], Awaitable[Any]]
# A renderer turns a stored result into what the API returns, in a format the caller names.
Renderer = Callable[[Any, dict[str, Any], str], Any]


@dataclass
class JobKind:
    handler: Handler
    render: Renderer = lambda stored, _params, _fmt: stored


class JobRunner:
    def __init__(self, store: JobStore, folder: Path, kinds: dict[str, JobKind]) -> None:
        self._store = store
        self._folder = folder
        self._kinds = kinds
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._live: dict[str, Job] = {}  # running jobs' latest state, ahead of the database
        self._contexts: dict[str, JobContext] = {}
        self._worker: asyncio.Task[None] | None = None

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def start(self) -> None:
        failed = await self._blocking(self._store.fail_interrupted)
        if failed:
            log.warning("%d job(s) were interrupted by the last shutdown and marked failed", failed)
        for job_id in await self._blocking(self._store.queued_ids):
            self._queue.put_nowait(job_id)
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        for context in self._contexts.values():
            self._fire(context)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    # -- API ------------------------------------------------------------------------------
    async def submit(
        self, kind: str, params: dict[str, Any], upload: Path | None, input_name: str | None
    ) -> Job:
        if kind not in self._kinds:
            raise InvalidInput(
                f"kind must be one of {', '.join(sorted(self._kinds))}.", param="kind"
            )
        job_id = f"job-{uuid.uuid4().hex}"
        if upload is not None:
            folder = self._folder / job_id
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(upload, folder / ("input" + upload.suffix))
        await self._blocking(self._store.create, job_id, kind, params, input_name)
        self._queue.put_nowait(job_id)
        return await self.get(job_id)

    async def get(self, job_id: str, with_result: bool = True) -> Job:
        if job_id in self._live:
            return self._live[job_id].model_copy()
        job = await self._blocking(self._store.get, job_id)
        if job is None:
            raise NotFound(f"No job with id '{job_id}'.", param="id")
        if with_result and job.status == "succeeded":
            job.result = await self.result(job_id, job.response_format)
        return job  # type: ignore[no-any-return]

    async def recent(self, kind: str | None = None) -> list[Job]:
        jobs = await self._blocking(self._store.recent)
        return [self._live.get(j.id, j) for j in jobs if kind is None or j.kind == kind]

    async def result(self, job_id: str, fmt: str) -> Any:
        stored = await self._blocking(self._store.result, job_id)
        if stored is None:
            raise NotFound(f"Job '{job_id}' has no result yet.", param="id")
        job = await self._blocking(self._store.get, job_id)
        params = await self._blocking(self._store.params, job_id)
        return self._kinds[job.kind].render(stored, params, fmt)

    async def cancel(self, job_id: str) -> Job:
        job = await self.get(job_id, with_result=False)
        if job.status in TERMINAL_JOB_STATUSES:
            return job
        await self._blocking(lambda: self._store.finish(job_id, "cancelled"))
        context = self._contexts.get(job_id)
        if context is not None:
            self._fire(context)  # the handler stops at its next step; the job is cancelled now
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
    @staticmethod
    def _fire(context: JobContext) -> None:
        context.cancelled = True
        for hook in context.cancel_hooks:
            hook()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _input_of(self, job_id: str) -> Path | None:
        folder = self._folder / job_id
        return next(folder.glob("input*"), None) if folder.is_dir() else None

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
        if not await self._blocking(self._store.mark_running, job_id):
            return  # cancelled while queued
        job = await self.get(job_id, with_result=False)
        self._live[job_id] = job
        await self._notify()
        last_write = 0.0

        async def report(fraction: float, done: float, total: float | None) -> None:
            nonlocal last_write
            live = self._live.get(job_id)
            if live is not None:
                live.progress, live.done_seconds, live.total_seconds = fraction, done, total
                await self._notify()
            if time.monotonic() - last_write > PROGRESS_WRITE_INTERVAL:
                last_write = time.monotonic()
                await self._blocking(self._store.progress, job_id, fraction, done, total)

        context = JobContext(
            job_id=job_id,
            params=await self._blocking(self._store.params, job_id),
            input=self._input_of(job_id),
            report=report,
        )
        self._contexts[job_id] = context
        status, result, error = "failed", None, None
        try:
            result = await self._kinds[job.kind].handler(context)
            if result is not None:
                status = "succeeded"
            else:
                error = INTERRUPTED
        except HearthError as exc:
            error = exc.message
        finally:
            self._contexts.pop(job_id, None)
            await self._blocking(
                lambda: self._store.finish(job_id, status, result=result, error=error)
            )
            self._live.pop(job_id, None)
            self._remove_input(job_id)
            await self._notify()
