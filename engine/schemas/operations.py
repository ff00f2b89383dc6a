"""Background jobs, remote providers and the engine's live settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.schemas.chat import RoutePolicy

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]

TERMINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled")


class Job(BaseModel):
    """Long work done in the background (a transcription), with its progress and result."""

    id: str
    object: Literal["job"] = "job"
    kind: str
    status: JobStatus
    progress: float = 0.0
    done_seconds: float = 0.0
    total_seconds: float | None = None
    input_name: str | None = None
    response_format: str = "json"
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    result: Any = None


class JobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Job]


class Provider(BaseModel):
    """A remote OpenAI-compatible service Hearth may route to."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    base_url: str = Field(pattern=r"^https?://")
    models: list[str] = Field(default_factory=list)
    key_name: str | None = None  # its API key's name in the key store
    price_in: float | None = Field(default=None, ge=0)  # per million input tokens
    price_out: float | None = Field(default=None, ge=0)
    currency: str = "USD"
    monthly_budget: float | None = Field(default=None, ge=0)
    preset: str | None = None


class ProviderView(Provider):
    """A provider as listed: whether its key can be read now (the key store may be locked)."""

    key_locked: bool = False


class ProviderList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProviderView]


class SettingsUpdate(BaseModel):
    """The settings the desktop (or any client) may change while the engine runs."""

    model_config = ConfigDict(extra="forbid")

    models_dir: str | None = Field(default=None, max_length=4096)
    default_model: str | None = Field(default=None, min_length=1, max_length=256)
    default_transcription_model: str | None = Field(default=None, min_length=1, max_length=256)
    n_ctx: int | None = Field(default=None, ge=64, le=1_048_576)
    n_threads: int | None = Field(default=None, ge=0, le=1024)  # 0: llama.cpp's choice
    n_gpu_layers: int | Literal["auto", "all"] | None = None
    route_policy: RoutePolicy | None = None
    default_remote_model: str | None = Field(default=None, max_length=256)
    redact_words: list[str] | None = Field(default=None, max_length=1000)
    redact_patterns: list[str] | None = Field(default=None, max_length=200)
    moderation: bool | None = None
    memory_from_chat: bool | None = None
    audit_content: bool | None = None
    ollama_without_token: bool | None = None


class EngineSettingsView(BaseModel):
    object: Literal["settings"] = "settings"
    models_dir: str
    default_model: str
    default_transcription_model: str
    n_ctx: int
    n_threads: int
    n_gpu_layers: int | Literal["auto", "all"]
    route_policy: RoutePolicy
    default_remote_model: str | None
    redact_words: list[str]
    redact_patterns: list[str]
    moderation: bool
    memory_from_chat: bool
    audit_content: bool
    ollama_without_token: bool = False
    gpu_offload: bool
    reloaded: list[str] = Field(default_factory=list)  # models unloaded to take new load options
