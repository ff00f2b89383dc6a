"""The tools a stored conversation may use, and running them: built-ins and MCP servers' tools,
the user's approval for each call (unless the tool is always allowed), a result size cap, and an
audit row per call (name, server, a digest of the arguments, outcome; never the arguments)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.errors import HearthError, InvalidInput, NotFound
from engine.memory.database import Database
from engine.memory.memories import MemoryStore
from engine.schemas import McpServerInfo, McpServerUpdate, ToolRun
from engine.tools.builtin import SERVER as BUILTIN
from engine.tools.builtin import Builtin, ToolFailed, builtin_tools
from engine.tools.mcp_hub import SEPARATOR, McpHub, ServerTool

T = TypeVar("T")


class ToolPrefs:
    """Per tool (server__tool) or per server: switched on or off, always allowed or not."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> dict[str, tuple[bool, bool]]:
        rows = self._db.query("SELECT * FROM tool_prefs")
        return {r["name"]: (bool(r["enabled"]), bool(r["always_allow"])) for r in rows}

    def get(self, name: str) -> tuple[bool, bool]:
        rows = self._db.query("SELECT * FROM tool_prefs WHERE name = ?", (name,))
        return (bool(rows[0]["enabled"]), bool(rows[0]["always_allow"])) if rows else (True, False)

    def set(self, name: str, enabled: bool | None = None, always_allow: bool | None = None) -> None:
        old_enabled, old_always = self.get(name)
        self._db.execute(
            "INSERT OR REPLACE INTO tool_prefs (name, enabled, always_allow) VALUES (?, ?, ?)",
            (
                name,
                int(old_enabled if enabled is None else enabled),
                int(old_always if always_allow is None else always_allow),
            ),
        )


class ToolAudit:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, conv_id: str | None, run: ToolRun, outcome: str, ms: float | None) -> None:
        digest = hashlib.sha256(run.arguments.encode()).hexdigest()
        self._db.execute(
            "INSERT INTO tool_audit (at, conversation_id, call_id, tool, server, "
            "arguments_sha256, outcome, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), conv_id, run.id, run.name, run.server, digest, outcome, ms),
        )

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._db.query("SELECT * FROM tool_audit ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]


@dataclass
class _Pending:
    conv_id: str
    run: ToolRun
    decided: asyncio.Future[str]


class ToolRunner:
    def __init__(
        self,
        hub: McpHub,
        memories: MemoryStore,
        db: Database,
        executor: Executor,
        result_max_chars: int,
        approval_timeout: float,
        now: Callable[[], dt.datetime] = dt.datetime.now,
    ) -> None:
        self.hub = hub
        self.prefs = ToolPrefs(db)
        self.audit = ToolAudit(db)
        self._builtins = {b.name: b for b in builtin_tools(memories, now)}
        self._executor = executor
        self._max_chars = result_max_chars
        self._approval_timeout = approval_timeout
        self._pending: dict[str, _Pending] = {}
        self._server_tools: dict[str, ServerTool] = {}

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def offered(self) -> list[dict[str, Any]]:
        """OpenAI tool definitions: the built-ins, and the tools of enabled MCP servers that
        are switched on (their servers are started to list them)."""
        definitions = [b.definition() for b in self._builtins.values()]
        prefs = await self._run(self.prefs.all)  # one read for every server and tool

        def enabled(name: str) -> bool:
            return prefs.get(name, (True, False))[0]

        servers = [n for n in await self._run(self.hub.specs) if enabled(n)]
        for tool in await self.hub.tools(servers):
            if not enabled(tool.name):
                continue
            self._server_tools[tool.name] = tool
            params = tool.parameters or {"type": "object", "properties": {}}
            params = {k: v for k, v in params.items() if k not in ("title", "$schema")}
            definitions.append(
                {"type": "function", "function": {"name": tool.name, "parameters": params,
                                                  "description": tool.description or ""}}
            )  # fmt: skip
        return definitions

    async def update_server(self, name: str, change: McpServerUpdate) -> McpServerInfo:
        """Switch a server, or single tools of it, on and off; mark tools always allowed."""
        await self._run(self.hub.info, name, self.prefs.get)  # 404 for an unknown server
        if change.enabled is not None:
            await self._run(self.prefs.set, name, change.enabled, None)
            if not change.enabled:
                await self.hub.stop(name)
        for tool, wanted in change.tools.items():
            qualified = (
                tool if tool.startswith(f"{name}{SEPARATOR}") else f"{name}{SEPARATOR}{tool}"
            )
            await self._run(self.prefs.set, qualified, wanted.enabled, wanted.always_allow)
        return await self._run(self.hub.info, name, self.prefs.get)

    def server_of(self, name: str) -> str:
        return BUILTIN if name in self._builtins else name.split(SEPARATOR, 1)[0]

    async def needs_approval(self, name: str) -> bool:
        return name not in self._builtins and not (await self._run(self.prefs.get, name))[1]

    # -- approval ------------------------------------------------------------------------------
    async def wait_for_decision(self, conv_id: str, run: ToolRun) -> str:
        """ "approve", "always" or "deny", as answered through the API (denied when nobody
        answers in time)."""
        decided: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[run.id] = _Pending(conv_id, run, decided)
        try:
            return await asyncio.wait_for(decided, self._approval_timeout)
        except TimeoutError:
            return "deny"
        finally:
            self._pending.pop(run.id, None)

    async def decide(self, conv_id: str, call_id: str, action: str) -> ToolRun:
        pending = self._pending.get(call_id)
        if pending is None or pending.conv_id != conv_id:
            raise NotFound(f"no call '{call_id}' is waiting for approval in this conversation")
        if action == "always":
            await self._run(self.prefs.set, pending.run.name, None, True)
        if not pending.decided.done():
            pending.decided.set_result(action)
        return pending.run.model_copy(
            update={"status": "denied" if action == "deny" else "running"}
        )

    def waiting(self, conv_id: str) -> list[ToolRun]:
        return [p.run for p in self._pending.values() if p.conv_id == conv_id]

    # -- running -------------------------------------------------------------------------------
    async def execute(self, conv_id: str | None, run: ToolRun) -> ToolRun:
        """Run the call; the result (or the reason it failed) goes back to the model, cut to
        the size cap, and the call is audited."""
        started = time.monotonic()
        try:
            arguments = json.loads(run.arguments or "{}")
            if not isinstance(arguments, dict):
                raise InvalidInput("the arguments are not a JSON object")
            if run.name in self._builtins:
                builtin: Builtin = self._builtins[run.name]
                text = await self._run(builtin.run, arguments)
            else:
                tool = self._server_tools.get(run.name)
                if tool is None:
                    raise NotFound(f"no tool named '{run.name}' is offered")
                text = await self.hub.call(tool.server, tool.tool, arguments)
            status, outcome = "done", "ok"
        except (ValueError, ToolFailed) as exc:
            text, status, outcome = f"Error: {exc}", "failed", "bad_arguments"
        except HearthError as exc:
            text, status, outcome = f"Error: {exc.message}", "failed", exc.code
        if len(text) > self._max_chars:
            cut = len(text) - self._max_chars
            text = text[: self._max_chars] + f"\n[... {cut} more characters left out]"
        ms = round((time.monotonic() - started) * 1000, 1)
        done = run.model_copy(update={"status": status, "result": text})
        await self._run(self.audit.record, conv_id, done, outcome, ms)
        return done

    async def deny(self, conv_id: str | None, run: ToolRun) -> ToolRun:
        done = run.model_copy(
            update={"status": "denied", "result": "The user did not allow this call."}
        )
        await self._run(self.audit.record, conv_id, done, "denied", None)
        return done
