"""Writes a tiny LLaVA-style vision projector (random weights) for the default chat model.

A one-block CLIP encoder on 28x28 images in 14-pixel patches and the `mlp` projector into the
chat model's 576-wide embeddings: enough for libmtmd to load it, encode an image and hand the
embeddings to SmolLM2. It proves the wiring, not quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_EMBD, N_FF, N_HEAD, TEXT_EMBD = 32, 64, 2, 576
IMAGE, PATCH = 28, 14


def make_projector(path: Path, seed: int = 0) -> Path:
    import gguf

    rng = np.random.default_rng(seed)

    def w(*shape: int, scale: float = 0.02, dtype: type = np.float32) -> np.ndarray:
        return rng.normal(0, scale, size=shape).astype(dtype)

    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_string("clip.projector_type", "mlp")
    writer.add_uint32("clip.vision.embedding_length", N_EMBD)
    writer.add_uint32("clip.vision.feed_forward_length", N_FF)
    writer.add_uint32("clip.vision.block_count", 1)
    writer.add_uint32("clip.vision.attention.head_count", N_HEAD)
    writer.add_uint32("clip.vision.projection_dim", TEXT_EMBD)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-5)
    writer.add_uint32("clip.vision.image_size", IMAGE)
    writer.add_uint32("clip.vision.patch_size", PATCH)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    writer.add_bool("clip.use_gelu", True)
    n_pos = (IMAGE // PATCH) ** 2 + 1  # the patches and the class token
    tensors = {
        "v.patch_embd.weight": w(N_EMBD, 3, PATCH, PATCH, dtype=np.float16),
        "v.class_embd": w(N_EMBD),
        "v.position_embd.weight": w(n_pos, N_EMBD),
        "v.pre_ln.weight": np.ones(N_EMBD, np.float32),
        "v.pre_ln.bias": np.zeros(N_EMBD, np.float32),
        "mm.0.weight": w(TEXT_EMBD, N_EMBD),
        "mm.0.bias": np.zeros(TEXT_EMBD, np.float32),
        "mm.2.weight": w(TEXT_EMBD, TEXT_EMBD),
        "mm.2.bias": np.zeros(TEXT_EMBD, np.float32),
    }
    for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
        tensors[f"v.blk.0.{part}.weight"] = w(N_EMBD, N_EMBD)
        tensors[f"v.blk.0.{part}.bias"] = np.zeros(N_EMBD, np.float32)
    for norm in ("ln1", "ln2"):
        tensors[f"v.blk.0.{norm}.weight"] = np.ones(N_EMBD, np.float32)
        tensors[f"v.blk.0.{norm}.bias"] = np.zeros(N_EMBD, np.float32)
    tensors["v.blk.0.ffn_up.weight"] = w(N_FF, N_EMBD)
    tensors["v.blk.0.ffn_up.bias"] = np.zeros(N_FF, np.float32)
    tensors["v.blk.0.ffn_down.weight"] = w(N_EMBD, N_FF)
    tensors["v.blk.0.ffn_down.bias"] = np.zeros(N_EMBD, np.float32)
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
