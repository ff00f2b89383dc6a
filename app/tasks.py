"""Background work for the desktop: every engine call runs on a worker thread, and its result,
progress or error comes back to the UI thread as a Qt signal. The one way the UI runs work.

A stream (a reply, a job's progress) gets a `Handle`; `cancel()` is seen by the worker between
items, and the UI stops listening at once, so Stop never waits for the worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.engine_client import EngineError

log = logging.getLogger("hearth.desktop")


class Handle:
    """A running stream: cancel it, or ask whether it was."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self.finished = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


class _Signals(QObject):
    item = Signal(object)
    done = Signal(object)
    failed = Signal(str)


class _Job(QRunnable):
    def __init__(
        self, fn: Callable[[Handle], Any], stream: bool, signals: _Signals, handle: Handle
    ) -> None:
        super().__init__()
        self.fn, self.stream, self.signals, self.handle = fn, stream, signals, handle
        self.setAutoDelete(True)

    def run(self) -> None:
        handle = self.handle
        try:
            if self.stream:
                items: Iterator[Any] = self.fn(handle)
                try:
                    for item in items:
                        if handle.cancelled:
                            break
                        self.signals.item.emit(item)
                finally:
                    close = getattr(items, "close", None)
                    if close is not None:
                        close()  # ends the HTTP stream, which stops the engine's generation
                self.signals.done.emit(None)
            else:
                self.signals.done.emit(self.fn(handle))
        except EngineError as exc:
            self.signals.failed.emit(exc.message)
        except Exception as exc:  # shown in one line; the details go to the log only
            log.exception("background task failed")
            self.signals.failed.emit(f"Something went wrong ({type(exc).__name__}).")
        finally:
            handle.finished.set()


class Tasks(QObject):
    """Runs callables off the UI thread; their callbacks run on the UI thread."""

    busy_changed = Signal(int)  # streams (replies, jobs, downloads) in flight

    def __init__(self, max_threads: int = 8) -> None:
        super().__init__()
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self._alive: dict[_Signals, Handle] = {}
        self._streams = 0
        self._closed = False

    def _signals(
        self,
        handle: Handle,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[str], None],
        counts: bool,
    ) -> _Signals:
        signals = _Signals()
        self._alive[signals] = handle

        def finish() -> None:
            self._alive.pop(signals, None)
            if counts:
                self._streams -= 1
                self.busy_changed.emit(self._streams)

        # The UI only hears back from work it has not cancelled or abandoned on close.
        def done(result: Any) -> None:
            finish()
            if on_done is not None and not self._closed and not handle.cancelled:
                on_done(result)

        def failed(message: str) -> None:
            finish()
            if not self._closed and not handle.cancelled:
                on_error(message)

        signals.done.connect(done)
        signals.failed.connect(failed)
        if counts:
            self._streams += 1
            self.busy_changed.emit(self._streams)
        return signals

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[str], None],
    ) -> Handle:
        handle = Handle()
        signals = self._signals(handle, on_done, on_error, counts=False)
        self.pool.start(_Job(lambda _h: fn(), False, signals, handle))
        return handle

    def stream(
        self,
        fn: Callable[[Handle], Iterator[Any]],
        on_item: Callable[[Any], None],
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[str], None],
    ) -> Handle:
        handle = Handle()
        signals = self._signals(handle, on_done, on_error, counts=True)

        def item(value: Any) -> None:
            if not self._closed and not handle.cancelled:
                on_item(value)

        signals.item.connect(item)
        self.pool.start(_Job(fn, True, signals, handle))
        return handle

    def shutdown(self, wait_ms: int = 5000) -> bool:
        """Cancel every stream and wait for the workers; True when all of them ended."""
        self._closed = True
        for handle in list(self._alive.values()):
            handle.cancel()
        return bool(self.pool.waitForDone(wait_ms))
