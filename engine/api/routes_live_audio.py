"""WebSocket /v1/audio/transcriptions/live: dictation, with partial text while someone speaks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from engine.api.errors import error_payload
from engine.api.state import EngineState
from engine.errors import HearthError, InvalidInput
from engine.services.live_transcription import LiveDictation, LiveEvent

router = APIRouter(prefix="/v1/audio")

MAX_FRAME_BYTES = 1024 * 1024  # about 33 s of audio in one frame


@router.websocket("/transcriptions/live")
async def live_transcription(
    websocket: WebSocket,
    model: str | None = None,
    language: str | None = None,
    prompt: str | None = None,
) -> None:
    """Live dictation. Query: `model` (default: the default speech model), `language`, `prompt`;
    the API token as for every /v1 route (`Authorization: Bearer`). Send binary frames of 16-bit
    little-endian PCM, 16 kHz, mono, as they are captured (up to 1 MiB each), then the text frame
    `{"type": "stop"}`; `{"type": "cancel"}` or closing keeps nothing. The engine sends JSON text
    frames: `{"type": "ready", "model", "sample_rate"}` once the model is loaded;
    `{"type": "partial", "text"}`, the whole text so far, its end still changing;
    `{"type": "segment", "text", "start", "end"}` for a stretch committed at a pause (voice
    activity detection); `{"type": "final", "text", "start", "end"}` after stop, then it closes;
    or `{"type": "error", "error": {...}}` (OpenAI's error object), then it closes."""
    state = websocket.app.state.engine
    assert isinstance(state, EngineState)
    await websocket.accept()
    try:
        dictation, model_id = await state.transcription.live(model, language or None, prompt)
        await websocket.send_json({"type": "ready", "model": model_id, "sample_rate": 16000})
        await _dictate(websocket, state, dictation)
    except WebSocketDisconnect:
        return  # the client left: nothing is kept
    except HearthError as exc:
        payload = error_payload(exc.message, exc.type, exc.code, exc.param)
        try:
            await websocket.send_json({"type": "error", **payload})
            await websocket.close(1008 if exc.status < 500 else 1011)
        except (WebSocketDisconnect, RuntimeError):
            pass


async def _dictate(websocket: WebSocket, state: EngineState, dictation: LiveDictation) -> None:
    arrived = asyncio.Event()
    reader = asyncio.create_task(_receive(websocket, dictation, arrived))
    try:
        while not reader.done():
            arrived.clear()
            if not dictation.has_news():
                waiter = asyncio.create_task(arrived.wait())
                await asyncio.wait([reader, waiter], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                continue
            await _send(websocket, await state.transcription.live_pass(dictation, final=False))
        if reader.result() == "stop":
            await _send(websocket, await state.transcription.live_pass(dictation, final=True))
        await websocket.close(1000)
    finally:
        reader.cancel()


async def _receive(websocket: WebSocket, dictation: LiveDictation, arrived: asyncio.Event) -> str:
    """Take audio until the client says stop or cancel; raise for what cannot be read."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data = message.get("bytes")
        if data is not None:
            if len(data) > MAX_FRAME_BYTES:
                raise InvalidInput("An audio frame may hold at most 1 MiB; send smaller ones.")
            dictation.feed(data)
            arrived.set()
            continue
        command = _command(message.get("text") or "")
        if command in ("stop", "cancel"):
            return command
        raise InvalidInput('Send audio as binary frames, then {"type": "stop"}.')


def _command(text: str) -> str | None:
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError:
        return None
    return payload.get("type") if isinstance(payload, dict) else None


async def _send(websocket: WebSocket, events: list[LiveEvent]) -> None:
    for event in events:
        body: dict[str, object] = {"type": event.type, "text": event.text}
        if event.type != "partial":
            body.update(start=round(event.start, 2), end=round(event.end, 2))
        await websocket.send_json(body)
