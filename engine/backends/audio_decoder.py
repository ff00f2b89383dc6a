"""Audio files to 16 kHz mono float32 with PyAV, under a time limit and a duration cap.

Any container FFmpeg reads works: wav, mp3, m4a/aac, ogg/opus, flac, webm, and the audio track of
mp4. A file that is not audio, is damaged, or takes too long to decode raises InvalidInput.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.errors import InvalidInput

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class DecodedAudio:
    samples: npt.NDArray[np.float32]

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _not_audio(detail: str) -> InvalidInput:
    return InvalidInput(
        f"The file could not be read as audio ({detail}). Send wav, mp3, m4a, ogg, opus, flac, "
        "webm or mp4.",
        param="file",
        code="invalid_audio",
    )


def decode_audio(path: Path, *, max_seconds: float, time_limit: float) -> DecodedAudio:
    """Decode the first audio stream of `path`; refuse audio longer than `max_seconds`."""
    import av

    if path.stat().st_size == 0:
        raise InvalidInput("The audio file is empty.", param="file", code="empty_file")
    deadline = time.monotonic() + time_limit
    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise _not_audio("it has no audio track")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                announced = float(stream.duration * stream.time_base)
                if announced > max_seconds:
                    raise _too_long(announced, max_seconds)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
                    chunks.append(chunk)
                    total += len(chunk)
                if total > max_seconds * SAMPLE_RATE:
                    raise _too_long(total / SAMPLE_RATE, max_seconds)
                if time.monotonic() > deadline:
                    raise InvalidInput(
                        "Decoding the audio took longer than the time limit.",
                        param="file",
                        code="decode_timeout",
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0)
    except InvalidInput:
        raise
    except (av.error.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise _not_audio("it is not a supported audio format or is damaged") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if len(samples) < SAMPLE_RATE // 10:
        raise _not_audio("it holds no decodable sound")
    return DecodedAudio(samples=samples)


def _too_long(seconds: float, limit: float) -> InvalidInput:
    return InvalidInput(
        f"The audio is {seconds:.0f} s long; the limit is {limit:.0f} s.",
        param="file",
        code="audio_too_long",
    )
