"""The desktop's engine: connect to a running one or start our own, watch it, restart it with
back-off if it stops, and stop it (only if we started it) when the window closes."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from app.engine_client import EngineClient, EngineError, WrongPassphraseError
from app.engine_client.launcher import EngineProcess, find_connection
from app.tasks import Tasks

MAX_BACKOFF_MS = 30_000
UNLOCK_ATTEMPTS = 3


@dataclass
class UnlockQuestion:
    """Asked on the UI thread for a worker that needs a secret: `state` is 'new' (choose a
    passphrase) or 'locked'; the answer is a passphrase (None: the user declined)."""

    state: str
    error: str = ""
    passphrase: str | None = None
    remember: bool = True
    answered: threading.Event = field(default_factory=threading.Event)

    def answer(self, passphrase: str | None, remember: bool = True) -> None:
        self.passphrase, self.remember = passphrase, remember
        self.answered.set()


class Unlocker(QObject):
    """The clients' `unlocker`: runs in the worker that met the locked key store, asks the UI
    thread (one question at a time) and waits for the answer."""

    asked = Signal(object)  # an UnlockQuestion

    def __init__(self) -> None:
        super().__init__()
        self._one_at_a_time = threading.Lock()
        self._pending: list[UnlockQuestion] = []
        self._closed = False

    def __call__(self, client: EngineClient) -> bool:
        with self._one_at_a_time:
            state = client.key_store_state()
            if state == "unlocked":
                return True  # another request's question unlocked it meanwhile
            if state not in ("new", "locked"):
                return False
            error = ""
            for _ in range(UNLOCK_ATTEMPTS):
                question = UnlockQuestion(state, error)
                if self._closed:
                    return False
                self._pending.append(question)
                self.asked.emit(question)
                question.answered.wait()
                self._pending.remove(question)
                if question.passphrase is None:
                    return False
                try:
                    client.unlock_keys(question.passphrase, question.remember)
                    return True
                except WrongPassphraseError as exc:
                    error = exc.message
            return False

    def close(self) -> None:
        """Answer whatever is still asked with 'no', so no worker waits on a closed window."""
        self._closed = True
        for question in list(self._pending):
            question.answer(None)


class EngineLink(QObject):
    """Owns the engine client. States: starting, ready, busy, failed (with the reason)."""

    status = Signal(str, str)  # state, detail
    ready = Signal()
    restarted = Signal(str)  # why: shown to the user

    def __init__(self, tasks: Tasks, env: dict[str, str] | None = None) -> None:
        super().__init__()
        self._tasks = tasks
        self.unlocker = Unlocker()
        self._env = dict(os.environ if env is None else env)
        self.client: EngineClient | None = None
        self.process: EngineProcess | None = None
        self.state = "starting"
        self.detail = ""
        self._failures = 0
        self._busy = 0
        self._restart_reason: str | None = None
        self._stopping = False
        self._checking = False
        self._watch = QTimer(self)
        self._watch.setInterval(1000)
        self._watch.timeout.connect(self._check)
        tasks.busy_changed.connect(self._on_busy)

    # -- state -----------------------------------------------------------------------------
    def _set(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail
        self.status.emit(state, detail)

    def _on_busy(self, streams: int) -> None:
        self._busy = streams
        if self.state in ("ready", "busy"):
            self._set("busy" if streams else "ready", self.detail)

    # -- connecting ------------------------------------------------------------------------
    def start(self) -> None:
        self._set("starting", self.tr("Starting the engine…"))
        self._tasks.run(self._connect, self._connected, self._failed)

    def _connect(self) -> EngineClient:
        conn = find_connection(self._env)
        client: EngineClient | None = None
        if conn.url is not None and self.process is None:
            try:
                client = EngineClient(conn.url, conn.token)
                client.health()
            except EngineError:
                client = None  # a stale connection file: start our own
        if client is None:
            # Known before it is up, so a window closed while it starts still stops it.
            self.process = EngineProcess(env=self._env)
            client = EngineClient(self.process.start(), conn.token)
        client.unlocker = self.unlocker
        return client

    def _connected(self, client: EngineClient) -> None:
        if self.client is not None:
            self.client.close()
        self.client = client
        self._failures = 0
        if self._restart_reason:
            self.restarted.emit(self._restart_reason)
            self._restart_reason = None
        self._set("busy" if self._busy else "ready", client.base_url)
        self._watch.start()
        self.ready.emit()

    def _failed(self, message: str) -> None:
        self._set("failed", message)
        self._retry_later(message)

    # -- watching --------------------------------------------------------------------------
    def _check(self) -> None:
        if self._stopping or self._checking:
            return
        if self.process is not None and self.process.process is not None:
            code = self.process.process.poll()
            if code is not None:
                self._lost(
                    self.tr("The engine stopped unexpectedly (exit code %1).").replace(
                        "%1", str(code)
                    )
                )
            return
        client = self.client
        if client is None:
            return
        self._checking = True

        def done(_: object) -> None:
            self._checking = False

        def failed(_: str) -> None:
            self._checking = False
            self._lost(self.tr("The engine stopped answering."))

        self._tasks.run(client.health, done, failed)

    def _lost(self, reason: str) -> None:
        self._watch.stop()
        self.process = None
        self._restart_reason = reason
        self._retry_later(reason)

    def _retry_later(self, reason: str) -> None:
        if self._stopping:
            return
        self._failures += 1
        delay = min(MAX_BACKOFF_MS, 1000 * 2 ** (self._failures - 1))
        self._set(
            "failed",
            reason + " " + self.tr("Trying again in %1 s.").replace("%1", str(delay // 1000)),
        )
        QTimer.singleShot(delay, self._restart)

    def _restart(self) -> None:
        if not self._stopping and self.state == "failed":
            self.start()

    def stop(self) -> None:
        """Stop watching, and end the engine if this window started it."""
        self._stopping = True
        self.unlocker.close()
        self._watch.stop()
        if self.client is not None:
            self.client.close()
        if self.process is not None:
            self.process.stop()
