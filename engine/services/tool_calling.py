"""Function calling for a chat request: checking the tools, choosing the model's call format,
putting the tools and earlier calls into the prompt, and the grammar that enforces tool_choice.

`required` and a named function are enforced from the first token (the reply is calls, each
parsing and matching its tool's schema); `auto` lets the model write text or start a call, and
a call it starts is finished under the grammar; `none` offers no tools at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from engine.backends.llama_backend import Piece
from engine.errors import InvalidInput
from engine.schemas import ChatCompletionRequest, ChatMessage, NamedToolChoice
from engine.tools.calls import ToolCallParser, ToolFormat, format_for, generic_tools_prompt


@dataclass(frozen=True)
class ToolPlan:
    tools: list[dict[str, Any]]  # as OpenAI sends them
    fmt: ToolFormat
    renders_tools: bool  # the chat template puts tools and calls into the prompt itself
    choice: str  # auto, required or named
    only: str | None  # the named function
    parallel: bool

    def grammar(self) -> tuple[str, list[str]]:
        """GBNF, and the trigger patterns when the model may write text instead."""
        from engine.tools.calls import tools_grammar

        try:
            grammar = tools_grammar(self.tools, self.fmt, self.only, self.parallel)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise InvalidInput(
                "a tool's parameters cannot be turned into a grammar", param="tools"
            ) from exc
        return grammar, self.fmt.trigger_patterns() if self.choice == "auto" else []


def plan_tools(req: ChatCompletionRequest, template: str | None) -> ToolPlan | None:
    """What the request's tools ask for; None when the model is to answer in text only.
    Bad tools are 400s naming the field."""
    choice = req.tool_choice
    if not req.tools:
        if choice not in (None, "none", "auto"):
            raise InvalidInput("tool_choice needs tools to choose from", param="tool_choice")
        return None
    names = [t.function.name for t in req.tools]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InvalidInput(f"two tools are named '{name}'", param=f"tools[{i}].function.name")
    _check_schemas(req)
    if choice == "none":
        return None
    only = None
    if isinstance(choice, NamedToolChoice):
        only = choice.function.name
        if only not in names:
            raise InvalidInput(
                f"tool_choice names '{only}', which is not among the tools",
                param="tool_choice.function.name",
            )
    fmt, renders = format_for(template)
    return ToolPlan(
        tools=[t.model_dump(exclude_none=True) for t in req.tools],
        fmt=fmt,
        renders_tools=renders,
        choice="named" if only else ("required" if choice == "required" else "auto"),
        only=only,
        parallel=req.parallel_tool_calls and only is None,
    )


def _check_schemas(req: ChatCompletionRequest) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    for i, tool in enumerate(req.tools or []):
        params = tool.function.parameters
        try:
            if params.get("type", "object") != "object":
                raise SchemaError("the parameters must be an object")
            Draft202012Validator.check_schema(params)
        except SchemaError as exc:
            raise InvalidInput(
                f"tools[{i}].function.parameters is not a valid JSON schema: {exc.message}",
                param=f"tools[{i}].function.parameters",
            ) from exc


def template_messages(
    messages: Sequence[ChatMessage], plan: ToolPlan | None, screen: Any
) -> list[dict[str, Any]]:
    """The conversation as the chat template takes it. With a template that knows tools,
    earlier calls and their results go in as such; otherwise (and Hearth's generic format) the
    tools are described in a system message and calls and results become plain text."""
    names = {c.id: c.function.name for m in messages for c in (m.tool_calls or [])}
    native = plan is not None and plan.renders_tools
    out: list[dict[str, Any]] = []
    for message in messages:
        role = "system" if message.role == "developer" else message.role
        text = screen(message.text())
        if message.tool_calls and native:
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.function.name,
                        "arguments": _as_object(c.function.arguments),
                    },
                }
                for c in message.tool_calls
            ]
            out.append({"role": "assistant", "content": text, "tool_calls": calls})
        elif message.tool_calls:
            written = [
                f'<tool_call>\n{{"name": {json.dumps(c.function.name)}, "arguments": '
                f"{c.function.arguments}}}\n</tool_call>"
                for c in message.tool_calls
            ]
            out.append({"role": "assistant", "content": "\n".join([text, *written]).strip()})
        elif role == "tool" and native:
            name = names.get(message.tool_call_id or "", "")
            out.append({"role": "tool", "content": text, "tool_call_id": message.tool_call_id,
                        "name": name})  # fmt: skip
        elif role == "tool":
            name = names.get(message.tool_call_id or "", "the tool")
            out.append({"role": "user", "content": f"Result of {name}: {text}"})
        else:
            out.append({"role": role, "content": text})
    if plan is not None and not plan.renders_tools:
        prompt = generic_tools_prompt(plan.tools)
        if out and out[0]["role"] == "system":
            out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{prompt}"}
        else:
            out.insert(0, {"role": "system", "content": prompt})
    return out


def _as_object(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


async def with_calls(source: AsyncIterator[Piece], plan: ToolPlan) -> AsyncIterator[Piece]:
    """The reply's pieces with its calls parsed out: content as text, calls as deltas, and
    finish_reason tool_calls when it made any."""
    parser = ToolCallParser(plan.fmt)
    made = False
    async for piece in source:
        text, calls = parser.feed(piece.text)
        made = made or bool(calls)
        finish = piece.finish_reason
        if finish is not None:
            text += parser.finish()
            if made and finish == "stop":
                finish = "tool_calls"
        if text or calls or finish is not None or piece.logprobs:
            yield Piece(text, finish, piece.logprobs, calls or None)
