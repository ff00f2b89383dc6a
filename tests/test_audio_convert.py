"""A device's own format (48 kHz stereo float, 44.1 kHz int16, …) to 16 kHz mono int16, fed in
pieces of any size as a microphone gives them."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio_convert import ToPcm16k


def _tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _pieces(data: bytes, sizes: list[int]) -> list[bytes]:
    out, at, i = [], 0, 0
    while at < len(data):
        out.append(data[at : at + sizes[i % len(sizes)]])
        at += sizes[i % len(sizes)]
        i += 1
    return out


@pytest.mark.parametrize(
    ("rate", "channels", "kind"),
    [(48000, 2, "float"), (44100, 1, "int16"), (22050, 2, "int32"), (16000, 1, "uint8")],
)
def test_a_tone_comes_out_at_16k_mono_the_same_length_and_pitch(
    rate: int, channels: int, kind: str
) -> None:
    tone = _tone(rate, 2.0)
    frames = np.repeat(tone[:, None], channels, axis=1)
    raw = {
        "float": frames.astype("<f4"),
        "int16": (frames * 32767).astype("<i2"),
        "int32": (frames * 2147483647).astype("<i4"),
        "uint8": (frames * 127 + 128).astype("u1"),
    }[kind].tobytes()
    convert = ToPcm16k(rate, channels, kind)
    # Odd piece sizes: frames and samples split across pieces, as a device's buffers come.
    out = b"".join(convert(p) for p in _pieces(raw, [1001, 4097, 333]))
    samples = np.frombuffer(out, dtype="<i2").astype(np.float32) / 32767
    assert len(samples) == pytest.approx(32000, abs=2)
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * 16000 / len(samples)
    assert peak_hz == pytest.approx(440, abs=2)
    assert np.abs(samples).max() == pytest.approx(0.5, abs=0.02)
    # Seamless joins: no sample jumps more than the tone itself can between samples.
    assert np.abs(np.diff(samples)).max() < 2 * np.pi * 440 * 0.5 / 16000 * 1.2


def test_an_unknown_sample_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sample format"):
        ToPcm16k(48000, 2, "int24")
