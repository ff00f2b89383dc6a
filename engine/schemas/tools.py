"""OpenAI's function calling: tools a request offers, how it lets the model choose, and the
calls in replies (whole, or streamed as deltas)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class FunctionDefinition(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    description: str | None = Field(default=None, max_length=8192)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class Tool(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class ToolCallFunction(BaseModel):
    name: str
    arguments: str  # JSON, as OpenAI sends it


class ToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ToolCallDeltaFunction(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ToolCallDeltaFunction


# -- tools the engine runs itself (stored conversations) ---------------------------------------
class ToolRun(BaseModel):
    """A call the engine runs for a conversation, as it moves from asked to done."""

    object: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: str
    server: str  # "builtin" or the MCP server's name
    status: Literal["pending", "running", "done", "denied", "failed"]
    result: str | None = None  # what went back to the model (size-capped)


class ToolDecision(BaseModel):
    action: Literal["approve", "deny", "always"]  # always: approve, and never ask for this tool


class McpServerCreate(BaseModel):
    """An MCP server: a command to start (stdio) or a URL (streamable HTTP). Secrets are named,
    not given: `env_keys` and `header_keys` map a variable or header to a key-store name."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    command: list[str] | None = Field(default=None, min_length=1)
    url: str | None = Field(default=None, pattern=r"^https?://")
    env_keys: dict[str, str] = Field(default_factory=dict)
    header_keys: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)


class McpToolUpdate(BaseModel):
    enabled: bool | None = None
    always_allow: bool | None = None


class McpServerUpdate(BaseModel):
    enabled: bool | None = None
    tools: dict[str, McpToolUpdate] = Field(default_factory=dict)


class McpToolInfo(BaseModel):
    name: str  # as the model sees it: server__tool
    tool: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    always_allow: bool = False


class McpServerInfo(BaseModel):
    object: Literal["mcp.server"] = "mcp.server"
    name: str
    transport: Literal["stdio", "http"]
    command: list[str] | None = None
    url: str | None = None
    source: Literal["api", "config"]
    enabled: bool = True
    status: Literal["not_started", "running", "exited", "error"]
    error: str | None = None
    tools: list[McpToolInfo] = Field(default_factory=list)
