"""Ollama's `/api/*` over the chat service: its chat and generate requests become chat
requests (`options` mapped to sampling parameters, `format` to JSON mode or a schema, base64
images to image parts, tools as functions), and replies come back in its shape (NDJSON when
streamed, durations in nanoseconds, tool calls with their arguments as objects)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.errors import InvalidInput
from engine.schemas import ChatCompletionRequest, ToolCall

VERSION = "0.12.0"  # the Ollama API version Hearth answers as (clients check for features)

# Ollama's options -> chat parameters (the rest, e.g. num_ctx or num_gpu, are the engine's own
# settings and are ignored per request, as documented).
_OPTIONS = {
    "temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "min_p": "min_p",
    "num_predict": "max_tokens", "stop": "stop", "seed": "seed",
    "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty",
    "cache_prompt": "cache_prompt",  # llama.cpp's: off, a reply does not depend on earlier ones
}  # fmt: skip


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class OllamaMessage(_Open):
    role: str
    content: str = ""
    images: list[str] | None = None  # base64, no data: prefix
    tool_calls: list[dict[str, Any]] | None = None
    tool_name: str | None = None


class OllamaChatRequest(_Open):
    model: str
    messages: list[OllamaMessage] = Field(default_factory=list)
    stream: bool = True
    format: str | dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    keep_alive: str | int | float | None = None
    tools: list[dict[str, Any]] | None = None
    think: bool | str | None = None


class OllamaGenerateRequest(_Open):
    model: str
    prompt: str = ""
    system: str | None = None
    images: list[str] | None = None
    stream: bool = True
    format: str | dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    keep_alive: str | int | float | None = None
    raw: bool = False


def model_name(name: str) -> str:
    """Ollama's names carry a tag (`name:latest`); Hearth's ids do not."""
    return name[: -len(":latest")] if name.endswith(":latest") else name


def _sampling(options: dict[str, Any], fmt: str | dict[str, Any] | None) -> dict[str, Any]:
    body = {_OPTIONS[k]: v for k, v in options.items() if k in _OPTIONS and v is not None}
    if isinstance(body.get("stop"), list) and len(body["stop"]) > 4:
        body["stop"] = body["stop"][:4]
    if fmt == "json":
        body["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict):
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "format", "schema": fmt}}  # fmt: skip
    elif fmt not in (None, ""):
        raise InvalidInput('format must be "json" or a JSON schema', param="format")
    return body


def _parts(text: str, images: list[str] | None) -> str | list[dict[str, Any]]:
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    parts += [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}
              for data in images]  # fmt: skip
    return parts


def chat_request(req: OllamaChatRequest) -> ChatCompletionRequest:
    messages: list[dict[str, Any]] = []
    calls_by_name: dict[str, str] = {}
    for i, m in enumerate(req.messages):
        if m.role == "assistant" and m.tool_calls:
            calls = []
            for j, call in enumerate(m.tool_calls):
                function = call.get("function") or {}
                call_id = f"call_{i}_{j}"
                calls_by_name[str(function.get("name"))] = call_id
                calls.append({"id": call_id, "type": "function", "function": {
                    "name": function.get("name", ""),
                    "arguments": json.dumps(function.get("arguments") or {})}})  # fmt: skip
            messages.append({"role": "assistant", "content": m.content or None,
                             "tool_calls": calls})  # fmt: skip
        elif m.role == "tool":
            call_id = calls_by_name.get(m.tool_name or "", next(iter(calls_by_name.values()), ""))
            messages.append({"role": "tool", "tool_call_id": call_id or "call_0_0",
                             "content": m.content})  # fmt: skip
        else:
            messages.append({"role": m.role, "content": _parts(m.content, m.images)})
    body: dict[str, Any] = {"model": model_name(req.model), "messages": messages,
                            **_sampling(req.options, req.format)}  # fmt: skip
    if req.tools:
        body["tools"] = req.tools
    return ChatCompletionRequest.model_validate(body)


def generate_request(req: OllamaGenerateRequest) -> ChatCompletionRequest:
    messages: list[dict[str, Any]] = []
    if req.system:
        messages.append({"role": "system", "content": req.system})
    messages.append({"role": "user", "content": _parts(req.prompt, req.images)})
    body = {"model": model_name(req.model), "messages": messages,
            **_sampling(req.options, req.format)}  # fmt: skip
    return ChatCompletionRequest.model_validate(body)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def tool_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    out = []
    for call in calls:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError:
            arguments = {}
        out.append({"function": {"name": call.function.name, "arguments": arguments}})
    return out


def done_fields(
    finish: str | None, started: float, first: float | None, prompt: int, completion: int
) -> dict[str, Any]:
    """The closing object's counts and durations (nanoseconds, as Ollama reports them)."""
    end = time.monotonic()
    first = first or end
    return {
        "done": True,
        "done_reason": "length" if finish == "length" else "stop",
        "total_duration": int((end - started) * 1e9),
        "load_duration": 0,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": int((first - started) * 1e9),
        "eval_count": completion,
        "eval_duration": int((end - first) * 1e9),
    }


def details(quantization: str | None, parameters: int | None, family: str | None) -> dict[str, Any]:
    size = None
    if parameters:
        size = f"{parameters / 1e9:.1f}B" if parameters >= 1e9 else f"{parameters / 1e6:.0f}M"
    return {"parent_model": "", "format": "gguf", "family": family or "",
            "families": [family] if family else None, "parameter_size": size or "",
            "quantization_level": quantization or ""}  # fmt: skip
