"""What generation speaks in (parameters, prompts, pieces, counts), and llama-cpp-python's
high-level `Llama` for the one thing the batch backend does not do: chats with images, through
libmtmd and a vision projector.

Knows one library and nothing about HTTP. Every method blocks; callers run them off the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import GenerationFailed, ModelLoadFailed

# Used when a GGUF carries no chat template and none is configured.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


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
    speculative: bool = True
    cache_prompt: bool = True
    logprobs: int | None = None  # None: none; n: the chosen token's and n alternatives'
    json_mode: bool = False
    json_schema: dict[str, Any] | None = None
    grammar: str | None = None  # GBNF (function calls); with triggers it waits for one
    grammar_triggers: list[str] = field(default_factory=list)  # regexes; group 1 starts it


@dataclass(frozen=True)
class Prompt:
    tokens: list[int]
    stop: list[str]


@dataclass(frozen=True)
class TokenLogprob:
    """A generated token's bytes and log probability under the model (before sampling
    changes anything), with the most likely alternatives when asked."""

    token: bytes
    logprob: float
    top: list[tuple[bytes, float]] = field(default_factory=list)


@dataclass
class CallDelta:
    """Part of a function call as it is written: its start (id, name), or more of its JSON
    arguments."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class Piece:
    """A piece of generated text; the last one carries the finish reason."""

    text: str
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] | None = None
    calls: list[CallDelta] | None = None


@dataclass
class GenerationStats:
    completion_tokens: int = 0
    prompt_tokens: int | None = None  # known after the fact for image chats
    cached_tokens: int = 0  # prompt tokens whose cache entries were reused, not evaluated


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


class VisionModel:
    """A GGUF with its vision projector, for chats with images. Not thread-safe: one request
    at a time, on one thread."""

    def __init__(self, path: Path, projector: Path, n_ctx: int, n_threads: int, n_gpu_layers: int):
        import llama_cpp

        self._vision = _vision_handler(projector)
        try:
            self._llama = llama_cpp.Llama(
                chat_handler=self._vision,
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadFailed(f"llama.cpp could not load {path.name}") from exc

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
