"""Speech to text: resolve the model, decode the upload, transcribe, report progress."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from engine.backends.audio_decoder import decode_audio
from engine.backends.whisper_backend import Segment, Transcript, WhisperOptions
from engine.errors import GenerationFailed, HearthError, InvalidInput
from engine.registry.speech_models import SpeechModelEntry, SpeechModels
from engine.services.live_transcription import LiveDictation, LiveEvent
from engine.services.thread_stream import ThreadStream
from engine.services.transcript_formats import FORMATS
from engine.settings import EngineSettings

T = TypeVar("T")


@dataclass(frozen=True)
class TranscriptionParams:
    """What a caller asks for; shared by the synchronous endpoints and jobs."""

    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    temperature: float = 0.0
    response_format: str = "json"
    granularities: frozenset[str] = frozenset()
    vad: bool | None = None  # None: on for audio longer than the setting
    task: str = "transcribe"

    def __post_init__(self) -> None:
        if self.response_format not in FORMATS:
            raise InvalidInput(
                f"response_format must be one of {', '.join(FORMATS)}.", param="response_format"
            )
        if not 0.0 <= self.temperature <= 1.0:
            raise InvalidInput("temperature must be between 0 and 1.", param="temperature")
        unknown = self.granularities - {"segment", "word"}
        if unknown:
            raise InvalidInput(
                "timestamp_granularities[] takes 'segment' and 'word'.",
                param="timestamp_granularities",
            )
        if self.task not in ("transcribe", "translate"):
            raise InvalidInput("task must be 'transcribe' or 'translate'.", param="task")


@dataclass(frozen=True)
class Progress:
    """How far a transcription is: audio seconds done of the total."""

    done_seconds: float
    total_seconds: float
    segment: Segment | None = None

    @property
    def fraction(self) -> float:
        if self.total_seconds <= 0:
            return 0.0
        return min(1.0, self.done_seconds / self.total_seconds)


class TranscriptionService:
    def __init__(self, settings: EngineSettings, models: SpeechModels, executor: Executor) -> None:
        self._settings = settings
        self._models = models
        self._executor = executor

    def run_blocking(
        self,
        entry: SpeechModelEntry,
        audio_path: Path,
        params: TranscriptionParams,
        on_progress: Callable[[Progress], None],
        cancel: threading.Event,
    ) -> Transcript:
        """Transcribe one file; call `on_progress` per segment. Blocks: run it off the loop."""
        model = self._models.load_blocking(entry)
        if params.language:
            self._models.check_language(entry, model, params.language)
        audio = decode_audio(
            audio_path,
            max_seconds=self._settings.max_audio_seconds,
            time_limit=self._settings.decode_time_limit_seconds,
        )
        on_progress(Progress(0.0, audio.duration))
        vad = (
            params.vad
            if params.vad is not None
            else audio.duration > self._settings.vad_auto_seconds
        )
        options = WhisperOptions(
            task=params.task,
            language=params.language or ("en" if params.task == "translate" else None),
            prompt=params.prompt,
            temperature=params.temperature,
            word_timestamps="word" in params.granularities,
            vad_filter=vad,
        )
        transcript = model.transcribe(
            audio,
            options,
            lambda seg: on_progress(Progress(seg.end, audio.duration, seg)),
            cancel,
        )
        if not transcript.cancelled:
            on_progress(Progress(audio.duration, audio.duration))
        return transcript

    async def stream(
        self, audio_path: Path, params: TranscriptionParams, cleanup: Callable[[], None]
    ) -> tuple[ThreadStream[Progress], str]:
        """Start transcribing in a worker; iterate the stream for progress. Waits for a turn."""
        entry = self._models.resolve(params.model)
        queue = self._models.queue_for(entry.id)
        await queue.acquire()

        def done() -> None:
            queue.release()
            cleanup()

        def produce(emit: Callable[[Progress], None], cancel: threading.Event) -> Transcript:
            return self.run_blocking(entry, audio_path, params, emit, cancel)

        return ThreadStream(self._executor, produce, on_done=done, failure=_failure), entry.id

    async def transcribe(self, audio_path: Path, params: TranscriptionParams) -> Transcript:
        """The whole transcript, waiting for this model's turn."""
        stream, _model_id = await self.stream(audio_path, params, cleanup=lambda: None)
        async for _progress in stream.items():
            pass
        result = await stream.future
        assert isinstance(result, Transcript)
        return result

    async def live(
        self, model: str | None, language: str | None, prompt: str | None
    ) -> tuple[LiveDictation, str]:
        """A dictation on a loaded model. It takes no turn in the model's queue: its passes are
        short, and a long file being transcribed must not stall someone speaking."""
        entry = self._models.resolve(model)
        loaded = await self._blocking(self._models.load_blocking, entry)
        if language:
            self._models.check_language(entry, loaded, language)
        return LiveDictation(loaded, language, prompt, self._settings.max_audio_seconds), entry.id

    async def live_pass(self, dictation: LiveDictation, final: bool) -> list[LiveEvent]:
        try:
            return await self._blocking(dictation.finish if final else dictation.step)
        except HearthError:
            raise
        except Exception as exc:
            raise _failure(exc) from exc

    async def _blocking(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def _failure(exc: BaseException) -> HearthError:
    return GenerationFailed(f"transcription failed ({type(exc).__name__})")
