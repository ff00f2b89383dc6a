"""A microphone's own format to the 16 kHz mono 16-bit PCM Whisper reads. Many devices record
only at 44.1 or 48 kHz, in stereo or float; PulseAudio converts for us, CoreAudio and WASAPI
may not, so the conversion is ours. Qt-free, tested without a device."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 16000
# A sample format's numpy type and the value of full scale.
FORMATS: dict[str, tuple[str, float, float]] = {
    "uint8": ("u1", 128.0, 128.0),  # unsigned: centred on 128
    "int16": ("<i2", 0.0, 32768.0),
    "int32": ("<i4", 0.0, 2147483648.0),
    "float": ("<f4", 0.0, 1.0),
}


class ToPcm16k:
    """Feed pieces of interleaved audio as they come; get 16 kHz mono int16 bytes back. The
    resampling position carries over between pieces, so the joins are seamless."""

    def __init__(self, rate: int, channels: int, sample_format: str) -> None:
        if sample_format not in FORMATS:
            raise ValueError(f"unknown sample format {sample_format!r}")
        self.channels = max(1, channels)
        self.dtype, self.offset, self.scale = FORMATS[sample_format]
        self.step = rate / RATE  # input samples per output sample
        self._tail = np.zeros(0, dtype=np.float32)  # input not yet used up
        self._pos = 0.0  # where the next output sample falls in `_tail` + the next piece
        self._partial = b""  # bytes of an incomplete frame

    def __call__(self, data: bytes) -> bytes:
        data = self._partial + data
        frame = np.dtype(self.dtype).itemsize * self.channels
        whole = len(data) // frame * frame
        self._partial = data[whole:]
        samples = np.frombuffer(data[:whole], dtype=self.dtype).astype(np.float32)
        mono = ((samples - self.offset) / self.scale).reshape(-1, self.channels).mean(axis=1)
        return _to_int16(self._resample(mono))

    def _resample(self, mono: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self.step == 1.0:
            return mono
        x = np.concatenate([self._tail, mono])
        if len(x) < 2:
            self._tail = x
            return np.zeros(0, dtype=np.float32)
        wanted = np.arange(self._pos, len(x) - 1, self.step)
        out: npt.NDArray[np.float32] = np.interp(wanted, np.arange(len(x)), x).astype(np.float32)
        following = wanted[-1] + self.step if len(wanted) else self._pos
        # Keep the last sample: the next output may fall between it and the next piece's first.
        used = min(int(following), len(x) - 1)
        self._tail, self._pos = x[used:], following - used
        return out


def _to_int16(samples: npt.NDArray[np.float32]) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
