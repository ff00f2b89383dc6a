"""Anthropic's Messages API over the chat service: requests become chat requests (system,
text and image blocks, tool_use and tool_result blocks, tool_choice), replies become content
blocks with Anthropic's stop reasons, and a streamed reply becomes its event sequence."""

from __future__ import annotations

import json
from typing import Any

from engine.backends.llama_backend import Piece
from engine.dialects.extras import hearth_extras
from engine.schemas import ChatCompletionRequest, ToolCall
from engine.schemas.anthropic import (
    AnthropicMessage,
    CountTokensRequest,
    ImageBlock,
    MessagesRequest,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def to_chat(req: MessagesRequest | CountTokensRequest) -> ChatCompletionRequest:
    messages: list[dict[str, Any]] = []
    if req.system:
        system = req.system if isinstance(req.system, str) else "".join(b.text for b in req.system)
        messages.append({"role": "system", "content": system})
    for message in req.messages:
        messages += _messages(message)
    body: dict[str, Any] = {"model": req.model, "messages": messages}
    if req.tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.input_schema}}
            for t in req.tools
        ]  # fmt: skip
    if isinstance(req, MessagesRequest):
        body.update(hearth_extras(req.model_extra))
        body.update(max_tokens=req.max_tokens, stop=req.stop_sequences or None)
        sampling = {"temperature": req.temperature, "top_p": req.top_p, "top_k": req.top_k}
        body.update({k: v for k, v in sampling.items() if v is not None})
        choice = req.tool_choice
        if choice is not None and req.tools:
            body["tool_choice"] = (
                {"type": "function", "function": {"name": choice.name}}
                if choice.type == "tool"
                else {"auto": "auto", "any": "required", "none": "none"}[choice.type]
            )
            body["parallel_tool_calls"] = not choice.disable_parallel_tool_use
    return ChatCompletionRequest.model_validate(body)


def _messages(message: AnthropicMessage) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):  # each result is a tool message of its own
            out.append({"role": "tool", "tool_call_id": block.tool_use_id,
                        "content": _result_text(block)})  # fmt: skip
        elif isinstance(block, ToolUseBlock):
            arguments = json.dumps(block.input, ensure_ascii=False)
            calls.append({"id": block.id, "type": "function",
                          "function": {"name": block.name, "arguments": arguments}})  # fmt: skip
        elif isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block)}})
    if message.role == "assistant":
        text = "".join(p["text"] for p in parts if p["type"] == "text")
        out.append({"role": "assistant", "content": text or None, "tool_calls": calls or None})
    elif parts:
        only_text = all(p["type"] == "text" for p in parts)
        content = "".join(p["text"] for p in parts) if only_text else parts
        out.append({"role": "user", "content": content})
    return out


def _result_text(block: ToolResultBlock) -> str:
    text = (
        block.content
        if isinstance(block.content, str)
        else "".join(b.text for b in block.content if isinstance(b, TextBlock))
    )
    return f"Error: {text}" if block.is_error else text


def _image_url(block: ImageBlock) -> str:
    source = block.source
    if source.type == "url":
        return source.url or ""
    return f"data:{source.media_type or 'image/png'};base64,{source.data or ''}"


def content_blocks(text: str, calls: list[ToolCall]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text or not calls else []
    for call in calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.function.name,
                       "input": _arguments(call.function.arguments)})  # fmt: skip
    return blocks


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def stop_reason(finish: str | None) -> str:
    return STOP_REASONS.get(finish or "stop", "end_turn")


class StreamEvents:
    """Pieces of a reply as Anthropic's events: a text block, then one tool_use block per call
    (arguments as input_json_delta), each opened, filled and closed in order."""

    def __init__(self) -> None:
        self.index = -1
        self.open: str | None = None  # the kind of the block being written

    def _start(self, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        events = self.close()
        self.index += 1
        self.open = block["type"]
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        events.append(("content_block_start", start))
        return events

    def close(self) -> list[tuple[str, dict[str, Any]]]:
        if self.open is None:
            return []
        self.open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def piece(self, piece: Piece) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        if piece.text:
            if self.open != "text":
                events += self._start({"type": "text", "text": ""})
            events.append(self._delta({"type": "text_delta", "text": piece.text}))
        for call in piece.calls or []:
            if call.id is not None:
                events += self._start({"type": "tool_use", "id": call.id, "name": call.name or "",
                                       "input": {}})  # fmt: skip
            if call.arguments:
                events.append(self._delta({"type": "input_json_delta",
                                           "partial_json": call.arguments}))  # fmt: skip
        return events

    def _delta(self, delta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = {"type": "content_block_delta", "index": self.index, "delta": delta}
        return "content_block_delta", data
