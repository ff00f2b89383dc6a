"""Which catalog chat model to recommend on this machine: the largest that runs comfortably.

The embedded chat model is there to try Hearth out; a real assistant needs a bigger one, and
the biggest that fits in memory without crowding the rest of the machine answers best.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
WEIGHTS_OVERHEAD = 1.25  # the KV cache at a usual context and llama.cpp's buffers, per weight
RUNTIME_BYTES = 300 * MiB
RAM_SHARE = 0.6  # of the RAM free now; the rest stays for the user's other programs
GPU_SHARE = 0.9


@dataclass(frozen=True)
class Candidate:
    id: str
    size_bytes: int


def memory_needed(size_bytes: int) -> int:
    return int(size_bytes * WEIGHTS_OVERHEAD) + RUNTIME_BYTES


def fits(size_bytes: int, ram_free: int, gpu_free: int | None) -> bool:
    room = max(ram_free * RAM_SHARE, (gpu_free or 0) * GPU_SHARE)
    return memory_needed(size_bytes) <= room


def recommend(candidates: list[Candidate], ram_free: int, gpu_free: int | None) -> str | None:
    """The id of the largest candidate that fits, or None when none does."""
    fitting = [c for c in candidates if fits(c.size_bytes, ram_free, gpu_free)]
    return max(fitting, key=lambda c: c.size_bytes).id if fitting else None
