"""A bounded reader of GGUF headers that refuses malformed files before llama.cpp sees them.

llama.cpp trusts counts and offsets in the header; a damaged or hostile file can make it read out
of bounds or allocate absurd amounts. This reader checks every count against what is left of the
file, the version, the tensor shapes and that every tensor's data lies inside the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import InvalidModelFile

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_KV = 1 << 16
MAX_TENSORS = 1 << 20
MAX_DIMS = 4
MAX_STRING = 64 * 1024 * 1024
DEFAULT_ALIGNMENT = 32

# value type id -> (struct format, size); 8 = string and 9 = array are handled apart.
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9

# ggml tensor type id -> (elements per block, bytes per block), from ggml.h's type traits.
GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
    39: (32, 17), 40: (64, 36), 41: (128, 18),
}  # fmt: skip

# general.file_type -> quantisation name, for the common ones.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}  # fmt: skip


@dataclass
class GgufInfo:
    """What the header of a GGUF file says (large arrays are counted, not kept)."""

    version: int
    tensor_count: int
    metadata: dict[str, Any] = field(default_factory=dict)
    parameter_count: int = 0
    file_size: int = 0
    tensor_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    def arch_value(self, key: str) -> Any:
        return self.metadata.get(f"{self.architecture}.{key}")

    @property
    def context_length(self) -> int | None:
        value = self.arch_value("context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def layer_count(self) -> int | None:
        value = self.arch_value("block_count")
        return int(value) if isinstance(value, int) else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    @property
    def quantization(self) -> str | None:
        value = self.metadata.get("general.file_type")
        return FILE_TYPES.get(value) if isinstance(value, int) else None

    @property
    def is_vision_projector(self) -> bool:
        return self.architecture == "clip" or "clip.has_vision_encoder" in self.metadata

    @property
    def is_lora_adapter(self) -> bool:
        return self.metadata.get("general.type") == "adapter"


class _Reader:
    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self.size = size
        self.pos = 0

    def remaining(self) -> int:
        return self.size - self.pos

    def read(self, n: int) -> bytes:
        if n < 0 or n > self.remaining():
            raise InvalidModelFile("the model file is truncated or its header is damaged")
        data = self._f.read(n)
        if len(data) != n:
            raise InvalidModelFile("the model file is truncated")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if n < 0 or n > self.remaining():
            raise InvalidModelFile("the model file is truncated or its header is damaged")
        self._f.seek(n, 1)
        self.pos += n

    def unpack(self, fmt: str, size: int) -> Any:
        return struct.unpack(fmt, self.read(size))[0]

    def u32(self) -> int:
        return int(self.unpack("<I", 4))

    def u64(self) -> int:
        return int(self.unpack("<Q", 8))

    def string(self) -> str:
        n = self.u64()
        if n > MAX_STRING:
            raise InvalidModelFile("the model file's header holds an absurdly long string")
        return self.read(n).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.u64()
        self.skip(n)

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            fmt, size = _SCALARS[vtype]
            return self.unpack(fmt, size)
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            return self.array()
        raise InvalidModelFile("the model file's header has a value of unknown type")

    def array(self) -> Any:
        item_type = self.u32()
        count = self.u64()
        if item_type in _SCALARS:
            size = _SCALARS[item_type][1]
            if count * size > self.remaining():
                raise InvalidModelFile("the model file's header has an array larger than the file")
            if count <= 64:
                return [self.value(item_type) for _ in range(count)]
            self.skip(count * size)
            return {"array_length": count}
        if item_type == _STRING:
            # Every string takes at least its 8-byte length.
            if count * 8 > self.remaining():
                raise InvalidModelFile("the model file's header has an array larger than the file")
            for _ in range(count):
                self.skip_string()
            return {"array_length": count}
        raise InvalidModelFile("the model file's header has an array of unsupported type")


def read_gguf(path: Path) -> GgufInfo:
    """Read and check the header of the GGUF file at `path`; raise InvalidModelFile if bad."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            return _parse(_Reader(f, size))
    except InvalidModelFile:
        raise
    except OSError as exc:
        raise InvalidModelFile(f"the model file {path.name} cannot be read") from exc


def _parse(r: _Reader) -> GgufInfo:
    if r.size < 24 or r.read(4) != MAGIC:
        raise InvalidModelFile("the file is not a GGUF model (bad magic)")
    version = r.u32()
    if version not in SUPPORTED_VERSIONS:
        raise InvalidModelFile(f"GGUF version {version} is not supported")
    tensor_count = r.u64()
    kv_count = r.u64()
    if tensor_count > MAX_TENSORS or kv_count > MAX_KV:
        raise InvalidModelFile("the model file's header has absurd tensor or key counts")

    info = GgufInfo(version=version, tensor_count=tensor_count, file_size=r.size)
    for _ in range(kv_count):
        key = r.string()
        info.metadata[key] = r.value(r.u32())

    alignment = info.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise InvalidModelFile("the model file's header has an invalid alignment")

    tensors: list[tuple[int, int]] = []
    for _ in range(tensor_count):
        name = r.string()
        n_dims = r.u32()
        if not 1 <= n_dims <= MAX_DIMS:
            raise InvalidModelFile("a tensor in the model file has an invalid shape")
        elements = 1
        for _ in range(n_dims):
            dim = r.u64()
            if dim == 0 or dim > 1 << 40:
                raise InvalidModelFile("a tensor in the model file has an invalid shape")
            elements *= dim
        ggml_type = r.u32()
        offset = r.u64()
        info.parameter_count += elements
        block = GGML_BLOCKS.get(ggml_type)
        nbytes = 0
        if block is not None:
            per_block, block_bytes = block
            nbytes = -(-elements // per_block) * block_bytes
        if offset % alignment:
            raise InvalidModelFile("a tensor in the model file is misaligned")
        tensors.append((offset, nbytes))
        info.tensor_bytes[name] = nbytes

    data_start = -(-r.pos // alignment) * alignment
    data_size = r.size - data_start
    for offset, nbytes in tensors:
        if offset + nbytes > data_size:
            raise InvalidModelFile("a tensor in the model file lies past the end of the file")
    return info
