"""The desktop's engine: connect to a running one or start our own, watch it, restart it with
back-off if it stops, and stop it (only if we started it) when the window closes."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QTimer, Signal

from app.engine_client import EngineClient, EngineError
from app.engine_client.launcher import EngineProcess, find_connection
from app.tasks import Tasks

MAX_BACKOFF_MS = 30_000
LOCKED = "The key store is locked: its passphrase is needed."


class PassphraseNeeded(EngineError):
    def __init__(self) -> None:
        super().__init__(LOCKED, code="keystore_locked")


def _locked() -> str:
    raise PassphraseNeeded()  # asked on the UI thread, never from a worker


class EngineLink(QObject):
    """Owns the engine client. States: starting, ready, busy, failed (with the reason)."""

    status = Signal(str, str)  # state, detail
    ready = Signal()
    restarted = Signal(str)  # why: shown to the user
    passphrase_needed = Signal()

    def __init__(self, tasks: Tasks, env: dict[str, str] | None = None) -> None:
        super().__init__()
        self._tasks = tasks
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
        conn = find_connection(self._env, _locked)
        if conn.url is not None and self.process is None:
            try:
                client = EngineClient(conn.url, conn.token)
                client.health()
                return client
            except EngineError:
                pass  # a stale connection file: start our own
        process = EngineProcess(env=self._env)
        url = process.start()
        self.process = process
        return EngineClient(url, conn.token)

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
        if message == LOCKED:
            self._set("failed", message)
            self.passphrase_needed.emit()
            return
        self._set("failed", message)
        self._retry_later(message)

    def unlock(self, passphrase: str) -> None:
        """Start again with the key store's passphrase (kept for the engine we start)."""
        self._env["HEARTH_KEYSTORE_PASSPHRASE"] = passphrase
        self.start()

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
        self._watch.stop()
        if self.client is not None:
            self.client.close()
        if self.process is not None:
            self.process.stop()
