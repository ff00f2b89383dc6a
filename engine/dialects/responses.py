"""OpenAI's Responses API over the chat service: input items become chat messages, a reply
becomes output items (a message with output_text, function_call items), and a streamed reply
becomes the typed events with their sequence numbers. State (stored responses, chains,
background runs) lives in engine.services.responses."""

from __future__ import annotations

import json
import uuid
from typing import Any

from engine.backends.llama_backend import Piece
from engine.dialects.extras import hearth_extras
from engine.errors import InvalidInput
from engine.knowledge.citing import PASSAGES_HEADER, marks, passage_text
from engine.knowledge.store import Hit
from engine.schemas import ChatCompletionRequest, Usage
from engine.schemas.responses import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputImage,
    InputText,
    MessageItem,
    ResponsesRequest,
)

Item = dict[str, Any]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def input_items(req: ResponsesRequest) -> list[Item]:
    """The request's input as stored items, each with an id (a string is one user message)."""
    if isinstance(req.input, str):
        text = {"type": "input_text", "text": req.input}
        return [
            {
                "id": new_id("msg"),
                "type": "message",
                "role": "user",
                "content": [text],
                "status": "completed",
            }
        ]
    items: list[Item] = []
    for item in req.input:
        data = item.model_dump(by_alias=True, exclude_none=True)
        if isinstance(item, MessageItem) and isinstance(item.content, str):
            kind = "output_text" if item.role == "assistant" else "input_text"
            data["content"] = [{"type": kind, "text": item.content}]
        prefix = {"message": "msg", "function_call": "fc"}.get(data["type"], "fco")
        data.setdefault("id", new_id(prefix))
        data.setdefault("status", "completed")
        items.append(data)
    return items


def _parts(content: list[Item]) -> str | list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "input_image":
            image = InputImage.model_validate(part)
            if not image.image_url:
                raise InvalidInput(
                    "input_image needs an image_url (file ids are not supported)", param="input"
                )
            parts.append(
                {"type": "image_url", "image_url": {"url": image.image_url, "detail": image.detail}}
            )
        else:
            parts.append({"type": "text", "text": InputText.model_validate(part).text})
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def to_messages(items: list[Item]) -> list[dict[str, Any]]:
    """Chat messages from items; function calls join the assistant message before them."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            message = MessageItem.model_validate(item)
            role = "system" if message.role == "developer" else message.role
            content = (
                _parts(item["content"]) if isinstance(item["content"], list) else item["content"]
            )
            if role == "assistant" and not isinstance(content, str):
                raise InvalidInput("an assistant message holds text only", param="input")
            messages.append({"role": role, "content": content})
        elif kind == "function_call":
            call = FunctionCallItem.model_validate(item)
            entry = {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(entry)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [entry]})
        elif kind == "function_call_output":
            result = FunctionCallOutputItem.model_validate(item)
            output = result.output if isinstance(result.output, str) else _text(result.output)
            messages.append({"role": "tool", "tool_call_id": result.call_id, "content": output})
        else:
            raise InvalidInput(f"input items of type '{kind}' are not supported", param="input")
    return messages


def _text(parts: list[InputText | InputImage]) -> str:
    return "".join(p.text for p in parts if isinstance(p, InputText))


def output_as_input(output: list[Item]) -> list[Item]:
    """A stored response's output, as input items for the response that continues it."""
    items: list[Item] = []
    for item in output:
        if item["type"] == "message":
            text = "".join(p.get("text", "") for p in item.get("content", []))
            items.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text}],
                }
            )
        elif item["type"] == "function_call":
            items.append({k: item[k] for k in ("type", "call_id", "name", "arguments")})
    return items


def to_chat(req: ResponsesRequest, items: list[Item]) -> ChatCompletionRequest:
    """The chat request for `items` (the whole context: earlier responses and this input)."""
    messages = to_messages(items)
    if req.instructions:  # not carried over from earlier responses, as OpenAI does
        messages.insert(0, {"role": "system", "content": req.instructions})
    body: dict[str, Any] = {
        "model": req.model,
        "messages": messages,
        "stream": req.stream,
        "parallel_tool_calls": req.parallel_tool_calls,
    }
    sampling = {
        "temperature": req.temperature,
        "top_p": req.top_p,
        "max_tokens": req.max_output_tokens,
    }
    body.update({k: v for k, v in sampling.items() if v is not None})
    body.update(hearth_extras(req.model_extra))
    fmt = req.text.format if req.text else None
    if fmt is not None and fmt.type == "json_schema":
        if fmt.schema_ is None:
            raise InvalidInput("text.format.schema is required", param="text.format")
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": fmt.name or "response",
                "schema": fmt.schema_,
                "strict": fmt.strict,
            },
        }
    elif fmt is not None and fmt.type == "json_object":
        body["response_format"] = {"type": "json_object"}
    functions = [t for t in req.tools or [] if t.type != "file_search"]  # searched by the service
    if functions:
        body["tools"] = [_function(tool.model_dump(exclude_none=True)) for tool in functions]
    choice = req.tool_choice
    if choice is not None and functions:
        body["tool_choice"] = (
            choice
            if isinstance(choice, str)
            else {"type": "function", "function": {"name": choice.name}}
        )
    return ChatCompletionRequest.model_validate(body)


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    if tool["type"] != "function":
        raise InvalidInput(
            f"tools of type '{tool['type']}' are not supported; send function or file_search tools",
            param="tools",
        )
    if not tool.get("name"):
        raise InvalidInput("a function tool needs a name", param="tools")
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def message_item(text: str, item_id: str | None = None, status: str = "completed") -> Item:
    return {
        "id": item_id or new_id("msg"),
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def call_item(
    call_id: str, name: str, arguments: str, item_id: str | None = None, status: str = "completed"
) -> Item:
    return {
        "id": item_id or new_id("fc"),
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def output_items(text: str, calls: list[tuple[str, str, str]]) -> list[Item]:
    """A whole reply's output: its text as one message (if any), then one item per call."""
    out = [message_item(text)] if text or not calls else []
    out += [call_item(call_id, name, arguments) for call_id, name, arguments in calls]
    return out


def usage_of(usage: Usage) -> dict[str, Any]:
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def ending(finish: str | None) -> tuple[str, dict[str, str] | None]:
    """The response's status and incomplete_details for a reply's finish reason."""
    if finish == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    if finish == "cancelled":
        return "cancelled", None
    return "completed", None


def passages_message(hits: list[Hit]) -> dict[str, Any]:
    """The system message that puts found passages before the question, numbered from 1."""
    numbered = [f"[{n}] {passage_text(hit)}" for n, hit in enumerate(hits, start=1)]
    return {"role": "system", "content": "\n\n".join([PASSAGES_HEADER, *numbered])}


def citations(text: str, hits: list[Hit]) -> list[dict[str, Any]]:
    """OpenAI's file_citation annotations for the [n] marks the reply wrote."""
    return [
        {"type": "file_citation", "index": index, "file_id": hits[n - 1].file_id,
         "filename": hits[n - 1].filename}
        for n, index in marks(text, len(hits))
    ]  # fmt: skip


def search_call(query: str, hits: list[Hit] | None, status: str = "completed") -> Item:
    """The file_search_call output item (its results only when the request asked to include
    them)."""
    results = None if hits is None else [
        {"file_id": h.file_id, "filename": h.filename, "score": round(h.score, 4),
         "text": h.text, "attributes": h.attributes}
        for h in hits
    ]  # fmt: skip
    return {"id": new_id("fs"), "type": "file_search_call", "status": status,
            "queries": [query], "results": results}  # fmt: skip


class StreamEvents:
    """Pieces of a reply as the Responses API's typed events, numbered in order; `output`
    holds the items as they are so far (for storing a response cut short)."""

    def __init__(self) -> None:
        self.sequence = 0
        self.output: list[Item] = []
        self._open: Item | None = None  # the item being written: always the last one

    def event(self, kind: str, **data: Any) -> tuple[str, dict[str, Any]]:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return kind, payload

    def _on_item(self, kind: str, **data: Any) -> tuple[str, dict[str, Any]]:
        """An event about the last item (its text part, for a message)."""
        item = self.output[-1]
        where: dict[str, Any] = {"item_id": item["id"], "output_index": len(self.output) - 1}
        if item["type"] == "message":
            where["content_index"] = 0
        return self.event(kind, **where, **data)

    def _whole(self, kind: str) -> tuple[str, dict[str, Any]]:
        item = json.loads(json.dumps(self.output[-1]))  # a copy: the item grows after this
        return self.event(kind, output_index=len(self.output) - 1, item=item)

    def searched(self, item: Item) -> list[tuple[str, dict[str, Any]]]:
        """A file_search_call item that is already done: its events, in OpenAI's order."""
        self.output.append(item)
        events = [self._whole("response.output_item.added")]
        for stage in ("in_progress", "searching", "completed"):
            where = {"item_id": item["id"], "output_index": len(self.output) - 1}
            events.append(self.event(f"response.file_search_call.{stage}", **where))
        events.append(self._whole("response.output_item.done"))
        return events

    def _add(self, item: Item) -> list[tuple[str, dict[str, Any]]]:
        events = self.close()
        self._open = item
        self.output.append(item)
        events.append(self._whole("response.output_item.added"))
        if item["type"] == "message":
            empty = {"type": "output_text", "text": "", "annotations": []}
            events.append(self._on_item("response.content_part.added", part=empty))
        return events

    def piece(self, piece: Piece) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        if piece.text:
            if self._open is None or self._open["type"] != "message":
                events += self._add(message_item("", status="in_progress"))
            assert self._open is not None
            self._open["content"][0]["text"] += piece.text
            events.append(self._on_item("response.output_text.delta", delta=piece.text,
                                        logprobs=[]))  # fmt: skip
        for call in piece.calls or []:
            if call.id is not None:
                events += self._add(call_item(call.id, call.name or "", "", status="in_progress"))
            if call.arguments and self._open is not None and self._open["type"] == "function_call":
                self._open["arguments"] += call.arguments
                events.append(self._on_item("response.function_call_arguments.delta",
                                            delta=call.arguments))  # fmt: skip
        return events

    def close(self) -> list[tuple[str, dict[str, Any]]]:
        item, self._open = self._open, None
        if item is None:
            return []
        events: list[tuple[str, dict[str, Any]]] = []
        item["status"] = "completed"
        if item["type"] == "message":
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": text, "annotations": []}
            events.append(self._on_item("response.output_text.done", text=text, logprobs=[]))
            events.append(self._on_item("response.content_part.done", part=part))
        else:
            item["arguments"] = item["arguments"] or "{}"
            done = {"name": item["name"], "arguments": item["arguments"]}
            events.append(self._on_item("response.function_call_arguments.done", **done))
        events.append(self._whole("response.output_item.done"))
        return events
