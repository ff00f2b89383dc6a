"""Engine vs faster-whisper directly: transcription time ratio and real-time factor.

The same file (about a minute of espeak-ng speech), model and settings go through the engine's
/v1/audio/transcriptions and through faster_whisper.WhisperModel in this process, interleaved.

    .venv/bin/python benchmarks/bench_transcribe.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.engine_run import start_engine
from benchmarks.report import emit
from engine.settings import default_embedded_dir
from tests.speech import SENTENCES, join_wavs, speak, wav_seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--section", type=Path, help="also write a Markdown section here")
    args = parser.parse_args()

    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    work = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    parts = [speak(s, work / f"p{i}.wav") for i, s in enumerate(SENTENCES)]
    audio = join_wavs(parts * 3, work / "speech.wav")
    seconds = wav_seconds(audio)

    engine, url, token = start_engine()
    direct = WhisperModel(
        str(default_embedded_dir() / "whisper-tiny.en"), device="cpu", compute_type="int8"
    )

    def run_direct() -> float:
        started = time.perf_counter()
        samples = decode_audio(str(audio))
        segments, _info = direct.transcribe(
            samples, beam_size=5, vad_filter=False, temperature=[0.0, 0.2, 0.4, 0.6]
        )
        " ".join(s.text for s in segments)
        return time.perf_counter() - started

    def run_engine(client: httpx.Client) -> float:
        started = time.perf_counter()
        with audio.open("rb") as f:
            response = client.post(
                "/v1/audio/transcriptions", files={"file": f}, data={"vad_filter": "false"}
            )
        response.raise_for_status()
        return time.perf_counter() - started

    engine_times: list[float] = []
    direct_times: list[float] = []
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as client:
            run_engine(client)  # warm-up: load the model
            run_direct()
            for _ in range(args.runs):
                engine_times.append(run_engine(client))
                direct_times.append(run_direct())
    finally:
        engine.stop()

    t_engine = statistics.median(engine_times)
    t_direct = statistics.median(direct_times)
    lines = [
        f"model: whisper-tiny.en int8 on CPU, {seconds:.1f} s of speech, beam 5, no VAD, "
        f"{args.runs} interleaved runs each",
        f"faster-whisper directly: {t_direct:.2f} s (real-time factor {t_direct / seconds:.3f})",
        f"engine over HTTP: {t_engine:.2f} s (real-time factor {t_engine / seconds:.3f})",
        f"time ratio (engine / direct): {t_engine / t_direct:.3f}   (target <= 1.10)",
    ]
    emit("Transcription: engine vs faster-whisper directly", lines, args.section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
