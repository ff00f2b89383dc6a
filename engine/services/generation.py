"""Chat and text generation: queueing, prompt building and the thread-to-async bridge.

Everything that can fail before the first token (unknown model, full queue, load failure, a
prompt too long) fails in `start_*`, so the API can answer with a proper status code before a
stream begins. The returned `Generation` then yields pieces as the model produces them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.backends.llama_backend import (
    GenerationParams,
    GenerationStats,
    LlamaModel,
    Piece,
    Prompt,
)
from engine.errors import GenerationFailed, HearthError, InvalidInput
from engine.registry.model_registry import ModelEntry, ModelRegistry
from engine.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    CustomModel,
    SamplingFields,
    Usage,
)
from engine.security.moderation import Moderator, OutputFilter, all_flags
from engine.services.image_parts import RemoteImages, vision_messages
from engine.services.thread_stream import ThreadStream

log = logging.getLogger(__name__)
# What a model prepares for a request: its prompt's size, and how to run it on the model's thread.
Plan = tuple[int, Callable[[threading.Event, GenerationStats], Iterator[Piece]]]


async def screened(
    source: AsyncIterator[Piece], screen: OutputFilter | None, stop: Callable[[], None]
) -> AsyncIterator[Piece]:
    """Output moderation over a stream of pieces, local or remote: masks, or ends the reply
    with finish_reason content_filter (calling `stop`) when a block list matches."""
    if screen is None or not screen.holds_back:
        # Flag-only lists change nothing in the reply: check the whole text once, at the end.
        parts: list[str] = []
        async for piece in source:
            parts.append(piece.text)
            yield piece
        if screen is not None:
            screen.feed("".join(parts))
            screen.flush()
        return
    async for piece in source:
        text, blocked = screen.feed(piece.text)
        if blocked:
            stop()
            yield Piece(text="", finish_reason="content_filter")
            return
        if piece.finish_reason is not None:
            text += screen.flush()
        if text or piece.finish_reason:
            yield Piece(text=text, finish_reason=piece.finish_reason)


def _with_defaults(
    req: ChatCompletionRequest, recommended: dict[str, Any], custom: CustomModel | None
) -> ChatCompletionRequest:
    """Parameters the request leaves unset: a custom model's, else the catalog's recommended
    ones; and a custom model's system prompt unless the request brings one."""
    data = req.model_dump(exclude_unset=True, by_alias=True)
    for key, value in {**recommended, **(custom.parameters if custom else {})}.items():
        data.setdefault(key, value)
    if (
        custom
        and custom.system_prompt
        and not any(m.role in ("system", "developer") for m in req.messages)
    ):
        data["messages"] = [{"role": "system", "content": custom.system_prompt}, *data["messages"]]
    return ChatCompletionRequest.model_validate(data)


def _image_plan(
    messages: list[dict[str, Any]], params: GenerationParams
) -> Callable[[LlamaModel], Plan]:
    def plan(model: LlamaModel) -> Plan:
        return 0, lambda cancel, stats: model.generate_with_images(messages, params, cancel, stats)

    return plan


def _join_pieces(first: Piece, second: Piece) -> Piece | None:
    """Pieces that queued up while the event loop was busy travel as one."""
    if first.finish_reason is not None:
        return None
    return Piece(text=first.text + second.text, finish_reason=second.finish_reason)


@dataclass
class Generation:
    """A generation running in a worker thread. Iterate `pieces()`; `cancel()` stops it."""

    id: str
    created: int
    model_id: str
    prompt_tokens: int
    stats: GenerationStats
    _stream: ThreadStream[Piece]
    output_filter: OutputFilter | None = None
    input_flags: dict[str, list[str]] = field(default_factory=dict)

    def pieces(self) -> AsyncIterator[Piece]:
        """The reply as it comes, screened by the output filter when there is one."""
        return screened(self._stream.items(_join_pieces), self.output_filter, self.cancel)

    def flags(self) -> dict[str, list[str]]:
        """Moderation hits on the way in and out (for the audit log)."""
        return all_flags(self.input_flags, self.output_filter)

    def cancel(self) -> None:
        """Stop generating; the model's turn passes on once the worker thread notices."""
        self._stream.cancel()

    def usage(self) -> Usage:
        done = self.stats.completion_tokens
        prompt = (
            self.stats.prompt_tokens if self.stats.prompt_tokens is not None else self.prompt_tokens
        )
        return Usage(prompt_tokens=prompt, completion_tokens=done, total_tokens=prompt + done)

    async def collect(self) -> tuple[str, str | None]:
        """The whole text and the finish reason."""
        parts: list[str] = []
        finish: str | None = None
        async for piece in self.pieces():
            parts.append(piece.text)
            finish = piece.finish_reason or finish
        return "".join(parts), finish


def params_from(
    req: SamplingFields, *, json_mode: bool = False, schema: dict[str, Any] | None = None
) -> GenerationParams:
    return GenerationParams(
        max_tokens=req.max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        frequency_penalty=req.frequency_penalty,
        presence_penalty=req.presence_penalty,
        stop=req.stop_list(),
        seed=req.seed,
        top_k=req.top_k,
        min_p=req.min_p,
        logit_bias=req.token_biases(),
        json_mode=json_mode,
        json_schema=schema,
    )


def _chat_messages(req: ChatCompletionRequest) -> list[dict[str, str]]:
    messages = []
    for message in req.messages:
        # 'developer' is OpenAI's newer name for the system role; templates know 'system'.
        role = "system" if message.role == "developer" else message.role
        messages.append({"role": role, "content": message.text()})
    if all(m["role"] == "system" for m in messages):
        raise InvalidInput("messages must hold at least one user message", param="messages")
    return messages


class GenerationService:
    """Runs chat and text completions on local models, one request per model at a time."""

    def __init__(
        self,
        registry: ModelRegistry,
        moderator: Moderator | None = None,
        max_image_pixels: int = 50_000_000,
        remote_images: RemoteImages | None = None,
    ) -> None:
        self._registry = registry
        self.max_image_pixels = max_image_pixels
        self.remote_images = remote_images or RemoteImages()
        self._moderator = moderator if moderator is not None and moderator.lists else None
        self.moderation_enabled = True  # the settings switch; the lists stay loaded

    @property
    def moderator(self) -> Moderator | None:
        return self._moderator if self.moderation_enabled else None

    def output_filter(self) -> OutputFilter | None:
        return OutputFilter(self.moderator) if self.moderator else None

    def screen(self, text: str, flags: dict[str, list[str]]) -> str:
        """Input moderation: raises on a blocked text, masks, and notes what matched."""
        if self.moderator is None:
            return text
        screened, verdict = self.moderator.screen_input(text)
        for name, found in verdict.hits.items():
            flags.setdefault(name, []).extend(found)
        return screened

    def model_defaults(self, model_name: str | None) -> tuple[dict[str, Any], str | None]:
        """A model's default parameters (the catalog's recommended ones, then a custom model's
        own) and its system prompt, for requests that leave them unset."""
        entry = self._registry.resolve(model_name)
        defaults = dict(entry.catalog.recommended) if entry.catalog else {}
        if entry.custom is not None:
            defaults.update(entry.custom.parameters)
            return defaults, entry.custom.system_prompt
        return defaults, None

    async def start_chat(self, req: ChatCompletionRequest) -> Generation:
        entry = self._registry.resolve(req.model)
        recommended = entry.catalog.recommended if entry.catalog else {}
        if entry.custom is not None or recommended:
            req = _with_defaults(req, recommended, entry.custom)
        if any(m.has_images() for m in req.messages):
            return await self._start_image_chat(req, entry)
        flags: dict[str, list[str]] = {}
        messages = [{**m, "content": self.screen(m["content"], flags)} for m in _chat_messages(req)]
        fmt = req.response_format
        json_mode = fmt is not None and fmt.type == "json_object"
        schema = None
        if fmt is not None and fmt.type == "json_schema":
            if fmt.json_schema is None or fmt.json_schema.schema_ is None:
                raise InvalidInput("json_schema.schema is required", param="response_format")
            schema = fmt.json_schema.schema_
        params = params_from(req, json_mode=json_mode, schema=schema)
        gen = await self._start_text(entry, params, lambda m: m.chat_prompt(messages))
        gen.input_flags = flags
        return gen

    async def _start_image_chat(self, req: ChatCompletionRequest, entry: ModelEntry) -> Generation:
        if entry.projector is None:
            raise InvalidInput(
                "This model does not take images. Install a vision model (for example "
                "`hearth models pull smolvlm-256m-instruct`) and name it in `model`.",
                param="messages",
                code="image_input_unsupported",
            )
        flags: dict[str, list[str]] = {}
        messages = await asyncio.get_running_loop().run_in_executor(
            None, vision_messages, req.messages, self.max_image_pixels,
            lambda text: self.screen(text, flags), self.remote_images,
        )  # fmt: skip
        gen = await self._start(entry, _image_plan(messages, params_from(req)), "chatcmpl")
        gen.input_flags = flags
        return gen

    async def start_completion(self, req: CompletionRequest) -> Generation:
        flags: dict[str, list[str]] = {}
        text = self.screen(req.prompt_text(), flags)
        gen = await self.start_prompt(
            req.model, params_from(req), lambda m: m.text_prompt(text), "cmpl"
        )
        gen.input_flags = flags
        return gen

    async def start_prompt(
        self,
        model_name: str | None,
        params: GenerationParams,
        build_prompt: Callable[[LlamaModel], Prompt],
        id_prefix: str = "chatcmpl",
    ) -> Generation:
        """Wait for the model's turn, build the prompt with the loaded model, start generating."""
        entry = self._registry.resolve(model_name)
        return await self._start_text(entry, params, build_prompt, id_prefix)

    async def _start_text(
        self,
        entry: ModelEntry,
        params: GenerationParams,
        build_prompt: Callable[[LlamaModel], Prompt],
        id_prefix: str = "chatcmpl",
    ) -> Generation:
        def plan(model: LlamaModel) -> Plan:
            prompt = build_prompt(model)
            model.check_fits(prompt, params.max_tokens)
            model.check_biases(params.logit_bias)
            return len(prompt.tokens), lambda cancel, stats: model.generate(
                prompt, params, cancel, stats
            )

        return await self._start(entry, plan, id_prefix)

    async def start_with_images(
        self, model_name: str | None, params: GenerationParams, messages: list[dict[str, Any]]
    ) -> Generation:
        """A chat whose messages hold checked images, on a model with a vision projector."""
        entry = self._registry.resolve(model_name)
        return await self._start(entry, _image_plan(messages, params), "chatcmpl")

    async def _start(
        self, entry: ModelEntry, plan: Callable[[LlamaModel], Plan], id_prefix: str
    ) -> Generation:
        queue = self._registry.queue_for(entry.id)
        await queue.acquire()
        loop = asyncio.get_running_loop()
        thread = self._registry.thread_for(entry.id)

        def prepare() -> Plan:
            return plan(self._registry.load_blocking(entry).model)

        try:
            prompt_tokens, run = await loop.run_in_executor(thread, prepare)
        except BaseException:
            queue.release()
            raise
        stats = GenerationStats()

        def produce(emit: Callable[[Piece], None], cancel: threading.Event) -> None:
            for piece in run(cancel, stats):
                emit(piece)

        def failure(exc: BaseException) -> HearthError:
            log.error("generation failed: %s", type(exc).__name__)
            return GenerationFailed("the model failed while generating")

        # The turn passes on only when the worker is done with the model.
        stream = ThreadStream(thread, produce, on_done=queue.release, failure=failure)
        return Generation(
            id=f"{id_prefix}-{uuid.uuid4().hex}",
            created=int(time.time()),
            model_id=entry.id,
            prompt_tokens=prompt_tokens,
            stats=stats,
            _stream=stream,
            output_filter=self.output_filter(),
        )
