"""Speech for tests: espeak-ng says known sentences; helpers to join, convert and score."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you get home tonight.",
    "The weather is cold and windy this morning.",
    "She opened the window and looked at the garden.",
    "We need to buy bread, milk and cheese.",
    "The meeting starts after lunch in the big room.",
]


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, timeout=60)
    return path


def join_wavs(parts: list[Path], target: Path, silence_seconds: float = 0.4) -> Path:
    """One wav from several of the same format, with a pause between them."""
    with wave.open(str(parts[0])) as first:
        params = first.getparams()
    gap = b"\0" * int(params.framerate * silence_seconds) * params.sampwidth * params.nchannels
    with wave.open(str(target), "wb") as out:
        out.setparams(params)
        for part in parts:
            with wave.open(str(part)) as w:
                out.writeframes(w.readframes(w.getnframes()))
            out.writeframes(gap)
    return target


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def convert(source: Path, target: Path, codec: str, rate: int | None = None) -> Path:
    """Re-encode audio with PyAV (no ffmpeg binary needed)."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        in_stream = src.streams.audio[0]
        out_stream = dst.add_stream(codec, rate=rate or in_stream.rate)
        out_stream.layout = "mono"
        for frame in src.decode(in_stream):
            frame.pts = None
            for packet in out_stream.encode(frame):
                dst.mux(packet)
        for packet in out_stream.encode(None):
            dst.mux(packet)
    return target


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, words in the reference)."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1], len(ref)
