"""Conversations (a Hearth extension): CRUD, search, export, and sending a message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from starlette.responses import JSONResponse, Response

from engine.api.sse import DONE, error_event, event, sse_response
from engine.api.state import State, blocking
from engine.errors import HearthError
from engine.memory.conversations import export_markdown
from engine.schemas import (
    AssistantMessage,
    ChatChoice,
    ChunkChoice,
    ChunkDelta,
    Conversation,
    ConversationChunk,
    ConversationCreate,
    ConversationList,
    ConversationReply,
    ConversationUpdate,
    RecordMessages,
    SendMessage,
    ToolDecision,
    ToolRun,
)
from engine.services.conversations import ConversationTurn

# Ids are checked before use: never anything shaped like a path.
ConversationId = Annotated[str, Path(pattern=r"^conv-[0-9a-f]{32}$")]
router = APIRouter(prefix="/v1/conversations")


@router.post("", status_code=201)
async def create_conversation(body: ConversationCreate, state: State) -> Conversation:
    await _collections_exist(state, body.vector_store_ids)
    return await blocking(state.conversations.create, body)


async def _collections_exist(state: State, store_ids: list[str] | None) -> None:
    for store_id in store_ids or []:
        await blocking(state.knowledge_store.get, store_id)  # 404 names the missing one


@router.get("")
async def list_conversations(
    state: State, q: str | None = None, limit: int = 100
) -> ConversationList:
    found = await blocking(state.conversations.find, q, max(1, min(limit, 1000)))
    return ConversationList(data=found)


@router.get("/{conv_id}")
async def get_conversation(conv_id: ConversationId, state: State) -> Conversation:
    return await blocking(state.conversations.get, conv_id, True)


@router.patch("/{conv_id}")
async def update_conversation(
    conv_id: ConversationId, body: ConversationUpdate, state: State
) -> Conversation:
    await _collections_exist(state, body.vector_store_ids)
    return await blocking(state.conversations.update, conv_id, body)


@router.delete("/{conv_id}")
async def delete_conversation(conv_id: ConversationId, state: State) -> dict[str, Any]:
    await blocking(state.conversations.delete, conv_id)
    return {"id": conv_id, "object": "conversation.deleted", "deleted": True}


@router.get("/{conv_id}/export")
async def export_conversation(
    conv_id: ConversationId, state: State, format: Literal["md", "json"] = "md"
) -> Response:
    conv = await blocking(state.conversations.get, conv_id, True)
    filename = f"{conv_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "json":
        return JSONResponse(conv.model_dump(), headers=headers)
    return Response(
        export_markdown(conv), media_type="text/markdown; charset=utf-8", headers=headers
    )


@router.post("/{conv_id}/messages", response_model=None)
async def send_message(
    conv_id: ConversationId, body: SendMessage, state: State
) -> Response | ConversationReply:
    turn = await state.conversation_service.send(conv_id, body)
    if body.stream:
        return sse_response(_events(turn, state))
    pieces = [piece async for piece in state.conversation_service.reply(turn)]
    text = "".join(piece for piece in pieces if isinstance(piece, str))
    gen = turn.generation
    return ConversationReply(
        id=gen.id,
        created=gen.created,
        model=gen.model_id,
        choices=[
            ChatChoice(
                message=AssistantMessage(content=text), finish_reason=turn.finish_reason or "stop"
            )
        ],
        usage=gen.usage(),
        conversation_id=turn.conversation_id,
        message_id=turn.reply_id,
        context=turn.report,
        tool_runs=turn.runs,
    )


@router.post("/{conv_id}/tool_calls/{call_id}")
async def decide_tool_call(
    conv_id: ConversationId,
    call_id: Annotated[str, Path(pattern=r"^call_[0-9a-f]{1,64}$")],
    body: ToolDecision,
    state: State,
) -> ToolRun:
    """Approve or deny a call waiting in a conversation ("always": approve, and never ask for
    this tool again). The desktop and any other client may answer."""
    return await state.tools.decide(conv_id, call_id, body.action)


@router.get("/{conv_id}/tool_calls")
async def waiting_tool_calls(conv_id: ConversationId, state: State) -> dict[str, Any]:
    return {"object": "list", "data": state.tools.waiting(conv_id)}


@router.post("/{conv_id}/records", status_code=201)
async def record_messages(
    conv_id: ConversationId, body: RecordMessages, state: State
) -> dict[str, Any]:
    """Keep turns that were answered through /v1/chat/completions (remote models, images)."""
    ids = await state.conversation_service.record(conv_id, body.messages)
    return {"object": "list", "conversation_id": conv_id, "message_ids": ids}


@router.delete("/{conv_id}/messages/{message_id}")
async def truncate_conversation(
    conv_id: ConversationId, message_id: Annotated[int, Path(ge=1)], state: State
) -> dict[str, Any]:
    """Delete this message and all after it: how regenerate and edit-and-resend start."""
    deleted = await blocking(state.conversations.truncate, conv_id, message_id)
    return {"object": "conversation.truncated", "id": conv_id, "deleted": deleted}


async def _events(turn: ConversationTurn, state: State) -> AsyncIterator[str]:
    gen = turn.generation

    def chunk(delta: ChunkDelta, finish: str | None = None, **extra: Any) -> ConversationChunk:
        return ConversationChunk(
            id=gen.id,
            created=gen.created,
            model=gen.model_id,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)] if delta or finish else [],
            conversation_id=turn.conversation_id,
            **extra,
        )

    try:
        yield event(chunk(ChunkDelta(role="assistant", content=""), context=turn.report))
        async for piece in state.conversation_service.reply(turn):
            if isinstance(piece, ToolRun):
                yield event(chunk(ChunkDelta(), tool_call=piece))
            else:
                yield event(chunk(ChunkDelta(content=piece)))
        finish = turn.finish_reason if turn.finish_reason in ("stop", "length") else "stop"
        yield event(chunk(ChunkDelta(), finish, message_id=turn.reply_id))
        yield event(
            ConversationChunk(
                id=gen.id, created=gen.created, model=gen.model_id, choices=[],
                usage=gen.usage(), conversation_id=turn.conversation_id,
                message_id=turn.reply_id, context=turn.report,
            )
        )  # fmt: skip
    except HearthError as exc:
        yield error_event(exc)
    yield DONE
