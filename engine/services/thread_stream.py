"""Items made in another thread, consumed on the event loop as they arrive.

`LoopQueue` is the crossing: any thread puts items (or a HearthError, or the end); the loop
reads them in order. When the consumer stops early (a client went away) the queue's cancel hook
runs, and the producer is expected to notice within one step. `ThreadStream` runs a blocking
producer in an executor and feeds its queue; the model scheduler feeds its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any, Generic, TypeVar

from engine.errors import HearthError

T = TypeVar("T")
Producer = Callable[[Callable[[T], None], threading.Event], Any]

END = object()


class LoopQueue(Generic[T]):
    def __init__(self, on_cancel: Callable[[], None] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.cancel_event = threading.Event()
        self._on_cancel = on_cancel

    def put(self, item: T | HearthError | object) -> None:
        """From any thread."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def items(self, merge: Callable[[T, T], T | None] | None = None) -> AsyncIterator[T]:
        """The items in order. With `merge`, items already waiting are combined into one (when
        merge returns None they are not), so a consumer that falls behind catches up in fewer,
        larger steps instead of paying its per-item cost for each."""
        pending: list[object] = []
        try:
            while True:
                item = pending.pop(0) if pending else await self._queue.get()
                while merge is not None and not pending and not self._queue.empty():
                    following = self._queue.get_nowait()
                    joined = (
                        merge(item, following)  # type: ignore[arg-type]
                        if not isinstance(item, BaseException) and item is not END
                        and not isinstance(following, BaseException) and following is not END
                        else None
                    )  # fmt: skip
                    if joined is None:
                        pending.append(following)
                    else:
                        item = joined
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            self.cancel()

    def cancel(self) -> None:
        if not self.cancel_event.is_set():
            self.cancel_event.set()
            if self._on_cancel is not None:
                self._on_cancel()


class ThreadStream(LoopQueue[T]):
    def __init__(
        self,
        executor: Executor,
        produce: Producer[T],
        on_done: Callable[[], None] | None = None,
        failure: Callable[[BaseException], HearthError] | None = None,
    ) -> None:
        super().__init__()
        self._failure = failure
        self.future = self._loop.run_in_executor(executor, self._run, produce)
        if on_done is not None:
            # Whatever happens to the consumer, the caller's resource is freed only when the
            # worker is done with it.
            self.future.add_done_callback(lambda _f: on_done())

    def _run(self, produce: Producer[T]) -> Any:
        try:
            return produce(self.put, self.cancel_event)
        except HearthError as exc:
            self.put(exc)
        except Exception as exc:  # keep the engine alive whatever a library raises
            self.put(self._failure(exc) if self._failure else HearthError("the work failed"))
        finally:
            self.put(END)
        return None
