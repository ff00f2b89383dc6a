"""Tools the engine runs for stored conversations: MCP servers (add, list with status and
tools, switch servers and tools on and off, always allow a tool, remove), every tool offered,
and the audit of calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from engine.api.state import State, blocking
from engine.schemas import McpServerCreate, McpServerInfo, McpServerUpdate

router = APIRouter()
ServerName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]


@router.get("/v1/mcp/servers")
async def list_servers(state: State) -> dict[str, Any]:
    """Servers with their status; the tools of those that are running (or have run)."""
    names = list(await blocking(state.tools.hub.specs))
    infos = [await blocking(state.tools.hub.info, n, state.tools.prefs.get) for n in names]
    return {"object": "list", "data": infos}


@router.post("/v1/mcp/servers", status_code=201)
async def add_server(body: McpServerCreate, state: State) -> McpServerInfo:
    """Add a server and start it, so that its tools (or why it failed) show at once."""
    await blocking(state.tools.hub.add, body)
    await state.tools.hub.tools([body.name])
    return await blocking(state.tools.hub.info, body.name, state.tools.prefs.get)


@router.get("/v1/mcp/servers/{name}")
async def get_server(name: ServerName, state: State, start: bool = False) -> McpServerInfo:
    if start:
        await state.tools.hub.tools([name])
    return await blocking(state.tools.hub.info, name, state.tools.prefs.get)


@router.patch("/v1/mcp/servers/{name}")
async def update_server(name: ServerName, body: McpServerUpdate, state: State) -> McpServerInfo:
    return await state.tools.update_server(name, body)


@router.delete("/v1/mcp/servers/{name}")
async def remove_server(name: ServerName, state: State) -> dict[str, Any]:
    await state.tools.hub.remove(name)
    return {"object": "mcp.server.deleted", "name": name, "deleted": True}


@router.get("/v1/tools")
async def offered_tools(state: State) -> dict[str, Any]:
    """Every tool a conversation with tools switched on is offered now (OpenAI's shape)."""
    return {"object": "list", "data": await state.tools.offered()}


@router.get("/v1/tools/audit")
async def tool_audit(state: State, limit: int = 100) -> dict[str, Any]:
    rows = await blocking(state.tools.audit.recent, max(1, min(limit, 1000)))
    return {"object": "list", "data": rows}
