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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.backends.llama_backend import (
    GenerationParams,
    GenerationStats,
    Piece,
    Prompt,
    TokenLogprob,
)
from engine.backends.llama_batch import Prompter
from engine.errors import GenerationFailed, HearthError, InvalidInput
from engine.registry.model_registry import ModelEntry, ModelRegistry
from engine.schemas import (
    ChatCompletionRequest,
    ChoiceLogprobs,
    CompletionRequest,
    CustomModel,
    PromptTokensDetails,
    SamplingFields,
    TokenLogprobOut,
    TopLogprob,
    Usage,
)
from engine.security.moderation import Moderator, OutputFilter, all_flags
from engine.services.image_parts import RemoteImages, vision_messages
from engine.services.thread_stream import END, LoopQueue, ThreadStream
from engine.services.tool_calling import ToolPlan, plan_tools, template_messages, with_calls
from engine.serving.model_pool import LoadedModel, ModelPool
from engine.serving.slots import Request

log = logging.getLogger(__name__)


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
        if text or piece.finish_reason or piece.logprobs or piece.calls:
            yield Piece(text, piece.finish_reason, piece.logprobs, piece.calls)


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


def _join_pieces(first: Piece, second: Piece) -> Piece | None:
    """Pieces that queued up while the event loop was busy travel as one."""
    if first.finish_reason is not None:
        return None
    logprobs = (
        (first.logprobs or []) + (second.logprobs or [])
        if first.logprobs is not None or second.logprobs is not None
        else None
    )
    calls = (first.calls or []) + (second.calls or []) or None
    return Piece(first.text + second.text, second.finish_reason, logprobs, calls)


@dataclass
class Generation:
    """A generation running in a worker thread. Iterate `pieces()`; `cancel()` stops it."""

    id: str
    created: int
    model_id: str
    prompt_tokens: int
    stats: GenerationStats
    _stream: LoopQueue[Piece]
    output_filter: OutputFilter | None = None
    input_flags: dict[str, list[str]] = field(default_factory=dict)
    tool_plan: ToolPlan | None = None

    def pieces(self) -> AsyncIterator[Piece]:
        """The reply as it comes: calls parsed out when tools were offered, the text screened
        by the output filter when there is one."""
        source = self._stream.items(_join_pieces)
        if self.tool_plan is not None:
            source = with_calls(source, self.tool_plan)
        return screened(source, self.output_filter, self.cancel)

    def flags(self) -> dict[str, list[str]]:
        """Moderation hits on the way in and out (for the audit log)."""
        return all_flags(self.input_flags, self.output_filter)

    def cancel(self) -> None:
        """Stop generating; the model's slot passes on at its next step."""
        self._stream.cancel()

    def usage(self) -> Usage:
        done = self.stats.completion_tokens
        prompt = (
            self.stats.prompt_tokens if self.stats.prompt_tokens is not None else self.prompt_tokens
        )
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=done,
            total_tokens=prompt + done,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=self.stats.cached_tokens),
        )

    async def collect(self) -> tuple[str, str | None]:
        """The whole text and the finish reason."""
        parts: list[str] = []
        finish: str | None = None
        async for piece in self.pieces():
            parts.append(piece.text)
            finish = piece.finish_reason or finish
        return "".join(parts), finish


def choice_logprobs(items: list[TokenLogprob] | None) -> ChoiceLogprobs | None:
    """OpenAI's shape: each token's text, bytes and log probability, with alternatives."""
    if items is None:
        return None

    def top(token: bytes, logprob: float) -> TopLogprob:
        return TopLogprob(
            token=token.decode("utf-8", "replace"), logprob=logprob, bytes=list(token)
        )

    return ChoiceLogprobs(
        content=[
            TokenLogprobOut(
                **top(t.token, t.logprob).model_dump(),
                top_logprobs=[top(token, logprob) for token, logprob in t.top],
            )
            for t in items
        ]
    )


def params_from(
    req: SamplingFields,
    *,
    json_mode: bool = False,
    schema: dict[str, Any] | None = None,
    logprobs: int | None = None,
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
        speculative=req.speculative,
        cache_prompt=req.cache_prompt,
        logprobs=logprobs,
        json_mode=json_mode,
        json_schema=schema,
    )


SHORT_PROMPT_CHARS = 4000  # a prompt this long renders and tokenizes in about a millisecond


def _short(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> bool:
    """Whether a chat's prompt is quick enough to build on the event loop."""
    size = len(str(tools)) if tools else 0
    for message in messages:
        for value in message.values():
            size += len(value) if isinstance(value, str) else len(str(value))
            if size > SHORT_PROMPT_CHARS:
                return False
    return True


def _check_roles(req: ChatCompletionRequest) -> None:
    # 'developer' is OpenAI's newer name for the system role; templates know 'system'.
    if all(m.role in ("system", "developer") for m in req.messages):
        raise InvalidInput("messages must hold at least one user message", param="messages")


class GenerationService:
    """Runs chat and text completions on local models: text through each model's scheduler
    (many requests at once), images through the model's vision side (one at a time)."""

    def __init__(
        self,
        registry: ModelRegistry,
        pool: ModelPool,
        moderator: Moderator | None = None,
        max_image_pixels: int = 50_000_000,
        remote_images: RemoteImages | None = None,
        chat_template: Callable[[str], str | None] = lambda _model_id: None,
    ) -> None:
        self._registry = registry
        self._pool = pool
        self._chat_template = chat_template  # the settings' template for a model, if any
        self.max_image_pixels = max_image_pixels
        self.remote_images = remote_images or RemoteImages()
        self._moderator = moderator if moderator is not None and moderator.lists else None
        self.moderation_enabled = True  # the settings switch; the lists stay loaded
        self.speculative = True  # the settings switch for prompt-lookup drafts

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

    def _chat_entry(self, name: str | None) -> ModelEntry:
        """The model to generate with: one that writes text, not an embedding model."""
        entry = self._registry.resolve(name)
        if entry.kind != "chat":
            raise InvalidInput(
                f"'{entry.id}' is an {entry.kind} model; it does not write text (embedding "
                "models answer at /v1/embeddings)",
                param="model",
            )
        return entry

    def model_defaults(self, model_name: str | None) -> tuple[dict[str, Any], str | None]:
        """A model's default parameters (the catalog's recommended ones, then a custom model's
        own) and its system prompt, for requests that leave them unset."""
        entry = self._chat_entry(model_name)
        defaults = dict(entry.catalog.recommended) if entry.catalog else {}
        if entry.custom is not None:
            defaults.update(entry.custom.parameters)
            return defaults, entry.custom.system_prompt
        return defaults, None

    async def start_chat(self, req: ChatCompletionRequest) -> Generation:
        entry = self._chat_entry(req.model)
        recommended = entry.catalog.recommended if entry.catalog else {}
        if entry.custom is not None or recommended:
            req = _with_defaults(req, recommended, entry.custom)
        if any(m.has_images() for m in req.messages):
            return await self._start_image_chat(req, entry)
        _check_roles(req)
        flags: dict[str, list[str]] = {}
        plan = plan_tools(req, await self._template_text(entry))
        messages = template_messages(req.messages, plan, lambda text: self.screen(text, flags))
        tools = plan.tools if plan is not None and plan.renders_tools else None
        fmt = req.response_format
        json_mode = fmt is not None and fmt.type == "json_object"
        schema = None
        if fmt is not None and fmt.type == "json_schema":
            if fmt.json_schema is None or fmt.json_schema.schema_ is None:
                raise InvalidInput("json_schema.schema is required", param="response_format")
            schema = fmt.json_schema.schema_
        params = params_from(
            req, json_mode=json_mode, schema=schema, logprobs=req.logprob_alternatives()
        )
        if plan is not None:  # the calls' grammar takes the place of any response format
            params.grammar, params.grammar_triggers = plan.grammar()
            params.json_mode, params.json_schema = False, None
        gen = await self._start_text(
            entry, params, lambda m: m.chat_prompt(messages, tools), short=_short(messages, tools)
        )
        gen.input_flags = flags
        gen.tool_plan = plan
        return gen

    async def preload(self, model_name: str | None) -> None:
        """Load a model now (Ollama's empty generate request), so a first reply does not wait."""
        entry = self._chat_entry(model_name)
        self._pool.release(await self._pool.acquire(entry))

    async def count_chat_tokens(self, req: ChatCompletionRequest) -> int:
        """The prompt tokens a chat request would take (its tools included; image parts are
        counted by their text only)."""
        entry = self._chat_entry(req.model)
        _check_roles(req)
        plan = plan_tools(req, await self._template_text(entry))
        messages = template_messages(req.messages, plan, lambda text: text)
        tools = plan.tools if plan is not None and plan.renders_tools else None
        loaded = await self._pool.acquire(entry)
        try:
            prompter = Prompter(loaded.model, self._set_template(entry))
            prompt = await asyncio.get_running_loop().run_in_executor(
                None, lambda: prompter.chat_prompt(messages, tools)
            )
            return len(prompt.tokens)
        finally:
            self._pool.release(loaded)

    async def training_tokens(
        self, model_name: str, conversations: list[list[dict[str, str]]]
    ) -> tuple[ModelEntry, list[list[int]], str | None]:
        """Each conversation as the model reads it in training: its prompt up to the last
        assistant turn (the model's own template), then that turn and its end; with the entry
        and the template the result must keep."""
        entry = self._chat_entry(model_name)
        template = await self._template_text(entry)
        loaded = await self._pool.acquire(entry)
        try:
            prompter = Prompter(loaded.model, self._set_template(entry))

            def render() -> list[list[int]]:
                out = []
                for messages in conversations:
                    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
                    prompt = prompter.chat_prompt(messages[:last])
                    end = (prompt.stop[0] if prompt.stop else "") + "\n"
                    answer = loaded.model.tokenize(messages[last]["content"] + end, add_bos=False)
                    out.append(prompt.tokens + answer)
                return out

            rendered = await asyncio.get_running_loop().run_in_executor(None, render)
            return entry, rendered, template
        finally:
            self._pool.release(loaded)

    async def plan_for(
        self, model_name: str | None, tools: list[dict[str, Any]], choice: Any = "auto"
    ) -> ToolPlan | None:
        """How `tools` are offered to a model (stored conversations)."""
        entry = self._chat_entry(model_name)
        req = ChatCompletionRequest.model_validate(
            {"messages": [{"role": "user", "content": "-"}], "tools": tools, "tool_choice": choice}
        )
        return plan_tools(req, await self._template_text(entry))

    def _set_template(self, entry: ModelEntry) -> str | None:
        """The template a custom model or the settings give (None: the GGUF's own)."""
        if entry.custom is not None and entry.custom.chat_template:
            return entry.custom.chat_template
        return self._chat_template(entry.custom.base if entry.custom else entry.id)

    async def _template_text(self, entry: ModelEntry) -> str | None:
        """The chat template an entry's prompts are rendered with (to know its call format)."""
        chosen = self._set_template(entry)
        if chosen:
            return chosen
        info = self._pool.loaded_info(entry)  # a thread hop costs ms on a loaded CPU
        if info is None:
            info = await asyncio.get_running_loop().run_in_executor(None, self._pool.inspect, entry)
        return info.chat_template

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
        gen = await self._start_images(entry, messages, params_from(req))
        gen.input_flags = flags
        return gen

    async def start_completion(self, req: CompletionRequest) -> Generation:
        flags: dict[str, list[str]] = {}
        text = self.screen(req.prompt_text(), flags)
        gen = await self._start_text(
            self._chat_entry(req.model),
            params_from(req),
            lambda m: m.text_prompt(text),
            "cmpl",
            short=len(text) <= SHORT_PROMPT_CHARS,
        )
        gen.input_flags = flags
        return gen

    async def start_prompt(
        self,
        model_name: str | None,
        params: GenerationParams,
        build_prompt: Callable[[Prompter], Prompt],
        id_prefix: str = "chatcmpl",
    ) -> Generation:
        """Build the prompt with the loaded model and queue it on the model's scheduler."""
        entry = self._chat_entry(model_name)
        return await self._start_text(entry, params, build_prompt, id_prefix)

    async def _start_text(
        self,
        entry: ModelEntry,
        params: GenerationParams,
        build_prompt: Callable[[Prompter], Prompt],
        id_prefix: str = "chatcmpl",
        short: bool = False,
    ) -> Generation:
        """`short`: the prompt is built here, on the event loop (well under a millisecond),
        rather than on a worker thread, whose wake-up costs several on a CPU the model keeps busy
        (measured: 2-17 ms from request to queue with 8 clients on 2 cores)."""
        loaded = await self._pool.acquire(entry)
        try:
            prompter = Prompter(loaded.model, self._set_template(entry))
            if short:
                prompt = build_prompt(prompter)
            else:
                prompt = await asyncio.get_running_loop().run_in_executor(
                    None, build_prompt, prompter
                )
            room = loaded.model.check_fits(prompt, params.max_tokens)
            loaded.model.check_biases(params.logit_bias)
            return self._submit(loaded, entry, prompt, params, room, id_prefix)
        except BaseException:
            self._pool.release(loaded)
            raise

    def _submit(
        self,
        loaded: LoadedModel,
        entry: ModelEntry,
        prompt: Prompt,
        params: GenerationParams,
        room: int,
        id_prefix: str,
    ) -> Generation:
        pool, scheduler = self._pool, loaded.scheduler
        request: Request | None = None

        def stop() -> None:
            if request is not None:
                scheduler.cancel(request)

        stream: LoopQueue[Piece] = LoopQueue(on_cancel=stop)
        loop = asyncio.get_running_loop()

        def emit(item: Piece | HearthError) -> None:
            # From the scheduler's thread. The last item gives the model back to the pool.
            stream.put(item)
            if isinstance(item, HearthError) or item.finish_reason is not None:
                stream.put(END)
                loop.call_soon_threadsafe(pool.release, loaded)

        request = Request(
            prompt=prompt.tokens,
            params=params,
            stop=[*prompt.stop, *params.stop],
            max_tokens=params.max_tokens or room,
            emit=emit,
            speculate=params.speculative and self.speculative,
        )
        scheduler.submit(request)
        return Generation(
            id=f"{id_prefix}-{uuid.uuid4().hex}",
            created=int(time.time()),
            model_id=entry.id,
            prompt_tokens=len(prompt.tokens),
            stats=request.stats,
            _stream=stream,
            output_filter=self.output_filter(),
        )

    async def start_with_images(
        self, model_name: str | None, params: GenerationParams, messages: list[dict[str, Any]]
    ) -> Generation:
        """A chat whose messages hold checked images, on a model with a vision projector."""
        entry = self._chat_entry(model_name)
        return await self._start_images(entry, messages, params)

    async def _start_images(
        self, entry: ModelEntry, messages: list[dict[str, Any]], params: GenerationParams
    ) -> Generation:
        queue, thread = self._pool.vision(entry)
        await queue.acquire()
        stats = GenerationStats()

        def produce(emit: Callable[[Piece], None], cancel: threading.Event) -> None:
            model = self._pool.vision_model(entry)
            for piece in model.generate_with_images(messages, params, cancel, stats):
                emit(piece)

        def failure(exc: BaseException) -> HearthError:
            log.error("generation failed: %s", type(exc).__name__)
            return GenerationFailed("the model failed while generating")

        # The turn passes on only when the worker is done with the model.
        stream = ThreadStream(thread, produce, on_done=queue.release, failure=failure)
        return Generation(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model_id=entry.id,
            prompt_tokens=0,
            stats=stats,
            _stream=stream,
            output_filter=self.output_filter(),
        )
