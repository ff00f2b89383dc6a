"""Live dictation: audio arrives in pieces while someone speaks.

Each pass re-reads the unfinished stretch (the text after the last pause) greedily for a quick
partial; when voice activity detection finds a pause, the stretch before it is read once more
with beam search and committed, so the text already shown stops changing and each pass stays
short however long the dictation runs.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.backends.audio_decoder import SAMPLE_RATE, DecodedAudio
from engine.backends.whisper_backend import WhisperModel, WhisperOptions, speech_spans
from engine.errors import InvalidInput

PAUSE_SECONDS = 0.6  # silence after speech that ends a stretch
LONGEST_STRETCH = 20.0  # commit at the last gap once a stretch runs this long (Whisper reads 30 s)
SILENCE_KEPT = 1.0  # of a silent stretch, only this much is kept for the next pass
MIN_PASS_SECONDS = 0.3


@dataclass(frozen=True)
class LiveEvent:
    """`partial`: the whole text so far, the end still changing. `segment`: a committed stretch.
    `final`: the whole text once the audio has ended."""

    type: str
    text: str
    start: float = 0.0
    end: float = 0.0


def pcm16_to_float(pcm: bytes) -> npt.NDArray[np.float32]:
    if len(pcm) % 2:
        raise InvalidInput("Audio frames must be whole 16-bit samples (an even number of bytes).")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


class LiveDictation:
    """One dictation. `feed` may be called from any thread; `step` and `finish` block (run them
    off the event loop, one at a time)."""

    def __init__(
        self, model: WhisperModel, language: str | None, prompt: str | None, max_seconds: float
    ) -> None:
        self._model = model
        self._language = language
        self._prompt = prompt or ""
        self._max_samples = int(max_seconds * SAMPLE_RATE)
        self._lock = threading.Lock()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_start = 0.0  # where the pending stretch starts in the whole recording
        self._received = 0
        self._read_upto = 0  # samples received when the last pass ran
        self._committed: list[str] = []

    @property
    def duration(self) -> float:
        return self._received / SAMPLE_RATE

    def feed(self, pcm: bytes) -> None:
        samples = pcm16_to_float(pcm)
        with self._lock:
            if self._received + len(samples) > self._max_samples:
                raise InvalidInput(
                    f"A live dictation may last {self._max_samples // SAMPLE_RATE} seconds; "
                    "stop and start another."
                )
            self._pending = np.concatenate([self._pending, samples])
            self._received += len(samples)

    def has_news(self) -> bool:
        with self._lock:
            return self._received - self._read_upto >= MIN_PASS_SECONDS * SAMPLE_RATE

    def step(self) -> list[LiveEvent]:
        """One pass over what has arrived: maybe a committed segment, then the partial text."""
        with self._lock:
            audio, start, self._read_upto = self._pending, self._pending_start, self._received
        events: list[LiveEvent] = []
        spans = speech_spans(audio)
        seconds = len(audio) / SAMPLE_RATE
        if not spans:
            if seconds > 3 * SILENCE_KEPT:
                self._drop(int(len(audio) - SILENCE_KEPT * SAMPLE_RATE))
            return events
        cut = _cut_point(spans, seconds)
        if cut is not None:
            segment = self._commit(audio[: int(cut * SAMPLE_RATE)], start, cut)
            if segment is not None:
                events.append(segment)
            audio = audio[int(cut * SAMPLE_RATE) :]
        rest = self._read(audio, beam_size=1) if speech_spans(audio) else ""
        events.append(LiveEvent("partial", _join([*self._committed, rest])))
        return events

    def finish(self) -> list[LiveEvent]:
        """Read what is left and give the whole text."""
        with self._lock:
            audio, start = self._pending, self._pending_start
        events: list[LiveEvent] = []
        if len(audio) and speech_spans(audio):
            segment = self._commit(audio, start, len(audio) / SAMPLE_RATE)
            if segment is not None:
                events.append(segment)
        events.append(LiveEvent("final", self.text, 0.0, self.duration))
        return events

    @property
    def text(self) -> str:
        return _join(self._committed)

    def _commit(
        self, audio: npt.NDArray[np.float32], start: float, seconds: float
    ) -> LiveEvent | None:
        text = self._read(audio, beam_size=5)
        self._drop(len(audio))
        if not text:
            return None
        self._committed.append(text)
        return LiveEvent("segment", text, start, start + seconds)

    def _drop(self, samples: int) -> None:
        with self._lock:  # what arrived meanwhile stays
            self._pending = self._pending[samples:]
            self._pending_start += samples / SAMPLE_RATE

    def _read(self, audio: npt.NDArray[np.float32], beam_size: int) -> str:
        # The committed text's end guides spelling and keeps sentences flowing across stretches.
        prompt = (self._prompt + " " + self.text)[-400:].strip() or None
        options = WhisperOptions(language=self._language, prompt=prompt, beam_size=beam_size)
        never = threading.Event()
        transcript = self._model.transcribe(DecodedAudio(audio), options, lambda _s: None, never)
        return transcript.text.strip()


def _cut_point(spans: list[tuple[float, float]], seconds: float) -> float | None:
    """Where to end the stretch: in a pause after speech, or at the last gap of a long one."""
    last_end = spans[-1][1]
    if seconds - last_end >= PAUSE_SECONDS:
        return min(seconds, last_end + PAUSE_SECONDS / 2)
    if seconds >= LONGEST_STRETCH:
        gaps = [(b[0] + a[1]) / 2 for a, b in itertools.pairwise(spans)]
        return gaps[-1] if gaps else seconds
    return None


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p).strip()
