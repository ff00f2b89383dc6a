"""Stored conversations: send a turn, build its context, stream and keep the reply, summarize.

The user's message is committed before anything else. The reply is written as it streams (every
half second), so a crash leaves the partial text with `interrupted` set; when it ends it is
written whole. Turns that fall out of the window are folded into a running summary by the local
model in the background, after the reply, never on its critical path.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.backends.llama_backend import GenerationParams, Prompt
from engine.backends.llama_batch import Prompter
from engine.errors import HearthError
from engine.memory.context_builder import BuiltContext, ContextBuilder
from engine.memory.conversations import ConversationStore
from engine.memory.memories import MemoryStore
from engine.schemas import (
    ContextReport,
    Conversation,
    ConversationMessage,
    RecordedMessage,
    SendMessage,
)
from engine.services.generation import Generation, GenerationService, params_from
from engine.settings import EngineSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

PARTIAL_WRITE_INTERVAL = 0.5
REMEMBER = re.compile(
    r"^\s*(?:please\s+)?remember\s+(?:that\s+)?(?P<fact>.{3,500}?)[.!]?\s*$|^\s*记住[：:，,]?\s*(?P<zh>.{2,500})$",
    re.IGNORECASE | re.DOTALL,
)
SUMMARY_INSTRUCTIONS = (
    "You keep a brief running summary of a conversation. Given the previous summary and the "
    "messages that follow it, write the updated summary in at most five sentences. Keep names, "
    "numbers, decisions and open questions."
)


def title_from(text: str, limit: int = 60) -> str:
    """A short title from the first user message: its first line, cut at a word."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "New conversation")
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] if " " in line[:limit] else line[:limit]
    return cut.rstrip(",.;:") + "…"


_FIRST_PERSON = (
    (re.compile(r"\b(?:I am|I'm)\b", re.IGNORECASE), "the user is"),
    (re.compile(r"\bmy\b", re.IGNORECASE), "the user's"),
    (re.compile(r"\bmine\b", re.IGNORECASE), "the user's"),
    (re.compile(r"\bme\b", re.IGNORECASE), "the user"),
    (re.compile(r"\bI\b"), "the user"),
)


def remembered_fact(text: str) -> str | None:
    """The fact in "remember that ...", said about the user ("my cat" -> "the user's cat")."""
    match = REMEMBER.match(text)
    if not match:
        return None
    fact = (match.group("fact") or match.group("zh") or "").strip()
    for pattern, replacement in _FIRST_PERSON:
        fact = pattern.sub(replacement, fact)
    return fact[:1].upper() + fact[1:] if fact else None


@dataclass
class ConversationTurn:
    """A reply being generated in a conversation."""

    conversation_id: str
    user_message_id: int
    generation: Generation
    report: ContextReport
    model_id: str
    reply_id: int | None = None
    text_parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None


class ConversationService:
    def __init__(
        self,
        settings: EngineSettings,
        conversations: ConversationStore,
        memories: MemoryStore,
        generation: GenerationService,
        executor: Executor,
    ) -> None:
        self._settings = settings
        self._store = conversations
        self._memories = memories
        self._generation = generation
        self._executor = executor
        self._summarizing: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def send(self, conv_id: str, req: SendMessage) -> ConversationTurn:
        """Store the user's message, then build the context and start the reply."""
        conv = await self._run(self._store.get, conv_id)
        flags: dict[str, list[str]] = {}
        self._generation.screen(req.content, flags)  # a blocked message is refused here
        user_id = await self._run(self._store.add_message, conv_id, "user", req.content)
        memory_saved = None
        fact = remembered_fact(req.content)
        if fact and self._settings.memory_from_chat and req.remember is not False:
            memory_saved = (await self._run(self._memories.add, fact, "chat")).id
        recalled = (
            await self._run(self._memories.recall, req.content, self._settings.memories_per_reply)
            if self._settings.memory_token_budget
            else []
        )
        turns = await self._run(self._store.messages, conv_id)
        summary = await self._run(self._store.summary, conv_id)
        model_name = req.model or conv.model
        defaults, model_system = self._generation.model_defaults(model_name)
        params = self._params(conv, req, defaults)
        system_prompt = conv.system_prompt or model_system
        reply_tokens = params.max_tokens or self._settings.reply_tokens
        built: list[BuiltContext] = []

        moderator = self._generation.moderator
        if moderator is not None:  # stored as written; masked on the way to the model
            turns = [t.model_copy(update={"content": moderator.mask(t.content)}) for t in turns]

        def build_prompt(model: Prompter) -> Prompt:
            builder = ContextBuilder(
                count_tokens=model.count_tokens,
                prompt_tokens=lambda msgs: len(model.chat_prompt(msgs).tokens),
                n_ctx=model.n_ctx,
                memory_budget=self._settings.memory_token_budget,
            )
            context = builder.build(
                system_prompt=system_prompt,
                turns=[t for t in turns if t.role != "system" or t.content],
                reply_tokens=min(reply_tokens, model.n_ctx // 2),
                policy=conv.overflow_policy,
                summary=summary,
                memories=recalled,
            )
            built.append(context)
            return model.chat_prompt(context.messages)

        gen = await self._generation.start_prompt(model_name, params, build_prompt)
        gen.input_flags = flags
        context = built[0]
        context.report.memory_saved = memory_saved
        if context.unsummarized and conv.overflow_policy == "summarize":
            self._summarize_later(conv_id, model_name, context)
        return ConversationTurn(
            conversation_id=conv_id,
            user_message_id=user_id,
            generation=gen,
            report=context.report,
            model_id=gen.model_id,
        )

    async def record(self, conv_id: str, messages: list[RecordedMessage]) -> list[int]:
        """Store turns answered elsewhere (remote models, image turns); a new conversation takes
        its title from the first user message, as a generated reply would give it."""

        def add() -> list[int]:
            self._store.get(conv_id)  # 404 for an unknown conversation
            return [
                self._store.add_message(
                    conv_id, m.role, m.content, **m.model_dump(exclude={"role", "content"})
                )
                for m in messages
            ]

        ids = await self._run(add)
        first_user = next((m.content for m in messages if m.role == "user"), None)
        if first_user:
            await self._run(self._store.set_title_if_empty, conv_id, title_from(first_user))
        return ids

    def _params(
        self, conv: Conversation, req: SendMessage, defaults: dict[str, Any]
    ) -> GenerationParams:
        """The model's defaults, overridden by the conversation's saved parameters, overridden
        by those sent with this turn."""
        sent = req.model_dump(exclude_unset=True)
        known = {k: v for k, v in defaults.items() if k in SendMessage.model_fields}
        merged = SendMessage.model_validate({**known, **conv.params, **sent})
        return params_from(merged)

    async def reply(self, turn: ConversationTurn) -> AsyncIterator[str]:
        """The reply's text pieces; the stored reply follows them, and is kept if cut short."""
        turn.reply_id = await self._run(
            lambda: self._store.add_message(
                turn.conversation_id, "assistant", "", model=turn.model_id, provider="local",
                interrupted=True,
            )
        )  # fmt: skip
        last_write = time.monotonic()
        done = False
        try:
            async for piece in turn.generation.pieces():
                if piece.text:
                    turn.first_token = turn.first_token or time.monotonic()
                    turn.text_parts.append(piece.text)
                    yield piece.text
                turn.finish_reason = piece.finish_reason or turn.finish_reason
                if time.monotonic() - last_write > PARTIAL_WRITE_INTERVAL:
                    last_write = time.monotonic()
                    await self._run(self._write_reply, turn, True)
            done = turn.finish_reason in ("stop", "length")
        finally:
            turn.generation.cancel()
            # A blocking write even when cancelled: the reply must not be lost.
            self._write_reply(turn, not done)
        if done:
            await self._title(turn)

    def _write_reply(self, turn: ConversationTurn, interrupted: bool) -> None:
        assert turn.reply_id is not None
        elapsed = time.monotonic() - turn.started
        tokens = turn.generation.stats.completion_tokens
        timings = {"total_ms": round(elapsed * 1000, 1)}
        if turn.first_token is not None:
            timings["first_token_ms"] = round((turn.first_token - turn.started) * 1000, 1)
            generating = time.monotonic() - turn.first_token
            if generating > 0 and tokens > 1:
                timings["tokens_per_second"] = round((tokens - 1) / generating, 1)
        self._store.update_message(
            turn.reply_id,
            "".join(turn.text_parts),
            token_count=tokens,
            finish_reason=turn.finish_reason
            if not interrupted
            else (turn.finish_reason or "interrupted"),
            interrupted=interrupted,
            timings=timings,
        )

    async def _title(self, turn: ConversationTurn) -> None:
        messages = await self._run(self._store.messages, turn.conversation_id)
        first_user = next((m for m in messages if m.role == "user"), None)
        if first_user is not None:
            await self._run(
                self._store.set_title_if_empty, turn.conversation_id, title_from(first_user.content)
            )

    # -- running summary -------------------------------------------------------------------
    def _summarize_later(self, conv_id: str, model_name: str | None, context: BuiltContext) -> None:
        if conv_id in self._summarizing:
            return
        self._summarizing.add(conv_id)
        task = asyncio.create_task(self._summarize(conv_id, model_name, context.unsummarized))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _summarize(
        self, conv_id: str, model_name: str | None, pending: list[ConversationMessage]
    ) -> None:
        try:
            previous = await self._run(self._store.summary, conv_id)
            covered: list[ConversationMessage] = []

            def build_prompt(model: Prompter) -> Prompt:
                room = model.n_ctx - 512
                text = (
                    f"Previous summary: {previous.content if previous else '(none)'}\n\nMessages:\n"
                )
                for message in pending:
                    line = f"{message.role}: {message.content}\n"
                    if model.count_tokens(text + line) > room - 64:
                        break
                    text += line
                    covered.append(message)
                if not covered:  # one huge message: summarize its beginning
                    covered.append(pending[0])
                    text += f"{pending[0].role}: {pending[0].content[: room * 2]}\n"
                messages = [
                    {"role": "system", "content": SUMMARY_INSTRUCTIONS},
                    {"role": "user", "content": text + "\nUpdated summary:"},
                ]
                return model.chat_prompt(messages)

            params = GenerationParams(max_tokens=200, temperature=0.3)
            gen = await self._generation.start_prompt(model_name, params, build_prompt)
            text, _finish = await gen.collect()
            if text.strip() and covered:
                await self._run(self._store.save_summary, conv_id, text.strip(), covered[-1].id)
                log.info("conversation summary updated (%d messages folded in)", len(covered))
        except HearthError as exc:
            log.warning("could not update a conversation summary: %s", exc.message)
        finally:
            self._summarizing.discard(conv_id)

    async def wait_for_background(self) -> None:
        """For shutdown: let running summaries finish."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
