"""Ollama's API (`/api/*`), for the programs that speak it (Open WebUI, editor plugins, the
`ollama` package): a thin translation over the chat router and the model registry. Errors come
back as Ollama's `{"error": "..."}` (engine.api.errors)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from engine.api.routes_chat import audit_reply
from engine.api.state import State, blocking
from engine.dialects.ollama import (
    VERSION,
    OllamaChatRequest,
    OllamaGenerateRequest,
    chat_request,
    details,
    done_fields,
    generate_request,
    model_name,
    now_iso,
    tool_calls,
)
from engine.errors import HearthError, InvalidInput
from engine.registry.model_registry import ModelEntry
from engine.remote.router import RoutedReply

router = APIRouter(prefix="/api")


class ModelRef(BaseModel):
    model: str | None = None
    name: str | None = None  # older clients

    def id(self) -> str:
        given = self.model or self.name
        if not given:
            raise InvalidInput("model is required", param="model")
        return model_name(given)


@router.get("/version")
async def version() -> dict[str, str]:
    return {"version": VERSION}


def _listed(entry: ModelEntry) -> dict[str, Any]:
    quantization = entry.catalog.quantization if entry.catalog else None
    return {
        "name": f"{entry.id}:latest", "model": f"{entry.id}:latest",
        "modified_at": datetime.fromtimestamp(entry.created, timezone.utc).isoformat(),
        "size": entry.size_bytes,
        "digest": hashlib.sha256(f"{entry.id}:{entry.size_bytes}".encode()).hexdigest(),
        "details": details(quantization, None, None),
    }  # fmt: skip


@router.get("/tags")
async def tags(state: State) -> dict[str, Any]:
    entries = await blocking(state.registry.entries)
    return {"models": [_listed(e) for e in entries.values() if e.kind == "chat"]}


@router.get("/ps")
async def running(state: State) -> dict[str, Any]:
    models = []
    for loaded in state.pool.loaded().values():
        listed = _listed(loaded.entry)
        listed.update(expires_at=now_iso(), size_vram=0)
        models.append(listed)
    return {"models": models}


@router.post("/show")
async def show(body: ModelRef, state: State) -> dict[str, Any]:
    entry = await blocking(state.registry.resolve, body.id())
    info = await blocking(state.pool.inspect, entry)
    template = info.chat_template or ""
    capabilities = ["completion"]
    if entry.projector is not None:
        capabilities.append("vision")
    if "tools" in template:
        capabilities.append("tools")
    arch = info.architecture or ""
    return {
        "modelfile": "", "parameters": "", "template": template,
        "details": details(info.quantization, info.parameter_count, arch),
        "model_info": {"general.architecture": arch,
                       "general.parameter_count": info.parameter_count,
                       f"{arch}.context_length": info.context_length},
        "capabilities": capabilities,
        "modified_at": datetime.fromtimestamp(entry.created, timezone.utc).isoformat(),
    }  # fmt: skip


class PullBody(ModelRef):
    stream: bool = True
    insecure: bool = False


@router.post("/pull", response_model=None)
async def pull(body: PullBody, state: State) -> Response:
    """A catalog model, downloaded through the model manager (resumable, checked), with
    progress in Ollama's shape."""
    model_id, files = state.models.plan(body.id(), None, None)
    stream = state.models.pull(files)

    async def lines() -> AsyncIterator[str]:
        try:
            yield json.dumps({"status": "pulling manifest"}) + "\n"
            async for p in stream.items():
                yield json.dumps({"status": f"pulling {p.file}", "digest": p.file,
                                  "total": p.total, "completed": p.completed}) + "\n"  # fmt: skip
            await stream.future
            yield json.dumps({"status": "verifying sha256 digest"}) + "\n"
            yield json.dumps({"status": "success"}) + "\n"
        except HearthError as exc:
            yield json.dumps({"error": exc.message}) + "\n"
        finally:
            stream.cancel()  # a client that goes away cancels; the partial file stays

    if body.stream:
        return StreamingResponse(lines(), media_type="application/x-ndjson")
    async for _progress in stream.items():
        pass
    await stream.future
    return JSONResponse({"status": "success", "model": model_id})


@router.delete("/delete")
async def delete(body: ModelRef, state: State) -> Response:
    await blocking(state.models.remove, body.id())
    return Response(status_code=200)


class EmbedRequest(BaseModel):
    model: str
    input: str | list[str] = Field(min_length=1)
    truncate: bool = True  # Ollama's default
    dimensions: int | None = None
    keep_alive: str | int | float | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class OldEmbeddingsRequest(BaseModel):
    model: str
    prompt: str = Field(min_length=1)


@router.post("/embed")
async def embed(body: EmbedRequest, state: State) -> dict[str, Any]:
    started = time.monotonic()
    texts = [body.input] if isinstance(body.input, str) else body.input
    done = await state.embeddings.embed(
        model_name(body.model), texts, truncate=body.truncate, endpoint="/api/embed"
    )
    if body.dimensions is not None and body.dimensions != len(done.vectors[0]):
        raise InvalidInput(f"{done.model_id} cannot shorten its vectors", param="dimensions")
    return {"model": body.model, "embeddings": done.vectors,
            "total_duration": int((time.monotonic() - started) * 1e9), "load_duration": 0,
            "prompt_eval_count": done.tokens}  # fmt: skip


@router.post("/embeddings")
async def embeddings(body: OldEmbeddingsRequest, state: State) -> dict[str, Any]:
    done = await state.embeddings.embed(
        model_name(body.model), [body.prompt], truncate=True, endpoint="/api/embeddings"
    )
    return {"embedding": done.vectors[0]}


class CopyRequest(BaseModel):
    source: str
    destination: str


@router.post("/copy")
async def copy(body: CopyRequest, state: State) -> Response:
    await blocking(state.registry.copy, model_name(body.source), model_name(body.destination))
    return Response(status_code=200)


@router.post("/chat", response_model=None)
async def chat(body: OllamaChatRequest, state: State, request: Request) -> Response:
    req = chat_request(body)
    return await _answer(state, request, req, body.model, body.stream, chat=True)


@router.post("/generate", response_model=None)
async def generate(body: OllamaGenerateRequest, state: State, request: Request) -> Response:
    if not body.prompt and not body.images:  # a load request: Ollama answers at once
        await state.generation.preload(model_name(body.model))
        return JSONResponse({"model": body.model, "created_at": now_iso(), "response": "",
                             "done": True, "done_reason": "load"})  # fmt: skip
    req = generate_request(body)
    return await _answer(state, request, req, body.model, body.stream, chat=False)


async def _answer(
    state: State, request: Request, req: Any, name: str, stream: bool, *, chat: bool
) -> Response:
    started = time.monotonic()
    req.stream = stream
    gen = await state.router.start_chat(req, "/api/chat" if chat else "/api/generate")
    if stream:
        lines = _lines(gen, request, name, started, chat)
        return StreamingResponse(lines, media_type="application/x-ndjson")
    text, finish = await gen.collect()
    audit_reply(request, gen)
    usage = gen.usage()
    reply = _said(name, text, chat, tool_calls(gen.tool_calls()))
    reply.update(done_fields(finish, started, gen.first_token, usage.prompt_tokens,
                             usage.completion_tokens))  # fmt: skip
    return JSONResponse(reply)


def _said(name: str, text: str, chat: bool, calls: list[dict[str, Any]]) -> dict[str, Any]:
    base: dict[str, Any] = {"model": name, "created_at": now_iso()}
    if not chat:
        return {**base, "response": text, "done": False}
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    return {**base, "message": message, "done": False}


async def _lines(
    gen: RoutedReply, request: Request, name: str, started: float, chat: bool
) -> AsyncIterator[str]:
    finish = None
    try:
        async for piece in gen.pieces():
            finish = piece.finish_reason or finish
            if piece.text:
                yield json.dumps(_said(name, piece.text, chat, []), ensure_ascii=False) + "\n"
        calls = tool_calls(gen.tool_calls())
        usage = gen.usage()
        last = _said(name, "", chat, calls)
        last.update(done_fields(finish, started, gen.first_token, usage.prompt_tokens,
                                usage.completion_tokens))  # fmt: skip
        yield json.dumps(last, ensure_ascii=False) + "\n"
    except HearthError as exc:
        yield json.dumps({"error": exc.message}) + "\n"
    finally:
        gen.cancel()
        audit_reply(request, gen)
