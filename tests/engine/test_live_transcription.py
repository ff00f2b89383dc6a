"""Live dictation over the WebSocket: espeak-ng speech sent in real-time-sized frames, partial text
before the end, committed segments at pauses, the final text close to what was said."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import RunningEngine, assert_alive
from tests.speech import SENTENCES, join_wavs, speak, word_errors

FRAME = 3200  # 100 ms of 16 kHz 16-bit mono
# Sentences tiny.en reads right from espeak-ng's voice, so the score measures the cutting.
SAID = [SENTENCES[i] for i in (1, 3, 4)]


def pcm16k(path: Path) -> bytes:
    """espeak-ng's 22 kHz wav as the 16 kHz 16-bit mono a microphone would give."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    index = (np.arange(int(len(samples) * 16000 / rate)) * rate / 16000).astype(int)
    return bytes(samples[index].astype("<i2").tobytes())


@pytest.fixture(scope="module")
def three_sentences(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("live")
    parts = [speak(s, folder / f"{i}.wav") for i, s in enumerate(SAID)]
    silence = speak(" ", folder / "silence.wav")  # a short silent wav of the same format
    joined = join_wavs([*parts, silence], folder / "said.wav", silence_seconds=1.2)
    return pcm16k(joined)


def _open(engine: RunningEngine, query: str = "") -> ClientConnection:
    url = engine.url.replace("http://", "ws://") + "/v1/audio/transcriptions/live" + query
    return connect(url, additional_headers={"Authorization": f"Bearer {engine.token}"})


def _events(ws: ClientConnection) -> list[dict[str, object]]:
    events = []
    for message in ws:
        events.append(json.loads(message))
    return events


def test_partial_text_before_the_end_and_a_final_close_to_the_speech(
    engine_server: RunningEngine, three_sentences: bytes
) -> None:
    with _open(engine_server, "?language=en") as ws:
        ready = json.loads(ws.recv(timeout=120))
        assert ready["type"] == "ready"
        assert ready["sample_rate"] == 16000
        seen_while_sending: list[dict[str, object]] = []
        for i in range(0, len(three_sentences), FRAME):
            ws.send(three_sentences[i : i + FRAME])
            try:  # read what has come back so far, without waiting for it
                while True:
                    seen_while_sending.append(json.loads(ws.recv(timeout=0.1)))
            except TimeoutError:
                pass
        ws.send(json.dumps({"type": "stop"}))
        after = _events(ws)
    partials = [e for e in seen_while_sending if e["type"] == "partial" and e["text"]]
    assert partials, "no partial text arrived while the audio was still being sent"
    segments = [e for e in seen_while_sending + after if e["type"] == "segment"]
    assert len(segments) >= 2, "the pauses between the sentences committed nothing"
    final = after[-1]
    assert final["type"] == "final"
    errors, total = word_errors(" ".join(SAID), str(final["text"]))
    assert errors / total <= 0.25, final["text"]
    assert float(str(final["end"])) == pytest.approx(len(three_sentences) / 32000, abs=0.05)


def test_cancel_keeps_nothing_and_bad_frames_get_an_error(
    engine_server: RunningEngine, three_sentences: bytes
) -> None:
    with _open(engine_server) as ws:
        assert json.loads(ws.recv(timeout=120))["type"] == "ready"
        ws.send(three_sentences[:32000])
        ws.send(json.dumps({"type": "cancel"}))
        assert not [e for e in _events(ws) if e["type"] == "final"]
    with _open(engine_server) as ws:
        assert json.loads(ws.recv(timeout=120))["type"] == "ready"
        ws.send(b"\x01\x02\x03")  # not whole 16-bit samples
        error = json.loads(ws.recv(timeout=30))
        assert error["type"] == "error"
        assert error["error"]["type"] == "invalid_request_error"
        assert "16-bit" in error["error"]["message"]
    with _open(engine_server) as ws:
        assert json.loads(ws.recv(timeout=120))["type"] == "ready"
        ws.send("hello")
        error = json.loads(ws.recv(timeout=30))
        assert error["type"] == "error"
        assert "stop" in error["error"]["message"]
    assert_alive(engine_server)


def test_unknown_model_is_an_error_event(engine_server: RunningEngine) -> None:
    with _open(engine_server, "?model=no-such-model") as ws:
        error = json.loads(ws.recv(timeout=30))
    assert error["type"] == "error"
    assert error["error"]["code"] == "model_not_found"


def test_handshake_needs_the_token_and_a_local_origin(engine_server: RunningEngine) -> None:
    url = engine_server.url.replace("http://", "ws://") + "/v1/audio/transcriptions/live"
    with pytest.raises(InvalidStatus) as no_token:
        connect(url)
    assert no_token.value.response.status_code == 401
    assert b"invalid_api_key" in no_token.value.response.body
    headers = {"Authorization": f"Bearer {engine_server.token}"}
    with pytest.raises(InvalidStatus) as foreign:
        connect(url, additional_headers=headers, origin="https://evil.example")  # type: ignore[arg-type]
    assert foreign.value.response.status_code == 403
    assert b"origin_not_allowed" in foreign.value.response.body
