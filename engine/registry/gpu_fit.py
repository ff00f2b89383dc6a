"""How many layers of a model fit on the GPU, from the GGUF's own tensor sizes.

Per layer: its weights (the `blk.N.` tensors) plus its share of the KV cache for the chosen
context (keys and values in f16). Outside the layers: embeddings and the output head, which go
to the GPU only with the last layer. A fixed reserve covers llama.cpp's compute buffers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.registry.gguf_file import GgufInfo

COMPUTE_RESERVE = 512 * 1024 * 1024
_LAYER = re.compile(r"^blk\.(\d+)\.")


@dataclass(frozen=True)
class FitEstimate:
    layers: int
    layers_fit: int
    layer_bytes: int  # the largest layer's weights
    kv_bytes_per_layer: int
    other_bytes: int  # embeddings, output head, norms
    device_free_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.layers * (self.layer_bytes + self.kv_bytes_per_layer) + self.other_bytes

    def describe(self) -> str:
        gb = 1024**3
        return (
            f"{self.layers_fit} of {self.layers} layers fit: the model needs "
            f"{self.total_bytes / gb:.2f} GiB with its KV cache, "
            f"{self.device_free_bytes / gb:.2f} GiB is free"
        )


def kv_bytes_per_layer(info: GgufInfo, n_ctx: int) -> int:
    heads = info.arch_value("attention.head_count")
    kv_heads = info.arch_value("attention.head_count_kv") or heads
    width = info.arch_value("embedding_length")
    key_length = info.arch_value("attention.key_length")
    value_length = info.arch_value("attention.value_length")
    if not isinstance(heads, int) or not isinstance(width, int) or not heads:
        return 0
    head_dim = width // heads
    k = int(kv_heads) * int(key_length or head_dim)
    v = int(kv_heads) * int(value_length or head_dim)
    return 2 * n_ctx * (k + v)  # f16


def estimate(info: GgufInfo, n_ctx: int, device_free_bytes: int) -> FitEstimate:
    per_layer: dict[int, int] = {}
    other = 0
    for name, size in info.tensor_bytes.items():
        match = _LAYER.match(name)
        if match:
            layer = int(match.group(1))
            per_layer[layer] = per_layer.get(layer, 0) + size
        else:
            other += size
    layers = info.layer_count or len(per_layer)
    layer_bytes = max(per_layer.values(), default=0)
    kv = kv_bytes_per_layer(info, n_ctx)
    budget = device_free_bytes - COMPUTE_RESERVE
    step = layer_bytes + kv
    fit = max(0, min(layers, budget // step)) if step > 0 and budget > 0 else 0
    if fit == layers and budget < layers * step + other:
        fit = layers - 1  # everything but the output head would fit: keep the last layer off
    return FitEstimate(layers, int(fit), layer_bytes, kv, other, device_free_bytes)
