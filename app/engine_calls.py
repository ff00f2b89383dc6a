"""How widgets reach the engine: a function of the client, run by `Tasks` off the UI thread.

Widgets never hold an HTTP client; they hand over what to do with one, and get the answer (or a
one-line error) back on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from app.engine_client import EngineClient, EngineError
from app.engine_link import EngineLink
from app.tasks import Handle, Tasks
from engine.schemas import Job

T = TypeVar("T")
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
POLL_SECONDS = 0.5  # a job's progress bar moves twice a second; each poll is one audit row


class EngineNotReady(EngineError):
    def __init__(self) -> None:
        super().__init__("The engine is not ready yet; try again in a moment.", code="not_ready")


class EngineCalls:
    def __init__(self, link: EngineLink, tasks: Tasks, on_error: Callable[[str], None]) -> None:
        self.link = link
        self.tasks = tasks
        self.on_error = on_error

    def client(self) -> EngineClient:
        client = self.link.client
        if client is None or self.link.state in ("starting", "failed"):
            raise EngineNotReady()
        return client

    def run(
        self,
        fn: Callable[[EngineClient], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Handle:
        return self.tasks.run(lambda: fn(self.client()), on_done, on_error or self.on_error)

    def stream(
        self,
        fn: Callable[[EngineClient, Handle], Iterator[Any]],
        on_item: Callable[[Any], None],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Handle:
        return self.tasks.stream(
            lambda handle: fn(self.client(), handle), on_item, on_done, on_error or self.on_error
        )

    def pull(
        self,
        model_id: str,
        on_percent: Callable[[int], None],
        on_done: Callable[[], None],
        on_error: Callable[[str], None] | None = None,
        then: Callable[[EngineClient], object] | None = None,
    ) -> Handle:
        """Download (or resume: the engine keeps partial files) a catalog model, its progress
        in percent; `then` runs off the UI thread once the model is in. Cancelling the handle
        closes the stream, which stops the download."""

        def pull(client: EngineClient, _handle: Handle) -> Iterator[dict[str, Any]]:
            yield from client.pull(model=model_id)
            if then is not None:
                then(client)

        def item(event: dict[str, Any]) -> None:
            if event.get("total"):
                on_percent(int(100 * (event.get("completed") or 0) / event["total"]))

        return self.stream(pull, item, lambda _: on_done(), on_error)

    def watch_job(
        self,
        job_id: str,
        on_update: Callable[[Job], None],
        on_error: Callable[[str], None] | None = None,
    ) -> Handle:
        """The job's state as it changes, until it ends (polled, so cancelling is immediate)."""

        def poll(client: EngineClient, handle: Handle) -> Iterator[Job]:
            last: tuple[str, float] | None = None
            while not handle.cancelled:
                job = client.job(job_id)
                if (job.status, job.progress) != last:
                    last = (job.status, job.progress)
                    yield job
                if job.status in FINISHED:
                    return
                time.sleep(POLL_SECONDS)

        return self.stream(poll, on_update, None, on_error)
