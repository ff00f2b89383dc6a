"""llama-cpp-python behind a small typed interface: load a GGUF, format chats, stream tokens.

Knows one library and nothing about HTTP. Every method blocks; callers run them off the event loop.
"""

from __future__ import annotations

import ctypes
import functools
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.errors import ContextLengthExceeded, GenerationFailed, InvalidInput, ModelLoadFailed

# Used when a GGUF carries no chat template and none is configured.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class LoadOptions:
    n_ctx: int
    n_threads: int | None
    n_gpu_layers: int
    chat_template: str | None = None
    prompt_cache_bytes: int = 0  # keep recent evaluated prefixes (conversations) in RAM
    loras: tuple[tuple[Path, float], ...] = ()  # LoRA adapter files and their scales
    projector: Path | None = None  # a vision projector (mmproj) makes the model take images


@dataclass
class GenerationParams:
    max_tokens: int | None
    temperature: float = 0.8
    top_p: float = 0.95
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    top_k: int = 40
    min_p: float = 0.05
    logit_bias: dict[int, float] = field(default_factory=dict)
    json_mode: bool = False
    json_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Prompt:
    tokens: list[int]
    stop: list[str]


@dataclass
class Piece:
    """A piece of generated text; the last one carries the finish reason."""

    text: str
    finish_reason: str | None = None


@dataclass
class GenerationStats:
    completion_tokens: int = 0
    prompt_tokens: int | None = None  # known after the fact for image chats


# ChatML with content parts: images first (as libmtmd markers), then the text. SmolLM2, Qwen and
# most small models speak ChatML; the GGUF's own template often accepts only string content.
CHATML_PARTS_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n"
    "{% if message.content is string %}{{ message.content }}{% else %}"
    "{% for part in message.content %}{% if part.type == 'image_url' %}"
    "{{ part.image_url.url if part.image_url is mapping else part.image_url }}"
    "{% endif %}{% endfor %}"
    "{% for part in message.content %}{% if part.type == 'text' %}{{ part.text }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _vision_handler(projector: Path) -> Any:
    from llama_cpp.llama_chat_format import Llava15ChatHandler

    class ChatMLVision(Llava15ChatHandler):  # type: ignore[misc]
        DEFAULT_SYSTEM_MESSAGE = None
        CHAT_FORMAT = CHATML_PARTS_TEMPLATE

    try:
        return ChatMLVision(clip_model_path=str(projector), verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadFailed(f"the vision projector {projector.name} could not be loaded") from exc


@functools.cache
def _compact_state_class() -> type:
    import llama_cpp

    class HearthLlama(llama_cpp.Llama):  # type: ignore[misc]
        """Saves states for the prompt cache without the last batch's logits (up to 100 MB).

        Generation always re-evaluates the last prompt token after a state is restored, so the
        logits are never read back; one row keeps load_state's array shapes working.
        """

        def save_state(self) -> Any:
            size = llama_cpp.llama_state_get_size(self._ctx.ctx)
            buffer = (ctypes.c_uint8 * int(size))()
            written = int(llama_cpp.llama_state_get_data(self._ctx.ctx, buffer, size))
            return llama_cpp.LlamaState(
                input_ids=self.input_ids.copy(),
                scores=self._scores[-1:, :].copy(),
                n_tokens=self.n_tokens,
                llama_state=ctypes.string_at(buffer, written),
                llama_state_size=written,
                seed=self._seed,
            )

        def load_state(self, state: Any) -> None:
            # As llama-cpp-python's, minus rewriting the logits array (up to 100 MB): a restored
            # state is always re-evaluated from its last token before anything is sampled.
            self.input_ids = state.input_ids.copy()
            self.n_tokens = state.n_tokens
            self._requires_eval = True
            self._seed = state.seed
            data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
            size = state.llama_state_size
            if llama_cpp.llama_state_set_data(self._ctx.ctx, data, size) != size:
                raise RuntimeError("Failed to set llama state data")

    return HearthLlama


def gpu_offload_supported() -> bool:
    """Whether this build of llama.cpp can offload layers to a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def resolve_gpu_layers(value: int | str) -> int:
    """'auto' offloads everything when the build can, 'all' always asks for every layer."""
    if value == "all":
        return -1
    if value == "auto":
        return -1 if gpu_offload_supported() else 0
    return int(value)


class LlamaModel:
    """One loaded GGUF model. Not thread-safe: the scheduler serialises its use."""

    def __init__(self, path: Path, options: LoadOptions) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._vision = _vision_handler(options.projector) if options.projector else None
        try:
            self._llama = _compact_state_class()(
                chat_handler=self._vision,
                model_path=str(path),
                n_ctx=options.n_ctx,
                n_threads=options.n_threads,
                n_gpu_layers=options.n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadFailed(f"llama.cpp could not load {path.name}") from exc
        llama = self._llama
        if options.loras:
            self._apply_loras(path, options.loras)
        if options.prompt_cache_bytes > 0:
            llama.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=options.prompt_cache_bytes))
        template = options.chat_template or llama.metadata.get("tokenizer.chat_template")
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        vocab = llama._model
        eos = vocab.token_get_text(eos_id) if eos_id != -1 else ""
        bos = vocab.token_get_text(bos_id) if bos_id != -1 else ""
        try:
            self._formatter = Jinja2ChatFormatter(
                template=template or CHATML_TEMPLATE, eos_token=eos, bos_token=bos
            )
        except Exception as exc:  # jinja2 raises many types for a bad template
            raise ModelLoadFailed(f"the chat template of {path.name} is invalid") from exc
        self.n_ctx = int(llama.n_ctx())

    def _apply_loras(self, path: Path, loras: tuple[tuple[Path, float], ...]) -> None:
        """Attach LoRA adapters (freed with the model, as llama.cpp does)."""
        import llama_cpp

        handles = []
        for adapter, _scale in loras:
            handle = llama_cpp.llama_adapter_lora_init(self._llama.model, str(adapter).encode())
            if handle is None:
                self._llama.close()
                raise ModelLoadFailed(f"the LoRA adapter {adapter.name} does not fit {path.name}")
            handles.append(handle)
        array = (llama_cpp.llama_adapter_lora_p_ctypes * len(handles))(*handles)
        scales = (ctypes.c_float * len(loras))(*[scale for _a, scale in loras])
        if llama_cpp.llama_set_adapters_lora(self._llama.ctx, array, len(handles), scales):
            self._llama.close()
            raise ModelLoadFailed(f"the LoRA adapters could not be applied to {path.name}")

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> Prompt:
        """Render `messages` with the model's chat template and tokenize the result."""
        try:
            rendered = self._formatter(messages=list(messages))
        except Exception as exc:  # the template itself may raise on message orders it refuses
            raise InvalidInput(
                f"the model's chat template refused these messages: {exc}", param="messages"
            ) from exc
        tokens = self._tokenize(rendered.prompt, add_bos=not rendered.added_special)
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop or ""]
        return Prompt(tokens=tokens, stop=[s for s in stop if s])

    def text_prompt(self, text: str) -> Prompt:
        return Prompt(tokens=self._tokenize(text, add_bos=True), stop=[])

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text, add_bos=False)) if text else 0

    def _tokenize(self, text: str, *, add_bos: bool) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

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
        vocab = int(self._llama.n_vocab())
        bad = [t for t in biases if t >= vocab]
        if bad:
            raise InvalidInput(
                f"logit_bias names token {bad[0]}, but this model's vocabulary has {vocab} tokens.",
                param="logit_bias",
            )

    def generate(
        self,
        prompt: Prompt,
        params: GenerationParams,
        cancel: threading.Event,
        stats: GenerationStats,
    ) -> Iterator[Piece]:
        """Stream pieces of text; stops within one token once `cancel` is set."""
        from llama_cpp import StoppingCriteriaList

        room = self.check_fits(prompt, params.max_tokens)
        limit = params.max_tokens or room

        def keep_count(_ids: npt.NDArray[np.intc], _logits: npt.NDArray[np.single]) -> bool:
            # Called once per sampled token; llama-cpp-python samples one past a length stop.
            stats.completion_tokens = min(stats.completion_tokens + 1, limit)
            return cancel.is_set()

        try:
            stream = self._llama.create_completion(
                prompt=prompt.tokens,
                max_tokens=limit,
                temperature=params.temperature,
                top_p=params.top_p,
                frequency_penalty=params.frequency_penalty,
                presence_penalty=params.presence_penalty,
                stop=[*prompt.stop, *params.stop],
                seed=params.seed,
                top_k=params.top_k,
                min_p=params.min_p,
                logit_bias=params.logit_bias or None,
                grammar=self._grammar(params),
                stopping_criteria=StoppingCriteriaList([keep_count]),
                stream=True,
            )
            # Read the stream to its end even after the finish reason: llama-cpp-python saves
            # the evaluated state to the prompt cache after its last chunk.
            finished = False
            for chunk in stream:
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason")
                if cancel.is_set():
                    finish = "cancelled"
                if not finished:
                    yield Piece(text=choice.get("text") or "", finish_reason=finish)
                finished = finished or finish is not None
                if finish == "cancelled":
                    return
        except (RuntimeError, ValueError) as exc:
            raise GenerationFailed("the model failed while generating") from exc

    def _grammar(self, params: GenerationParams) -> Any:
        if not params.json_mode and params.json_schema is None:
            return None
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        try:
            if params.json_schema is not None:
                return LlamaGrammar.from_json_schema(json.dumps(params.json_schema), verbose=False)
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise InvalidInput(
                "the JSON schema cannot be turned into a grammar", param="response_format"
            ) from exc

    @property
    def takes_images(self) -> bool:
        return self._vision is not None

    def generate_with_images(
        self,
        messages: list[dict[str, Any]],
        params: GenerationParams,
        cancel: threading.Event,
        stats: GenerationStats,
    ) -> Iterator[Piece]:
        """Chat with image parts through libmtmd; the handler evaluates text and images."""
        try:
            stream = self._llama.create_chat_completion(
                messages=messages,
                max_tokens=params.max_tokens or 256,
                temperature=params.temperature,
                top_p=params.top_p,
                frequency_penalty=params.frequency_penalty,
                presence_penalty=params.presence_penalty,
                stop=params.stop,
                seed=params.seed,
                stream=True,
            )
            for chunk in stream:
                choice = chunk["choices"][0]
                finish = "cancelled" if cancel.is_set() else choice.get("finish_reason")
                text = choice["delta"].get("content") or ""
                if text:
                    stats.completion_tokens += 1  # one chunk per token on this path
                yield Piece(text=text, finish_reason=finish)
                if finish is not None:
                    break
        except (RuntimeError, ValueError) as exc:
            raise GenerationFailed("the model failed while reading the image") from exc
        stats.prompt_tokens = max(0, int(self._llama.n_tokens) - stats.completion_tokens)

    def close(self) -> None:
        self._llama.close()
