"""Speech to text through the engine's HTTP API with the real tiny.en model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import RunningEngine, assert_alive
from tests.speech import SENTENCES, convert, join_wavs, speak, wav_seconds, word_errors


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speech")
    clips = {f"s{i}": speak(text, folder / f"s{i}.wav") for i, text in enumerate(SENTENCES)}
    clips["all"] = join_wavs([clips[f"s{i}"] for i in range(len(SENTENCES))], folder / "all.wav")
    return clips


def _transcribe(
    http: httpx.Client, path: Path, route: str = "transcriptions", **fields: object
) -> httpx.Response:
    with path.open("rb") as f:
        return http.post(
            f"/v1/audio/{route}",
            files={"file": (path.name, f)},
            data={k: v if isinstance(v, list) else str(v) for k, v in fields.items()},
        )


def test_word_error_rate_over_spoken_sentences(http: httpx.Client, speech: dict[str, Path]) -> None:
    errors = total = 0
    for i, sentence in enumerate(SENTENCES):
        response = _transcribe(http, speech[f"s{i}"], model="whisper-1")
        assert response.status_code == 200, response.text
        e, n = word_errors(sentence, response.json()["text"])
        errors, total = errors + e, total + n
    assert errors / total <= 0.25, f"WER {errors / total:.2f}"


def _cue_times(text: str, pattern: str) -> list[tuple[float, float]]:
    def seconds(stamp: str) -> float:
        h, m, s = re.split(r":", stamp.replace(",", "."))
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [(seconds(a), seconds(b)) for a, b in re.findall(pattern, text)]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_parse_and_timestamps_rise_inside_the_audio(
    http: httpx.Client, speech: dict[str, Path], fmt: str
) -> None:
    response = _transcribe(http, speech["all"], response_format=fmt)
    assert response.status_code == 200
    text = response.text
    if fmt == "vtt":
        assert text.startswith("WEBVTT")
        assert response.headers["content-type"].startswith("text/vtt")
        times = _cue_times(text, r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})")
    else:
        assert re.match(r"^1\n", text)
        times = _cue_times(text, r"(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})")
    assert len(times) >= 2
    duration = wav_seconds(speech["all"])
    for (start, end), (next_start, _) in zip(
        times, [*times[1:], (duration, duration)], strict=True
    ):
        assert 0 <= start < end <= duration + 0.01
        assert next_start >= start
    cues = [line for line in text.splitlines() if line and "-->" not in line and not line.isdigit()]
    assert "fox" in " ".join(cues).lower()


def test_verbose_json_with_word_timestamps(http: httpx.Client, speech: dict[str, Path]) -> None:
    body = _transcribe(
        http,
        speech["s0"],
        response_format="verbose_json",
        **{"timestamp_granularities[]": ["word", "segment"]},
    ).json()
    assert body["language"] == "en"
    assert body["duration"] == pytest.approx(wav_seconds(speech["s0"]), abs=0.05)
    assert body["segments"]
    assert body["segments"][0]["text"]
    starts = [w["start"] for w in body["words"]]
    assert starts == sorted(starts)
    assert all(w["end"] <= body["duration"] + 0.01 for w in body["words"])
    assert "fox" in [w["word"].lower().strip(".,") for w in body["words"]]


def test_plain_text_and_vad_option(http: httpx.Client, speech: dict[str, Path]) -> None:
    plain = _transcribe(http, speech["s1"], response_format="text", vad_filter="true")
    assert plain.headers["content-type"].startswith("text/plain")
    assert "call me back" in plain.text.lower()


def test_streaming_sends_deltas_then_done(http: httpx.Client, speech: dict[str, Path]) -> None:
    with (
        speech["all"].open("rb") as f,
        http.stream(
            "POST",
            "/v1/audio/transcriptions",
            files={"file": ("all.wav", f)},
            data={"stream": "true"},
        ) as response,
    ):
        events = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")
        ]
    deltas = [e for e in events if e["type"] == "transcript.text.delta"]
    assert len(deltas) >= 2
    assert events[-1]["type"] == "transcript.text.done"
    assert events[-1]["text"] == "".join(d["delta"] for d in deltas)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        ("mp3", "mp3"),
        ("m4a", "aac"),
        ("ogg", "libopus"),
        ("flac", "flac"),
        ("webm", "libopus"),
        ("mp4", "aac"),
    ],
)
def test_common_formats_are_decoded(
    http: httpx.Client, speech: dict[str, Path], tmp_path: Path, suffix: str, codec: str
) -> None:
    rate = 48000 if codec == "libopus" else None
    encoded = convert(speech["s0"], tmp_path / f"clip.{suffix}", codec, rate)
    response = _transcribe(http, encoded)
    assert response.status_code == 200, response.text
    errors, total = word_errors(SENTENCES[0], response.json()["text"])
    assert errors / total <= 0.34


def test_openai_sdk_transcribes_translates_and_streams(
    engine_server: RunningEngine, speech: dict[str, Path]
) -> None:
    client = openai.OpenAI(
        base_url=engine_server.url + "/v1", api_key=engine_server.token, max_retries=0
    )
    with speech["s2"].open("rb") as f:
        result = client.audio.transcriptions.create(model="whisper-1", file=f)
    assert "cold" in result.text.lower()
    with speech["s2"].open("rb") as f:
        verbose = client.audio.transcriptions.create(
            model="whisper-1",
            file=f,
            response_format="verbose_json",
            timestamp_granularities=["word"],
        )
    assert verbose.words
    assert verbose.words[0].start >= 0
    with speech["s2"].open("rb") as f:
        translated = client.audio.translations.create(model="whisper-1", file=f)
    assert "windy" in translated.text.lower()
    with speech["s2"].open("rb") as f:
        stream = client.audio.transcriptions.create(model="whisper-1", file=f, stream=True)
        events = list(stream)
    assert events[-1].type == "transcript.text.done"
    assert "cold" in events[-1].text.lower()
    client.close()


def test_language_the_model_cannot_do_names_one_that_can(
    http: httpx.Client, speech: dict[str, Path]
) -> None:
    response = _transcribe(http, speech["s0"], language="zh")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "language"
    assert "whisper-small" in error["message"]


def test_models_list_has_the_speech_model_and_its_alias(http: httpx.Client) -> None:
    cards = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
    tiny = cards["whisper-tiny.en"]
    assert tiny["kind"] == "transcription"
    assert tiny["embedded"] is True
    assert "whisper-1" in tiny["aliases"]
    assert tiny["languages"] == ["en"]
    assert_alive_http = http.get("/v1/models/whisper-tiny.en")
    assert assert_alive_http.json()["kind"] == "transcription"


def test_engine_alive_after_transcriptions(
    engine_server: RunningEngine, speech: dict[str, Path]
) -> None:
    """On its own: transcriptions in every output format, streamed and translated, then the
    same engine process still chats (whisper and llama.cpp share the process)."""
    process = engine_server.process.process
    assert process is not None
    with engine_server.http() as http:
        for fmt in ("json", "text", "srt", "vtt", "verbose_json"):
            assert _transcribe(http, speech["s0"], response_format=fmt).status_code == 200
        assert _transcribe(http, speech["s1"], stream="true").status_code == 200
        assert _transcribe(http, speech["s2"], route="translations").status_code == 200
    assert_alive(engine_server)
    assert process.poll() is None
