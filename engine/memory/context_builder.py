"""ContextBuilder: fits a stored conversation into the model's context window.

Budget priority: the system prompt (always), recalled memories (within their own budget), the
running summary, then as many recent turns as fit, leaving room for the reply. Positions differ
from priorities on purpose: memories go just before the newest user message and the summary
right after the system prompt, so the long shared prefix of a conversation stays the same from
turn to turn and the model's evaluated prefix can be reused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.errors import ContextLengthExceeded
from engine.knowledge.citing import PASSAGES_HEADER
from engine.memory.conversations import Summary
from engine.schemas import ContextReport, ConversationMessage, Memory, OverflowPolicy

PER_MESSAGE_OVERHEAD = 6  # role markers and separators a chat template adds to each message
MEMORY_HEADER = "Things you know about the user (from earlier conversations):"

SUMMARY_HEADER = "Summary of the earlier part of this conversation:"


@dataclass
class BuiltContext:
    messages: list[dict[str, str]]
    report: ContextReport
    left_out: list[ConversationMessage] = field(default_factory=list)
    passages_used: int = 0  # the first this many passages went in

    @property
    def unsummarized(self) -> list[ConversationMessage]:
        """Turns left out that no summary covers yet (the summarizer's next work)."""
        return self.left_out[self.report.summarized_messages :]


@dataclass
class ContextBuilder:
    count_tokens: Callable[[str], int]
    prompt_tokens: Callable[[list[dict[str, str]]], int]
    n_ctx: int
    memory_budget: int = 256
    passage_budget: int = 1024

    def _cost(self, text: str) -> int:
        return self.count_tokens(text) + PER_MESSAGE_OVERHEAD

    def build(
        self,
        *,
        system_prompt: str | None,
        turns: Sequence[ConversationMessage],
        reply_tokens: int,
        policy: OverflowPolicy,
        summary: Summary | None = None,
        memories: Sequence[Memory] = (),
        passages: Sequence[str] = (),
    ) -> BuiltContext:
        """The messages to send; `turns` ends with the newest user message."""
        budget = self.n_ctx - reply_tokens
        head = [{"role": "system", "content": system_prompt}] if system_prompt else []
        used = sum(self._cost(m["content"]) for m in head)

        kept_memories: list[Memory] = []
        memory_cost = self._cost(MEMORY_HEADER)
        for memory in memories:
            cost = self._cost(memory.content)
            if memory_cost + cost > self.memory_budget:
                break
            kept_memories.append(memory)
            memory_cost += cost
        if kept_memories:
            used += memory_cost

        # Passages from attached collections, best first, as many as their budget holds;
        # `passages[i]` is numbered i + 1, as the reply will cite it.
        kept_passages: list[str] = []
        passage_cost = self._cost(PASSAGES_HEADER)
        for n, passage in enumerate(passages, start=1):
            cost = self._cost(passage)
            if passage_cost + cost > self.passage_budget:
                break
            kept_passages.append(f"[{n}] {passage}")
            passage_cost += cost
        if kept_passages:
            used += passage_cost

        summary_msg = None
        if policy == "summarize" and summary is not None:
            summary_msg = {"role": "system", "content": f"{SUMMARY_HEADER}\n{summary.content}"}

        def assemble(
            included: Sequence[ConversationMessage], with_summary: bool
        ) -> list[dict[str, str]]:
            out = list(head)
            if with_summary and summary_msg:
                out.append(summary_msg)
            out += [{"role": t.role, "content": t.content} for t in included[:-1]]
            if kept_memories:
                facts = "\n".join(f"- {m.content}" for m in kept_memories)
                out.append({"role": "system", "content": f"{MEMORY_HEADER}\n{facts}"})
            if kept_passages:
                found = "\n\n".join(kept_passages)
                out.append({"role": "system", "content": f"{PASSAGES_HEADER}\n\n{found}"})
            out.append({"role": included[-1].role, "content": included[-1].content})
            return out

        # Newest first, as many turns as fit (the summary counted only if it will be used).
        summary_cost = self._cost(summary_msg["content"]) if summary_msg else 0
        start = len(turns)
        room = budget - used
        for i in range(len(turns) - 1, -1, -1):
            cost = self._cost(turns[i].content)
            extra = summary_cost if i > 0 else 0  # a summary only matters if something drops
            if cost + extra > room:
                break
            room -= cost
            start = i
        if start == len(turns):
            raise ContextLengthExceeded(
                f"The newest message alone does not fit this model's {self.n_ctx}-token context "
                f"with {reply_tokens} tokens kept for the reply. Shorten it.",
                param="content",
            )
        # The estimate may be a little off: check with the real template, dropping more if needed.
        while True:
            left_out = list(turns[:start])
            with_summary = bool(left_out) and summary_msg is not None
            messages = assemble(turns[start:], with_summary)
            total = self.prompt_tokens(messages)
            if total <= budget or start == len(turns) - 1:
                break
            start += 1
        if total > budget:
            raise ContextLengthExceeded(
                f"The conversation does not fit this model's {self.n_ctx}-token context.",
                param="content",
            )
        if left_out and policy == "stop":
            raise ContextLengthExceeded(
                f"The conversation no longer fits this model's {self.n_ctx}-token context and "
                "its overflow policy is 'stop'. Start a new conversation or change the policy.",
                param="content",
            )
        covered = [
            t for t in left_out if summary and with_summary and t.id <= summary.covers_through
        ]
        report = ContextReport(
            policy=policy,
            prompt_tokens=total,
            context_window=self.n_ctx,
            messages_total=len(turns),
            messages_included=len(turns) - len(left_out),
            messages_left_out=len(left_out),
            summary_used=with_summary,
            summarized_messages=len(covered),
            memories_used=[m.id for m in kept_memories],
        )
        return BuiltContext(
            messages=messages, report=report, left_out=left_out, passages_used=len(kept_passages)
        )
