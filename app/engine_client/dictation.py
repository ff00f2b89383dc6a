"""A live dictation against the engine's WebSocket: audio pushed from any thread (the capture),
events read on a worker. No Qt: the desktop and scripts use it alike."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from app.engine_client.errors import EngineError, EngineUnavailable, error_from_payload

STOP, CANCEL = "stop", "cancel"
POLL_SECONDS = 0.05


class Dictation:
    """Push 16 kHz 16-bit mono PCM as it is captured, then `stop()` (the final text comes) or
    `cancel()` (nothing is kept). Iterate `events()` on a worker thread: dicts with `type`
    "ready", "partial", "segment" or "final"; an engine error is raised as EngineError."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        language: str | None = None,
        model: str | None = None,
    ) -> None:
        query = {k: v for k, v in (("language", language), ("model", model)) if v}
        self._url = (
            base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
            + "/v1/audio/transcriptions/live"
            + (f"?{urlencode(query)}" if query else "")
        )
        self._token = token
        self._outbox: queue.Queue[bytes | str] = queue.Queue()
        self.text = ""  # the latest whole text (partial or final)

    def push(self, pcm: bytes) -> None:
        if pcm:
            self._outbox.put(pcm)

    def stop(self) -> None:
        self._outbox.put(STOP)

    def cancel(self) -> None:
        self._outbox.put(CANCEL)

    def events(self) -> Iterator[dict[str, object]]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            with connect(self._url, additional_headers=headers, open_timeout=10) as ws:
                yield from self._exchange(ws)
        except InvalidStatus as exc:
            response = exc.response
            try:
                payload = json.loads(response.body or b"")
            except (json.JSONDecodeError, UnicodeDecodeError):
                payload = None
            raise error_from_payload(response.status_code, payload) from None
        except (OSError, WebSocketException) as exc:
            raise EngineUnavailable(
                f"The engine could not be reached for dictation ({type(exc).__name__})."
            ) from None

    def _exchange(self, ws: ClientConnection) -> Iterator[dict[str, object]]:
        ending = False
        while True:
            while not ending:  # send what the capture has given since the last look
                try:
                    item = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, bytes):
                    ws.send(item)
                    continue
                ws.send(json.dumps({"type": item}))
                if item == CANCEL:
                    return
                ending = True
            try:
                message = ws.recv(timeout=POLL_SECONDS)
            except TimeoutError:
                continue
            except ConnectionClosed:
                if ending:
                    raise EngineError("The dictation ended before its final text came.") from None
                raise
            event = json.loads(message)
            if not isinstance(event, dict):
                continue
            if event.get("type") == "error":
                raise error_from_payload(400, event)
            if isinstance(event.get("text"), str):
                self.text = str(event["text"])
            yield event
            if event.get("type") == "final":
                return
