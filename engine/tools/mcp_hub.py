"""MCP servers as tool sources, through the official `mcp` SDK's client.

Each server runs in its own task that holds the SDK's client open (its transport's scopes must
be entered and left by one task) and takes calls from a queue. A server is started on first
use; one that dies, or whose tool overruns its time limit, is closed (a stdio server's process
ends with it), reported in its status, and started again on the next use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import HearthError, InvalidInput, NotFound
from engine.memory.database import Database
from engine.schemas import McpServerCreate, McpServerInfo, McpToolInfo

log = logging.getLogger(__name__)
SEPARATOR = "__"  # the model sees server__tool (OpenAI's names allow no dots)
START_TIMEOUT = 60.0  # starting a server (a Python one imports for seconds on a busy machine)


class ToolTimedOut(HearthError):
    status = 504
    code = "tool_timeout"


class ServerUnavailable(HearthError):
    status = 502
    code = "mcp_server_unavailable"


@dataclass
class ServerTool:
    server: str
    tool: str
    description: str | None
    parameters: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.server}{SEPARATOR}{self.tool}"


@dataclass
class _Call:
    tool: str
    arguments: dict[str, Any]
    done: asyncio.Future[str]


@dataclass
class _Connection:
    """One server's running client; `task` ends when the server does."""

    spec: McpServerCreate
    secrets: dict[str, str]
    errlog: Path
    tools: list[ServerTool] = field(default_factory=list)
    status: str = "not_started"
    error: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    calls: asyncio.Queue[_Call] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.ready.clear()
        self.status, self.error = "running", None
        self.task = asyncio.create_task(self._run(), name=f"mcp-{self.spec.name}")

    @property
    def alive(self) -> bool:
        """Running and serving (a server being closed no longer counts)."""
        return self.task is not None and not self.task.done() and self.status == "running"

    async def _run(self) -> None:
        import mcp

        try:
            async with contextlib.AsyncExitStack() as stack:
                client = await stack.enter_async_context(mcp.Client(await self._target(stack)))
                listed = await client.list_tools()
                self.tools = [
                    ServerTool(self.spec.name, t.name, t.description, dict(t.input_schema or {}))
                    for t in listed.tools
                ]
                self.ready.set()
                while True:
                    call = await self.calls.get()
                    await self._serve(client, call)
        except asyncio.CancelledError:
            self.status = "exited"
            raise
        except BaseException as exc:  # anyio may wrap _Stop, or a server's failure, in groups
            if self.status == "running":  # not already said by a failed or stopped call
                self.status, self.error = "error", _describe(exc)
                log.warning("MCP server %s stopped: %s", self.spec.name, self.error)
        finally:
            self.ready.set()
            while not self.calls.empty():
                self.calls.get_nowait().done.set_exception(
                    ServerUnavailable(f"the MCP server '{self.spec.name}' stopped")
                )

    async def _target(self, stack: contextlib.AsyncExitStack) -> Any:
        import mcp
        from mcp.client.streamable_http import (  # type: ignore[attr-defined]
            create_mcp_http_client,
            streamable_http_client,
        )

        if self.spec.command:
            log_file = stack.enter_context(self.errlog.open("a", encoding="utf-8"))
            env = {var: self.secrets[var] for var in self.spec.env_keys if var in self.secrets}
            params = mcp.StdioServerParameters(
                command=self.spec.command[0], args=self.spec.command[1:], env=env or None
            )
            from mcp.client.stdio import stdio_client

            return stdio_client(params, errlog=log_file)
        assert self.spec.url is not None
        headers = {h: self.secrets[h] for h in self.spec.header_keys if h in self.secrets}
        http = await stack.enter_async_context(create_mcp_http_client(headers=headers))
        return streamable_http_client(self.spec.url, http_client=http)

    async def _serve(self, client: Any, call: _Call) -> None:
        try:
            result = await asyncio.wait_for(
                client.call_tool(call.tool, call.arguments), self.spec.timeout_seconds
            )
        except TimeoutError:
            call.done.set_exception(
                ToolTimedOut(
                    f"the tool '{call.tool}' gave no answer in {self.spec.timeout_seconds:g} s"
                )
            )
            self.status, self.error = "exited", f"'{call.tool}' timed out; the server was stopped"
            raise _Stop from None  # a hung tool may hold the server: start it afresh
        except Exception as exc:
            call.done.set_exception(
                ServerUnavailable(f"the MCP server '{self.spec.name}' failed: {_describe(exc)}")
            )
            self.status, self.error = "exited", _describe(exc)
            raise
        call.done.set_result(_result_text(result))


class _Stop(Exception):
    """Close this server now; the next use starts it again."""


def _describe(exc: BaseException) -> str:
    """A short reason without paths or tracebacks (for statuses and errors)."""
    while getattr(exc, "exceptions", None):  # an exception group: its first member
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _result_text(result: Any) -> str:
    """A tool result as the model reads it: its text parts, or its structured content."""
    parts = [getattr(c, "text", None) for c in result.content or []]
    text = "\n".join(p for p in parts if p)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    if result.is_error:
        return f"Error: {text or 'the tool failed'}"
    return text


class McpServerStore:
    """Servers added through the API (those in engine.toml are not stored)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[McpServerCreate]:
        rows = self._db.query("SELECT config FROM mcp_servers ORDER BY created_at")
        return [McpServerCreate.model_validate_json(r["config"]) for r in rows]

    def add(self, spec: McpServerCreate) -> None:
        self._db.execute(
            "INSERT INTO mcp_servers (name, config, created_at) VALUES (?, ?, ?)",
            (spec.name, spec.model_dump_json(), time.time()),
        )

    def remove(self, name: str) -> bool:
        return self._db.execute("DELETE FROM mcp_servers WHERE name = ?", (name,)) > 0


class McpHub:
    def __init__(
        self,
        store: McpServerStore,
        configured: list[McpServerCreate],
        secret: Callable[[str], str | None],
        logs: Path,
    ) -> None:
        self._store = store
        self._configured = {s.name: s for s in configured}
        self._secret = secret
        self._logs = logs
        self._connections: dict[str, _Connection] = {}

    def specs(self) -> dict[str, tuple[McpServerCreate, str]]:
        found = {name: (spec, "config") for name, spec in self._configured.items()}
        for spec in self._store.all():
            found.setdefault(spec.name, (spec, "api"))
        return found

    def add(self, spec: McpServerCreate) -> None:
        if (spec.command is None) == (spec.url is None):
            raise InvalidInput("give either a command or a url", param="command")
        if spec.name in self.specs() or spec.name == "builtin":
            raise InvalidInput(f"an MCP server named '{spec.name}' exists", param="name")
        self._store.add(spec)

    async def remove(self, name: str) -> None:
        _spec, source = self._spec(name)
        if source == "config":
            raise InvalidInput(f"'{name}' is set in engine.toml; remove it there", param="name")
        await self.stop(name)
        self._store.remove(name)

    def _spec(self, name: str) -> tuple[McpServerCreate, str]:
        found = self.specs().get(name)
        if found is None:
            raise NotFound(f"no MCP server named '{name}'", param="name")
        return found

    async def connect(self, name: str) -> _Connection:
        """The server's running connection, started (or restarted) as needed."""
        spec, _source = self._spec(name)
        conn = self._connections.get(name)
        if conn is None or not conn.alive:
            if conn is not None:
                await self.stop(name)  # one being closed is closed first
            secrets: dict[str, str] = {}
            for var, key in {**spec.env_keys, **spec.header_keys}.items():
                value = await asyncio.get_running_loop().run_in_executor(None, self._secret, key)
                if value is not None:
                    secrets[var] = value
            self._logs.mkdir(parents=True, exist_ok=True)
            conn = _Connection(spec, secrets, self._logs / f"mcp-{name}.log")
            conn.start()
            self._connections[name] = conn
        try:
            await asyncio.wait_for(conn.ready.wait(), START_TIMEOUT)
        except TimeoutError:
            await self.stop(name)
            raise ServerUnavailable(f"the MCP server '{name}' did not start in time") from None
        if not conn.alive:
            raise ServerUnavailable(f"the MCP server '{name}' could not start: {conn.error}")
        return conn

    async def call(self, name: str, tool: str, arguments: dict[str, Any]) -> str:
        conn = await self.connect(name)
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await conn.calls.put(_Call(tool, arguments, done))
        return await done

    async def tools(self, names: list[str]) -> list[ServerTool]:
        """The tools of these servers (starting them); a server that fails is left out."""
        found: list[ServerTool] = []
        for name in names:
            try:
                found += (await self.connect(name)).tools
            except HearthError as exc:
                log.warning("MCP server %s offers no tools now: %s", name, exc.message)
        return found

    def info(self, name: str, prefs: Callable[[str], tuple[bool, bool]]) -> McpServerInfo:
        spec, source = self._spec(name)
        conn = self._connections.get(name)
        status = "not_started" if conn is None else ("running" if conn.alive else conn.status)
        tools = []
        for tool in conn.tools if conn else []:
            enabled, always = prefs(tool.name)
            tools.append(
                McpToolInfo(
                    name=tool.name, tool=tool.tool, description=tool.description,
                    parameters=tool.parameters, enabled=enabled, always_allow=always,
                )
            )  # fmt: skip
        return McpServerInfo(
            name=name, transport="stdio" if spec.command else "http", command=spec.command,
            url=spec.url, source=source, enabled=prefs(name)[0], status=status,  # type: ignore[arg-type]
            error=conn.error if conn else None, tools=tools,
        )  # fmt: skip

    async def stop(self, name: str) -> None:
        conn = self._connections.pop(name, None)
        if conn is None or conn.task is None or conn.task.done():
            return
        if conn.status == "running":
            conn.task.cancel()
        # One that stopped itself (a tool timed out) is already closing: interrupting the SDK
        # there would leave its process behind. It closes stdin, then SIGTERM, then SIGKILL.
        await asyncio.wait({conn.task}, timeout=15)

    async def close(self) -> None:
        for name in list(self._connections):
            await self.stop(name)


def configured_servers(raw: list[dict[str, Any]]) -> list[McpServerCreate]:
    """engine.toml's [[mcp_servers]] tables, checked as the API checks them."""
    return [McpServerCreate.model_validate(entry) for entry in raw]
