"""llama.cpp's low-level API for batched serving: one model, one context holding several
sequences in a unified KV cache, one `llama_decode` per step for all of them, and sampling in C
sampler chains. Knows one library and nothing about HTTP or scheduling.

Every method that touches the context (decode, sample, memory, state) must be called from one
thread, the scheduler's: llama.cpp's CPU backend keeps its worker threads with the calling thread.
Tokenizing and templating only read the vocabulary and may run anywhere.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backends.llama_backend import (
    CHATML_TEMPLATE,
    GenerationParams,
    Prompt,
    TokenLogprob,
)
from engine.errors import ContextLengthExceeded, InvalidInput, ModelLoadFailed

DEFAULT_SEED = 0xFFFFFFFF  # llama.cpp: pick a random seed
GGML_LOG_LEVEL_ERROR = 4
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    n_ctx: int  # the longest a single request may be (prompt and reply)
    kv_tokens: int  # cells in the KV cache, for all sequences together
    n_seq: int  # sequences (slots) the context holds
    kv_unified: bool  # one pool for all sequences, or a stream of kv_tokens / n_seq each
    batch_tokens: int  # the most tokens one decode takes
    n_threads: int
    n_gpu_layers: int
    loras: tuple[tuple[Path, float], ...] = ()
    flash_attn: str = "auto"  # llama.cpp's choice per device (on for CPUs: a tenth faster here)


@functools.cache
def _backend_ready() -> Any:
    """Initialise llama.cpp once, with its log routed to ours (errors only: its info lines
    would flood the engine's output). Returns the callback, which must stay referenced."""
    import llama_cpp

    llama_cpp.llama_backend_init()

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def route(level: int, text: bytes, _data: Any) -> None:
        if level == GGML_LOG_LEVEL_ERROR and text:
            log.error("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

    llama_cpp.llama_log_set(route, ctypes.c_void_p(0))
    return route


def tokenize_with(
    L: Any, vocab: Any, text: str, add_special: bool, parse_special: bool
) -> list[int]:
    """llama.cpp's tokens for `text` (retried with the size it asks for when more come)."""
    data = text.encode("utf-8")
    size = len(data) + 16
    tokens = (L.llama_token * size)()
    n = L.llama_tokenize(vocab, data, len(data), tokens, size, add_special, parse_special)
    if n < 0:
        size = -n
        tokens = (L.llama_token * size)()
        n = L.llama_tokenize(vocab, data, len(data), tokens, size, add_special, parse_special)
    return list(tokens[:n])


def load_native(path: Path, n_gpu_layers: int) -> tuple[Any, Any]:
    """(llama_cpp, a loaded model): llama.cpp made ready and the GGUF read."""
    import llama_cpp as L

    _backend_ready()
    params = L.llama_model_default_params()
    params.n_gpu_layers = n_gpu_layers
    model = L.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ModelLoadFailed(f"llama.cpp could not load {path.name}")
    return L, model


def free_native(owner: Any) -> None:
    """Free an owner's llama.cpp batch, context and model (each once; any may be missing)."""
    L = owner._L
    if owner.batch is not None:
        L.llama_batch_free(owner.batch)
        owner.batch = None
    if owner.ctx:
        L.llama_free(owner.ctx)
        owner.ctx = None
    if owner.model:
        L.llama_model_free(owner.model)
        owner.model = None


class SamplerChain:
    """One request's sampler chain in C (bias, grammar, penalties, top-k/p, min-p, temperature,
    seeded draw or greedy); freed with `close()`."""

    def __init__(self, model: BatchModel, params: GenerationParams, n_ctx: int) -> None:
        import llama_cpp as L

        self._L = L
        self._ctx = model.ctx
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        self._chain = chain
        if params.logit_bias:
            biases = (L.llama_logit_bias * len(params.logit_bias))(
                *[L.llama_logit_bias(token=t, bias=b) for t, b in params.logit_bias.items()]
            )
            L.llama_sampler_chain_add(
                chain, L.llama_sampler_init_logit_bias(model.n_vocab, len(biases), biases)
            )
        grammar = _grammar_text(params)
        if grammar is not None:
            sampler = grammar_sampler(model.vocab, grammar, params.grammar_triggers)
            if not sampler:
                self.close()
                raise InvalidInput(
                    "the JSON schema cannot be turned into a grammar",
                    param="tools" if params.grammar else "response_format",
                )
            L.llama_sampler_chain_add(chain, sampler)
        if params.frequency_penalty or params.presence_penalty:
            L.llama_sampler_chain_add(
                chain,
                L.llama_sampler_init_penalties(
                    model.n_vocab, n_ctx, 1.0, params.frequency_penalty, params.presence_penalty
                ),
            )
        if params.temperature <= 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_greedy())
            return
        if params.top_k > 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_k(params.top_k))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(params.top_p, 1))
        if params.min_p > 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_min_p(params.min_p, 1))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(params.temperature))
        seed = DEFAULT_SEED if params.seed is None else params.seed & 0xFFFFFFFF
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))

    def sample(self, index: int) -> int:
        """Draw from the logits at batch entry `index`; the chain accepts the token."""
        return int(self._L.llama_sampler_sample(self._chain, self._ctx, index))

    def close(self) -> None:
        if self._chain is not None:
            self._L.llama_sampler_free(self._chain)
            self._chain = None


def grammar_sampler(vocab: Any, grammar: str, triggers: list[str]) -> Any:
    """A grammar over the whole reply, or (with triggers) one that starts where a trigger
    pattern matches: text before it is free, a call it starts is finished under it. NULL when
    llama.cpp cannot parse the grammar."""
    import llama_cpp as L

    if not triggers:
        return L.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
    patterns = (ctypes.c_char_p * len(triggers))(*[t.encode() for t in triggers])
    no_tokens = (L.llama_token * 1)()
    return L.llama_sampler_init_grammar_lazy_patterns(
        vocab, grammar.encode(), b"root", patterns, len(triggers), no_tokens, 0
    )


def _grammar_text(params: GenerationParams) -> str | None:
    if params.grammar is not None:
        return params.grammar
    if not params.json_mode and params.json_schema is None:
        return None
    from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

    if params.json_schema is None:
        return str(JSON_GBNF)
    try:
        return str(json_schema_to_gbnf(json.dumps(params.json_schema)))
    except (ValueError, RuntimeError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidInput(
            "the JSON schema cannot be turned into a grammar", param="response_format"
        ) from exc


class BatchModel:
    """A GGUF loaded for serving several sequences at once."""

    def __init__(self, path: Path, options: LoadOptions) -> None:
        import llama_cpp as L

        self._L, self.model = load_native(path, options.n_gpu_layers)
        self.options = options
        self.ctx: Any = None
        self.batch: Any = None
        try:
            self._make_context(path, options)
        except BaseException:
            self.close()
            raise
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        self.n_ctx = options.n_ctx
        self.n_ctx_train = int(L.llama_model_n_ctx_train(self.model))
        self.memory = L.llama_get_memory(self.ctx)
        self._piece = ctypes.create_string_buffer(256)
        self._name = path.name
        self.own_template = self.metadata("tokenizer.chat_template")
        self._formatters: dict[str | None, Any] = {None: self._chat_formatter(None)}

    def _make_context(self, path: Path, options: LoadOptions) -> None:
        L = self._L
        params = L.llama_context_default_params()
        params.n_ctx = options.kv_tokens
        params.n_batch = params.n_ubatch = options.batch_tokens
        params.n_seq_max = options.n_seq
        params.n_threads = params.n_threads_batch = options.n_threads
        params.kv_unified = options.kv_unified
        params.no_perf = True
        params.flash_attn_type = {
            "auto": L.LLAMA_FLASH_ATTN_TYPE_AUTO,
            "on": L.LLAMA_FLASH_ATTN_TYPE_ENABLED,
            "off": L.LLAMA_FLASH_ATTN_TYPE_DISABLED,
        }[options.flash_attn]
        self.ctx = L.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise ModelLoadFailed(f"llama.cpp could not make a context for {path.name}")
        if options.loras:
            self._apply_loras(path, options.loras)
        self.batch = L.llama_batch_init(options.batch_tokens, 0, 1)

    def _apply_loras(self, path: Path, loras: tuple[tuple[Path, float], ...]) -> None:
        """Attach LoRA adapters (freed with the model, as llama.cpp does)."""
        L = self._L
        handles = []
        for adapter, _scale in loras:
            handle = L.llama_adapter_lora_init(self.model, str(adapter).encode())
            if not handle:
                raise ModelLoadFailed(f"the LoRA adapter {adapter.name} does not fit {path.name}")
            handles.append(handle)
        array = (L.llama_adapter_lora_p_ctypes * len(handles))(*handles)
        scales = (ctypes.c_float * len(loras))(*[scale for _a, scale in loras])
        if L.llama_set_adapters_lora(self.ctx, array, len(handles), scales):
            raise ModelLoadFailed(f"the LoRA adapters could not be applied to {path.name}")

    # -- text ------------------------------------------------------------------------------
    def metadata(self, key: str) -> str | None:
        size = 1 << 20
        buf = ctypes.create_string_buffer(size)
        n = self._L.llama_model_meta_val_str(self.model, key.encode(), buf, size)
        return None if n < 0 else buf.value.decode("utf-8", "replace")

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = self._L.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", "replace") if raw else ""

    def _chat_formatter(self, template: str | None) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        L = self._L
        try:
            return Jinja2ChatFormatter(
                template=template or self.own_template or CHATML_TEMPLATE,
                eos_token=self._token_text(L.llama_vocab_eos(self.vocab)),
                bos_token=self._token_text(L.llama_vocab_bos(self.vocab)),
            )
        except Exception as exc:  # jinja2 raises many types for a bad template
            raise ModelLoadFailed(f"the chat template for {self._name} is invalid") from exc

    def tokenize(self, text: str, *, add_bos: bool) -> list[int]:
        return tokenize_with(self._L, self.vocab, text, add_bos, True)

    def chat_prompt(
        self,
        messages: Sequence[dict[str, Any]],
        template: str | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> Prompt:
        """Render `messages` with the chat template (the model's own unless a custom model or
        the settings give one) and tokenize the result."""
        formatter = self._formatters.get(template)
        if formatter is None:
            formatter = self._formatters[template] = self._chat_formatter(template)
        try:
            rendered = formatter(messages=list(messages), tools=tools)
        except Exception as exc:  # the template itself may raise on message orders it refuses
            raise InvalidInput(
                f"the model's chat template refused these messages: {exc}", param="messages"
            ) from exc
        tokens = self.tokenize(rendered.prompt, add_bos=not rendered.added_special)
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop or ""]
        return Prompt(tokens=tokens, stop=[s for s in stop if s])

    def text_prompt(self, text: str) -> Prompt:
        return Prompt(tokens=self.tokenize(text, add_bos=True), stop=[])

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text, add_bos=False)) if text else 0

    def check_fits(self, prompt: Prompt, max_tokens: int | None) -> int:
        """Raise unless the prompt (and max_tokens, when given) fit; return the tokens left."""
        room = self.n_ctx - len(prompt.tokens)
        if room <= 0:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {self.n_ctx} tokens, but the prompt "
                f"has {len(prompt.tokens)} tokens. Shorten the messages.",
                param="messages",
            )
        if max_tokens is not None and max_tokens > room:
            raise ContextLengthExceeded(
                f"max_tokens is {max_tokens}, but only {room} tokens are left in this model's "
                f"{self.n_ctx}-token context after the prompt.",
                param="max_tokens",
            )
        return room

    def check_biases(self, biases: dict[int, float]) -> None:
        bad = [t for t in biases if t >= self.n_vocab]
        if bad:
            raise InvalidInput(
                f"logit_bias names token {bad[0]}, but this model's vocabulary has "
                f"{self.n_vocab} tokens.",
                param="logit_bias",
            )

    def piece(self, token: int) -> bytes:
        """A token's bytes (control tokens render as nothing)."""
        n = self._L.llama_token_to_piece(self.vocab, token, self._piece, 256, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._L.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
            return buf.raw[:n]
        return self._piece.raw[:n]

    def logprob(self, index: int, token: int, top: int) -> TokenLogprob:
        """`token`'s log probability in the logits of batch entry `index` (read only for
        requests that ask: sampling itself never copies logits out of C)."""
        import numpy as np

        pointer = self._L.llama_get_logits_ith(self.ctx, index)
        logits = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).astype(np.float64)
        peak = float(logits.max())
        total = peak + float(np.log(np.exp(logits - peak).sum()))
        best: list[tuple[bytes, float]] = []
        if top > 0:
            ids = np.argpartition(-logits, top - 1)[:top]
            ids = ids[np.argsort(-logits[ids])]
            best = [(self.piece(int(t)), float(logits[t]) - total) for t in ids]
        return TokenLogprob(self.piece(token), float(logits[token]) - total, best)

    def is_end(self, token: int) -> bool:
        return bool(self._L.llama_vocab_is_eog(self.vocab, token))

    # -- the context: call from the scheduler's thread only ---------------------------------
    def sampler(self, params: GenerationParams) -> SamplerChain:
        return SamplerChain(self, params, self.n_ctx)

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> int:
        """One llama_decode of (token, position, sequence, wants logits) entries; llama.cpp's
        result code (0 done, 1 no room in the KV cache, other values failures)."""
        batch = self.batch
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(entries)
        return int(self._L.llama_decode(self.ctx, batch))

    def forget(self, seq: int, start: int = 0) -> None:
        """Drop a sequence's cache from position `start` on."""
        self._L.llama_memory_seq_rm(self.memory, seq, start, -1)

    def save_sequence(self, seq: int) -> bytearray:
        """A sequence's KV state, written by llama.cpp straight into the returned buffer (a
        ctypes array copied out into bytes cost four times llama.cpp's own copy: 2 ms more
        for 160 tokens of SmolLM2, on the path of every request that overwrites a slot)."""
        L = self._L
        size = int(L.llama_state_seq_get_size(self.ctx, seq))
        state = bytearray(size)
        view = (ctypes.c_uint8 * size).from_buffer(state)
        written = int(L.llama_state_seq_get_data(self.ctx, view, size, seq))
        del view  # a bytearray with a live export cannot be resized
        del state[written:]
        return state

    def load_sequence(self, seq: int, state: bytearray) -> bool:
        view = (ctypes.c_uint8 * len(state)).from_buffer(state)
        return int(self._L.llama_state_seq_set_data(self.ctx, view, len(state), seq)) > 0

    def close(self) -> None:
        free_native(self)


@dataclass(frozen=True)
class Prompter:
    """A loaded model as one request's prompt builder sees it: with that request's chat
    template (a custom model's own, or the settings'), without touching the context."""

    model: BatchModel
    template: str | None = None

    @property
    def n_ctx(self) -> int:
        return self.model.n_ctx

    def chat_prompt(
        self, messages: Sequence[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> Prompt:
        return self.model.chat_prompt(messages, self.template, tools)

    def text_prompt(self, text: str) -> Prompt:
        return self.model.text_prompt(text)

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)
