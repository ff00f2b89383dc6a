"""Writes a LoRA adapter GGUF for the default model with the `gguf` package: small random
matrices on the attention of a few layers, enough to change what the model says."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_lora(path: Path, layers: range = range(0, 30), rank: int = 8, seed: int = 0) -> Path:
    import gguf

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    n_embd = 576  # SmolLM2-135M's embedding width (attn_q is n_embd x n_embd)
    for layer in layers:
        # numpy shapes are reversed GGML shapes: a is (n_embd, rank), b is (rank, n_embd) there.
        a = rng.normal(0, 0.5, size=(rank, n_embd)).astype(np.float32)
        b = rng.normal(0, 0.5, size=(n_embd, rank)).astype(np.float32)
        writer.add_tensor(f"blk.{layer}.attn_q.weight.lora_a", a)
        writer.add_tensor(f"blk.{layer}.attn_q.weight.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
