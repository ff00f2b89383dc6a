"""A transcript in OpenAI's response formats: json, text, srt, vtt and verbose_json."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from engine.backends.whisper_backend import Segment, Transcript, Word

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
FORMATS: tuple[str, ...] = ("json", "text", "srt", "vtt", "verbose_json")
MEDIA_TYPES = {
    "json": "application/json",
    "verbose_json": "application/json",
    "text": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cues(segments: list[Segment]) -> list[Segment]:
    return [s for s in segments if s.text]


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{n}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
        for n, s in enumerate(_cues(transcript.segments), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = [
        f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n"
        for s in _cues(transcript.segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_verbose(
    transcript: Transcript, task: str, words: bool, segments: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": task,
        "language": transcript.language,
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
    }
    if segments:
        body["segments"] = [
            {
                "id": s.id,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text,
                "avg_logprob": s.avg_logprob,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in transcript.segments
        ]
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
            for s in transcript.segments
            for w in s.words
        ]
    return body


def render(
    transcript: Transcript,
    fmt: str,
    task: str = "transcribe",
    granularities: frozenset[str] = frozenset(),
) -> str | dict[str, Any]:
    """The body for `fmt`: a dict for the JSON formats, text otherwise."""
    if fmt == "json":
        return {"text": transcript.text}
    if fmt == "text":
        return transcript.text + "\n"
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    return to_verbose(
        transcript,
        task,
        words="word" in granularities,
        segments="segment" in granularities or not granularities,
    )


def to_storage(transcript: Transcript) -> dict[str, Any]:
    """Everything in a transcript, as JSON-ready data (jobs keep results this way)."""
    return asdict(transcript)


def from_storage(data: dict[str, Any]) -> Transcript:
    segments = [
        Segment(**{**s, "words": [Word(**w) for w in s.get("words", [])]})
        for s in data.get("segments", [])
    ]
    return Transcript(**{**data, "segments": segments})
