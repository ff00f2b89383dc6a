"""Per-model FIFO queues with a bound: a full queue answers Busy (429) instead of piling up."""

from __future__ import annotations

import asyncio

from engine.errors import Busy


class ModelQueue:
    """One model's turn-taking. asyncio.Lock hands the lock to waiters in arrival order."""

    def __init__(self, max_pending: int, retry_after: int) -> None:
        self._lock = asyncio.Lock()
        self._max_pending = max_pending
        self._retry_after = retry_after
        self.pending = 0  # the running request plus those waiting

    async def acquire(self) -> None:
        """Wait for this model's turn; raise Busy at once when the queue is full."""
        if self.pending >= self._max_pending:
            raise Busy(
                f"The model is busy: {self.pending} requests are running or waiting. "
                f"Retry in {self._retry_after} s.",
                retry_after=self._retry_after,
            )
        self.pending += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self.pending -= 1
            raise

    async def acquire_if_idle(self) -> bool:
        """Take the turn only if nobody holds or waits for it (then it is free at once)."""
        if self.pending:
            return False
        await self.acquire()
        return True

    def release(self) -> None:
        self.pending -= 1
        self._lock.release()
