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
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.backends.llama_backend import GenerationParams, Prompt
from engine.backends.llama_batch import Prompter
from engine.errors import HearthError, NotFound
from engine.knowledge.citing import passage_text
from engine.knowledge.store import Hit
from engine.memory.context_builder import BuiltContext, ContextBuilder
from engine.memory.conversations import ConversationStore
from engine.memory.memories import MemoryStore
from engine.schemas import (
    ChatCompletionRequest,
    ChatMessage,
    ContextReport,
    Conversation,
    ConversationMessage,
    Memory,
    RecordedMessage,
    SendMessage,
    ToolCall,
    ToolCallFunction,
    ToolRun,
)
from engine.schemas.conversations import Citation
from engine.services.generation import Generation, GenerationService, params_from
from engine.services.knowledge import KnowledgeService
from engine.services.memory_recall import MemoryRecall
from engine.services.tool_calling import ToolPlan, template_messages
from engine.services.tool_runner import ToolRunner
from engine.settings import EngineSettings
from engine.tools.calls import CallDelta, assemble

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
    # With tools: what was offered, the context the first step saw, and the calls since.
    tool_plan: ToolPlan | None = None
    tool_defs: list[dict[str, Any]] = field(default_factory=list)
    context_messages: list[dict[str, Any]] = field(default_factory=list)
    step_messages: list[ChatMessage] = field(default_factory=list)
    params: GenerationParams | None = None
    max_steps: int = 0
    runs: list[ToolRun] = field(default_factory=list)
    # Writes of the reply, in order: a periodic write still waiting for the database when the
    # reply ends must not land after the last one with less text (or the wrong flags).
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    finished_reply: int | None = None  # the reply whose last write is done


class ConversationService:
    def __init__(
        self,
        settings: EngineSettings,
        conversations: ConversationStore,
        memories: MemoryStore,
        generation: GenerationService,
        executor: Executor,
        tools: ToolRunner | None = None,
        knowledge: KnowledgeService | None = None,
        recall: MemoryRecall | None = None,
    ) -> None:
        self._settings = settings
        self._tools = tools
        self._knowledge = knowledge
        self._recall = recall
        self._store = conversations
        self._memories = memories
        self._generation = generation
        self._executor = executor
        self._summarizing: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _recalled(self, text: str) -> list[Memory]:
        limit = self._settings.memories_per_reply
        if self._recall is not None:
            return await self._recall.recall(text, limit)
        return await self._run(self._memories.recall, text, limit)

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
        recalled = await self._recalled(req.content) if self._settings.memory_token_budget else []
        hits = await self._passages(conv.vector_store_ids, req.content)
        turns = await self._run(self._store.messages, conv_id)
        summary = await self._run(self._store.summary, conv_id)
        model_name = req.model or conv.model
        defaults, model_system = self._generation.model_defaults(model_name)
        merged = self._merged(conv, req, defaults)
        params = params_from(merged)
        system_prompt = conv.system_prompt or model_system
        reply_tokens = params.max_tokens or self._settings.reply_tokens
        built: list[BuiltContext] = []
        plan, tool_defs = None, []
        if merged.tools and self._tools is not None:
            tool_defs = await self._tools.offered()
            plan = await self._generation.plan_for(model_name, tool_defs, merged.tool_choice)
            if plan is not None:
                params.grammar, params.grammar_triggers = plan.grammar()

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
                # Earlier turns' calls and results stay out: their answers carry what they found.
                turns=[
                    t
                    for t in turns
                    if (t.role != "system" or t.content) and t.role != "tool" and not t.tool_calls
                ],
                reply_tokens=min(reply_tokens, model.n_ctx // 2),
                policy=conv.overflow_policy,
                summary=summary,
                memories=recalled,
                passages=[passage_text(hit) for hit in hits],
            )
            built.append(context)
            if plan is None:
                return model.chat_prompt(context.messages)
            messages = [ChatMessage.model_validate(m) for m in context.messages]
            rendered = template_messages(messages, plan, lambda text: text)
            return model.chat_prompt(rendered, plan.tools if plan.renders_tools else None)

        gen = await self._generation.start_prompt(model_name, params, build_prompt)
        gen.input_flags = flags
        gen.tool_plan = plan
        context = built[0]
        context.report.memory_saved = memory_saved
        context.report.passages = [
            Citation(n=n, vector_store_id=hit.vector_store_id, file_id=hit.file_id,
                     filename=hit.filename, text=hit.text, score=round(hit.score, 4),
                     page=hit.page, start_seconds=hit.start_seconds, heading=hit.heading)
            for n, hit in enumerate(hits[: context.passages_used], start=1)
        ]  # fmt: skip
        if context.unsummarized and conv.overflow_policy == "summarize":
            self._summarize_later(conv_id, model_name, context)
        return ConversationTurn(
            conversation_id=conv_id,
            user_message_id=user_id,
            generation=gen,
            report=context.report,
            model_id=gen.model_id,
            tool_plan=plan,
            tool_defs=tool_defs,
            context_messages=context.messages,
            params=params,
            max_steps=merged.max_tool_steps,
        )

    async def _passages(self, store_ids: list[str], question: str) -> list[Hit]:
        """The best passages for the question from the conversation's collections (a removed
        collection is skipped: the conversation goes on without it)."""
        if not store_ids or self._knowledge is None:
            return []
        limit = self._settings.passages_per_reply
        hits: list[Hit] = []
        for store_id in store_ids:
            try:
                hits += await self._knowledge.search(store_id, [question], limit)
            except NotFound:
                continue
        return sorted(hits, key=lambda h: -h.score)[:limit]

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

    def _merged(
        self, conv: Conversation, req: SendMessage, defaults: dict[str, Any]
    ) -> SendMessage:
        """The model's defaults, overridden by the conversation's saved parameters, overridden
        by those sent with this turn."""
        sent = req.model_dump(exclude_unset=True)
        known = {k: v for k, v in defaults.items() if k in SendMessage.model_fields}
        return SendMessage.model_validate({**known, **conv.params, **sent})

    async def reply(self, turn: ConversationTurn) -> AsyncIterator[str | ToolRun]:
        """The reply's text pieces, and with tools each call as its status changes; every
        step's reply, call and result is stored, and a reply cut short is kept."""
        steps = 0
        while True:
            calls: list[CallDelta] = []
            async for text in self._one_reply(turn, calls):
                yield text
            if turn.finish_reason != "tool_calls" or self._tools is None or not calls:
                return
            steps += 1
            async for run in self._run_calls(turn, assemble(calls)):
                yield run
            turn.generation = await self._next_step(turn, last=steps >= turn.max_steps)
            turn.text_parts, turn.finish_reason = [], None
            turn.started, turn.first_token = time.monotonic(), None

    async def _one_reply(
        self, turn: ConversationTurn, calls: list[CallDelta]
    ) -> AsyncIterator[str]:
        turn.reply_id = await self._run(
            lambda: self._store.add_message(
                turn.conversation_id, "assistant", "", model=turn.model_id, provider="local",
                interrupted=True,
            )
        )  # fmt: skip
        if turn.report.passages:  # kept with the answer, even one cut short
            cited = [c.model_dump() for c in turn.report.passages]
            await self._run(self._store.set_citations, turn.reply_id, cited)
        last_write = time.monotonic()
        done = False
        try:
            async for piece in turn.generation.pieces():
                if piece.text:
                    turn.first_token = turn.first_token or time.monotonic()
                    turn.text_parts.append(piece.text)
                    yield piece.text
                calls.extend(piece.calls or [])
                turn.finish_reason = piece.finish_reason or turn.finish_reason
                if time.monotonic() - last_write > PARTIAL_WRITE_INTERVAL:
                    last_write = time.monotonic()
                    await self._run(self._write_reply, turn, True, False)
            done = turn.finish_reason in ("stop", "length", "tool_calls")
        finally:
            turn.generation.cancel()
            # A blocking write even when cancelled: the reply must not be lost.
            self._write_reply(turn, not done, True)
        if done and turn.finish_reason != "tool_calls":
            await self._title(turn)

    async def _run_calls(
        self, turn: ConversationTurn, calls: list[tuple[str, str, str]]
    ) -> AsyncIterator[ToolRun]:
        """Store the step's calls, then run each (after the user's approval where needed),
        storing its result as a tool message."""
        assert self._tools is not None
        assert turn.reply_id is not None
        tools, conv_id = self._tools, turn.conversation_id
        made = [ToolCall(id=i, function=ToolCallFunction(name=n, arguments=a)) for i, n, a in calls]
        await self._run(self._store.set_tool_calls, turn.reply_id, [c.model_dump() for c in made])
        turn.step_messages.append(
            ChatMessage(role="assistant", content="".join(turn.text_parts) or None, tool_calls=made)
        )
        for call_id, name, arguments in calls:
            run = ToolRun(id=call_id, name=name, arguments=arguments,
                          server=tools.server_of(name), status="pending")  # fmt: skip
            action = "approve"
            if await tools.needs_approval(name):
                yield run
                action = await tools.wait_for_decision(conv_id, run)
            if action == "deny":
                run = await tools.deny(conv_id, run)
            else:
                yield run.model_copy(update={"status": "running"})
                run = await tools.execute(conv_id, run)
            turn.runs.append(run)
            yield run
            result = run.result or ""
            await self._run(self._add_tool_message, conv_id, result, call_id)
            turn.step_messages.append(
                ChatMessage(role="tool", content=result, tool_call_id=call_id)
            )

    def _add_tool_message(self, conv_id: str, result: str, call_id: str) -> int:
        return self._store.add_message(conv_id, "tool", result, tool_call_id=call_id)

    async def _next_step(self, turn: ConversationTurn, last: bool) -> Generation:
        """The model's next reply, with the calls and results so far (on the last step it
        may no longer call)."""
        p = turn.params or GenerationParams(max_tokens=None)
        req = ChatCompletionRequest(
            model=turn.model_id,
            messages=[*map(ChatMessage.model_validate, turn.context_messages), *turn.step_messages],
            tools=turn.tool_defs,  # type: ignore[arg-type]
            tool_choice="none" if last else "auto",
            temperature=p.temperature, top_p=p.top_p, max_tokens=p.max_tokens, seed=p.seed,
        )  # fmt: skip
        return await self._generation.start_chat(req)

    def _write_reply(self, turn: ConversationTurn, interrupted: bool, last: bool) -> None:
        assert turn.reply_id is not None
        with turn.write_lock:
            if turn.finished_reply == turn.reply_id:
                return  # a periodic write that came too late
            if last:
                turn.finished_reply = turn.reply_id
            self._write_reply_now(turn, interrupted)

    def _write_reply_now(self, turn: ConversationTurn, interrupted: bool) -> None:
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
