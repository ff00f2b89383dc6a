"""Writes small GGUF files by hand, valid or broken on purpose, for the header checks."""

from __future__ import annotations

import struct
from pathlib import Path


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def make_gguf(
    path: Path,
    *,
    magic: bytes = b"GGUF",
    version: int = 3,
    tensor_count: int | None = None,
    kv_count: int | None = None,
    dims: tuple[int, ...] = (8,),
    offset: int = 0,
    data_bytes: int | None = None,
    architecture: str = "llama",
    pooling: int | None = None,
) -> Path:
    """One F32 tensor named 'weight' with the given shape; every field may be made wrong.
    `pooling` makes it an embedding model's header (llama.cpp's pooling type)."""
    kvs = [
        _string("general.architecture") + struct.pack("<I", 8) + _string(architecture),
        _string("general.alignment") + struct.pack("<I", 4) + struct.pack("<I", 32),
    ]
    if pooling is not None:
        key = _string(f"{architecture}.pooling_type")
        kvs.append(key + struct.pack("<I", 4) + struct.pack("<I", pooling))
    tensor = _string("weight") + struct.pack("<I", len(dims))
    tensor += b"".join(struct.pack("<Q", d) for d in dims)
    tensor += struct.pack("<I", 0) + struct.pack("<Q", offset)
    header = magic + struct.pack("<I", version)
    header += struct.pack("<Q", 1 if tensor_count is None else tensor_count)
    header += struct.pack("<Q", len(kvs) if kv_count is None else kv_count)
    header += b"".join(kvs) + tensor
    header += b"\0" * (-len(header) % 32)
    elements = 1
    for d in dims:
        elements *= d
    payload = b"\0" * (elements * 4 if data_bytes is None else data_bytes)
    path.write_bytes(header + payload)
    return path
