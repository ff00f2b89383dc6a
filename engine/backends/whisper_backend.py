"""faster-whisper behind a small typed interface. Blocking; callers run it off the event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.backends.audio_decoder import SAMPLE_RATE, DecodedAudio
from engine.errors import ModelLoadFailed


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass
class Transcript:
    text: str
    language: str
    duration: float
    segments: list[Segment]
    cancelled: bool = False


@dataclass(frozen=True)
class WhisperOptions:
    task: str = "transcribe"  # or "translate" (into English)
    language: str | None = None
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False
    vad_filter: bool = False
    beam_size: int = 5


def cuda_available() -> bool:
    import ctranslate2

    return bool(ctranslate2.get_cuda_device_count() > 0)


class WhisperModel:
    """One loaded CTranslate2 Whisper model."""

    def __init__(self, model_dir: Path, device: str, compute_type: str, threads: int) -> None:
        from faster_whisper import WhisperModel as FWModel

        try:
            self._model = FWModel(
                str(model_dir), device=device, compute_type=compute_type, cpu_threads=threads
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelLoadFailed(
                f"the Whisper model {model_dir.name} could not be loaded"
            ) from exc
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(
        self,
        audio: DecodedAudio,
        options: WhisperOptions,
        on_segment: Callable[[Segment], None],
        cancel: threading.Event,
    ) -> Transcript:
        """Decode segment by segment, calling `on_segment` for each; stop early on `cancel`."""
        temperature = options.temperature if options.temperature > 0 else [0.0, 0.2, 0.4, 0.6]
        segments_iter, info = self._model.transcribe(
            audio.samples,
            language=options.language,
            task=options.task if self.multilingual else "transcribe",
            initial_prompt=options.prompt or None,
            temperature=temperature,
            word_timestamps=options.word_timestamps,
            vad_filter=options.vad_filter,
            beam_size=options.beam_size,
        )
        segments: list[Segment] = []
        cancelled = False
        for raw in segments_iter:
            words = [
                Word(w.word, float(w.start), float(w.end), float(w.probability))
                for w in (raw.words or [])
            ]
            segment = Segment(
                id=len(segments),
                start=float(raw.start),
                end=min(float(raw.end), audio.duration),
                text=raw.text.strip(),
                words=words,
                avg_logprob=float(raw.avg_logprob),
                no_speech_prob=float(raw.no_speech_prob),
            )
            segments.append(segment)
            on_segment(segment)
            if cancel.is_set():
                cancelled = True
                break
        return Transcript(
            text=" ".join(s.text for s in segments if s.text).strip(),
            language=info.language,
            duration=audio.duration,
            segments=segments,
            cancelled=cancelled,
        )


def speech_spans(
    samples: npt.NDArray[np.float32], min_silence_ms: int = 300
) -> list[tuple[float, float]]:
    """Where someone speaks in 16 kHz audio, in seconds (Silero VAD, as faster-whisper ships it)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=100)
    return [
        (span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE)
        for span in get_speech_timestamps(samples, options)
    ]
