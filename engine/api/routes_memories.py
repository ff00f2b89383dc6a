"""Long-term memories: POST/GET /v1/memories, GET/PATCH/DELETE /v1/memories/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from engine.api.state import State, blocking
from engine.schemas import Memory, MemoryList, MemoryWrite

router = APIRouter(prefix="/v1/memories")


@router.post("", status_code=201)
async def add_memory(body: MemoryWrite, state: State) -> Memory:
    return await blocking(state.memories.add, body.content)


@router.get("")
async def list_memories(state: State, q: str | None = None) -> MemoryList:
    if not q:
        return MemoryList(data=await blocking(state.memories.all))
    # By words and by meaning; a substring scan when a query is too short for either.
    found = await state.memory_recall.recall(q, 50) or await blocking(state.memories.search, q)
    return MemoryList(data=found)


@router.get("/{memory_id}")
async def get_memory(memory_id: int, state: State) -> Memory:
    return await blocking(state.memories.get, memory_id)


@router.patch("/{memory_id}")
async def edit_memory(memory_id: int, body: MemoryWrite, state: State) -> Memory:
    return await blocking(state.memories.update, memory_id, body.content)


@router.delete("/{memory_id}")
async def delete_memory(memory_id: int, state: State) -> dict[str, Any]:
    await blocking(state.memories.delete, memory_id)
    return {"id": memory_id, "object": "memory.deleted", "deleted": True}
