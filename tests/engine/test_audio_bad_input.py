"""Bad audio requests get clear OpenAI-shaped 400/404/413 errors and the engine stays up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEngine, assert_alive, start_engine
from tests.speech import SENTENCES, join_wavs, speak


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak(SENTENCES[0], tmp_path_factory.mktemp("bad-audio") / "clip.wav")


def _post(http: httpx.Client, content: bytes, name: str = "x.wav", **fields: str) -> httpx.Response:
    return http.post("/v1/audio/transcriptions", files={"file": (name, content)}, data=fields)


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "Traceback" not in error["message"]
    assert "/tmp" not in error["message"]
    return error  # type: ignore[no-any-return]


def test_empty_file(http: httpx.Client) -> None:
    assert _error(_post(http, b""), 400)["code"] == "empty_file"


NOT_AUDIO = [
    b"hello, this is text and not sound" * 100,
    b"\x89PNG\r\n\x1a\n" + b"\0" * 500,
    b"RIFF\x00\x00",
]


@pytest.mark.parametrize("content", NOT_AUDIO)
def test_not_audio(http: httpx.Client, content: bytes) -> None:
    assert _error(_post(http, content), 400)["code"] == "invalid_audio"


def _broken(data: bytes) -> list[bytes]:
    """A WAV cut after its header, and one cut short with scrambled samples: neither holds a
    whole sound, so both are refused."""
    return [data[:60], data[:44] + bytes(b ^ 0x5A for b in data[44:200]) + b"\xff" * 10]


def test_truncated_and_corrupt_audio(http: httpx.Client, clip: Path) -> None:
    data = clip.read_bytes()
    for broken in _broken(data):
        error = _error(_post(http, broken), 400)
        assert (error["param"], error["code"]) == ("file", "invalid_audio")
    # Scrambled samples in a whole, well-formed WAV are still sound (noise): PCM carries no
    # checksum, so it is transcribed like any other recording.
    noise = data[:44] + bytes(b ^ 0x5A for b in data[44:])
    response = _post(http, noise)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["text"], str)


def test_unknown_model_and_format(http: httpx.Client, clip: Path) -> None:
    data = clip.read_bytes()
    assert _error(_post(http, data, model="whisper-giant"), 404)["code"] == "model_not_found"
    assert _error(_post(http, data, response_format="docx"), 400)["param"] == "response_format"
    assert _error(_post(http, data, temperature="warm"), 400)["param"] == "temperature"
    assert _error(_post(http, data, stream="maybe"), 400)["param"] == "stream"
    weird = {"timestamp_granularities[]": "sentence"}
    assert _error(_post(http, data, **weird), 400)["param"] == "timestamp_granularities"


def test_missing_file_and_wrong_encoding(http: httpx.Client) -> None:
    assert (
        _error(http.post("/v1/audio/transcriptions", data={"model": "whisper-1"}), 400)["param"]
        == "file"
    )
    as_json = http.post("/v1/audio/transcriptions", json={"file": "abc"})
    assert _error(as_json, 400)["param"] == "file"


def test_upload_and_duration_caps(tmp_path: Path, clip: Path) -> None:
    engine = start_engine(tmp_path, max_upload_bytes=1024 * 1024, max_audio_seconds=5)
    try:
        with engine.http() as http:
            big = b"\0" * (2 * 1024 * 1024)
            assert _error(_post(http, big), 413)["code"] == "payload_too_large"

            def chunks():  # type: ignore[no-untyped-def]
                yield b"--b\r\nContent-Disposition: form-data; "
                yield b'name="file"; filename="a.wav"\r\n\r\n'
                for _ in range(200):
                    yield b"\0" * 8192
                yield b"\r\n--b--\r\n"

            chunked = http.post(
                "/v1/audio/transcriptions",
                content=chunks(),
                headers={"content-type": "multipart/form-data; boundary=b"},
            )
            assert _error(chunked, 413)["code"] == "payload_too_large"
            long_clip = join_wavs([clip] * 3, tmp_path / "long.wav")  # about 8 s
            too_long = _post(http, long_clip.read_bytes())
            assert _error(too_long, 400)["code"] == "audio_too_long"
            assert _post(http, clip.read_bytes()).status_code == 200
        assert_alive(engine)
    finally:
        engine.process.stop()


def test_engine_alive_after_bad_audio(engine_server: RunningEngine, clip: Path) -> None:
    """On its own: every kind of bad audio at once, then the same engine process still chats
    and transcribes."""
    process = engine_server.process.process
    assert process is not None
    with engine_server.http() as http:
        for content in [*NOT_AUDIO, *_broken(clip.read_bytes()), b""]:
            assert _post(http, content).status_code == 400
        assert _post(http, clip.read_bytes()).status_code == 200
    assert_alive(engine_server)
    assert process.poll() is None


def test_decoding_runs_under_a_time_limit(tmp_path: Path, clip: Path) -> None:
    engine = start_engine(tmp_path, decode_time_limit_seconds=0.000001)
    try:
        with engine.http() as http:
            assert _error(_post(http, clip.read_bytes()), 400)["code"] == "decode_timeout"
        assert_alive(engine)
    finally:
        engine.process.stop()
