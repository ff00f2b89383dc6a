"""A WAV file written while it is recorded: the header's sizes are brought up to date with every
piece, so a crash or a pulled plug leaves a file that plays up to the last second captured."""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType

RATE = 16000


class GrowingWav:
    """16 kHz mono 16-bit PCM appended to `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames_bytes = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")
        self._file.write(_header(0))
        self._file.flush()

    @property
    def seconds(self) -> float:
        return self.frames_bytes / (2 * RATE)

    def append(self, pcm: bytes) -> None:
        if not pcm:
            return
        self._file.seek(0, 2)
        self._file.write(pcm)
        self.frames_bytes += len(pcm)
        self._file.seek(0)
        self._file.write(_header(self.frames_bytes))
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> GrowingWav:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _header(data_bytes: int) -> bytes:
    byte_rate = RATE * 2
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, byte_rate, 2, 16)
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip
