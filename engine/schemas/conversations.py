"""Hearth's stored conversations and memories."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.schemas.chat import ChatCompletion, ChatCompletionChunk, SamplingFields
from engine.schemas.tools import NamedToolChoice, ToolRun

OverflowPolicy = Literal["summarize", "rolling_window", "stop"]


class Citation(BaseModel):
    """A passage of the user's files given to the model for a reply, numbered as the model saw
    it ([n]), with where it is: a PDF's page, a recording's time, a section's heading."""

    n: int
    vector_store_id: str
    file_id: str
    filename: str
    text: str
    score: float
    page: int | None = None
    start_seconds: float | None = None
    heading: str | None = None


class ConversationMessage(BaseModel):
    id: int
    role: str
    content: str
    token_count: int | None = None
    model: str | None = None
    provider: str | None = None
    finish_reason: str | None = None
    interrupted: bool = False
    timings: dict[str, float] | None = None
    tool_calls: list[dict[str, Any]] | None = None  # an assistant's calls (OpenAI's shape)
    tool_call_id: str | None = None  # a tool message's call
    citations: list[Citation] | None = None  # an answer's passages from attached collections
    created_at: float


class Conversation(BaseModel):
    id: str
    object: Literal["conversation"] = "conversation"
    title: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    overflow_policy: OverflowPolicy = "summarize"
    vector_store_ids: list[str] = Field(default_factory=list)  # collections each turn searches
    created_at: float
    updated_at: float
    summary: str | None = None
    messages: list[ConversationMessage] | None = None


class ConversationList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Conversation]


class NewMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class RecordedMessage(NewMessage):
    """A turn answered elsewhere (a remote model, an image turn) kept in the conversation."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(max_length=1_000_000)
    model: str | None = Field(default=None, max_length=256)
    provider: str | None = Field(default=None, max_length=128)
    token_count: int | None = Field(default=None, ge=0)
    finish_reason: str | None = Field(default=None, max_length=32)
    interrupted: bool = False
    timings: dict[str, float] | None = None


class RecordMessages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[RecordedMessage] = Field(min_length=1, max_length=100)


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=500)
    model: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    overflow_policy: OverflowPolicy = "summarize"
    vector_store_ids: list[str] = Field(default_factory=list, max_length=16)
    messages: list[NewMessage] = Field(default_factory=list, max_length=10_000)


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=500)
    model: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] | None = None
    overflow_policy: OverflowPolicy | None = None
    vector_store_ids: list[str] | None = Field(default=None, max_length=16)


class SendMessage(SamplingFields):
    """A user turn in a stored conversation, with optional chat parameters for this reply."""

    content: str = Field(min_length=1)
    remember: bool | None = None  # save "remember that ..." requests as memories
    tools: bool = False  # offer the built-in tools and the enabled MCP servers' tools
    tool_choice: Literal["auto", "required"] | NamedToolChoice = "auto"  # the first step's
    max_tool_steps: int = Field(default=5, ge=1, le=20)  # model turns with calls, at most


class ContextReport(BaseModel):
    """What the context builder did for a reply: nothing is left out silently."""

    policy: OverflowPolicy
    prompt_tokens: int
    context_window: int
    messages_total: int
    messages_included: int
    messages_left_out: int
    summary_used: bool
    summarized_messages: int
    memories_used: list[int] = Field(default_factory=list)
    memory_saved: int | None = None
    passages: list[Citation] = Field(default_factory=list)  # from attached collections


class ConversationReply(ChatCompletion):
    """A reply in a stored conversation: a chat completion plus what the context held."""

    conversation_id: str
    message_id: int | None = None
    context: ContextReport
    tool_runs: list[ToolRun] = Field(default_factory=list)  # calls the engine ran on the way


class ConversationChunk(ChatCompletionChunk):
    """A streamed chunk of such a reply; the first and last carry the Hearth fields."""

    conversation_id: str
    message_id: int | None = None
    context: ContextReport | None = None
    tool_call: ToolRun | None = None  # a call the engine runs, each time its status changes


class Memory(BaseModel):
    id: int
    object: Literal["memory"] = "memory"
    content: str
    source: str = "api"
    created_at: float
    updated_at: float


class MemoryList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Memory]


class MemoryWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=2000)
