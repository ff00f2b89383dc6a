"""Token ids of the embedded model, read from its GGUF, for tests that must make a reply's length
certain: a logit bias of -100 on every end-of-turn token means the model cannot stop by itself."""

from __future__ import annotations

import functools
from pathlib import Path

from engine.settings import default_embedded_dir

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>")


@functools.cache
def end_token_ids(path: Path | None = None) -> tuple[int, ...]:
    from gguf import GGUFReader

    reader = GGUFReader(path or default_embedded_dir() / DEFAULT_MODEL_FILE)
    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8", "replace") for i in field.data]
    ids = {i for i, text in enumerate(tokens) if text in END_TOKENS}
    eos = reader.fields.get("tokenizer.ggml.eos_token_id")
    if eos is not None:
        ids.add(int(eos.parts[eos.data[0]][0]))
    return tuple(sorted(ids))


def never_ends() -> dict[str, float]:
    """A `logit_bias` that keeps the embedded model talking until max_tokens."""
    return {str(i): -100 for i in end_token_ids()}
