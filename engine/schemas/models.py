"""Models: the list, details, the catalog, custom models, and the engine's health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelCard(BaseModel):
    """An entry of /v1/models, with Hearth's extra fields next to OpenAI's."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "hearth"
    kind: str = "chat"
    loaded: bool = False
    embedded: bool = False
    size_bytes: int | None = None
    context_length: int | None = None
    capabilities: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


class ModelDetail(ModelCard):
    """/v1/models/{id}: the card plus what the GGUF header says."""

    architecture: str | None = None
    parameter_count: int | None = None
    quantization: str | None = None
    layer_count: int | None = None
    has_chat_template: bool | None = None
    problem: str | None = None


class CatalogEntry(BaseModel):
    """A model Hearth knows how to get (GET /v1/catalog)."""

    id: str
    object: Literal["catalog.model"] = "catalog.model"
    name: str
    kind: str
    license: str
    embedded: bool
    quantization: str | None
    context_length: int | None
    parameters: str | None
    size_bytes: int | None
    verified: bool  # every file has a known sha256
    installed: bool
    # Chat models: the memory it needs to run at a usual context, whether this machine has it
    # free (RAM, or the GPU's), and the largest that fits is the one recommended.
    memory_bytes: int | None = None
    fits: bool | None = None
    recommended: bool = False


class LoraAdapter(BaseModel):
    path: str  # a file name in the models folder, or an absolute path
    scale: float = Field(default=1.0, ge=-10, le=10)


class CustomModel(BaseModel):
    """A named variant of a base model: its own id, prompt, defaults and LoRA adapters."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    base: str
    system_prompt: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    chat_template: str | None = None
    loras: list[LoraAdapter] = Field(default_factory=list)


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ServingState(BaseModel):
    slots: int
    slots_busy: int
    waiting: int
    last_batch: int
    tokens_per_second: float
    kv_tokens: int
    n_ctx: int
    threads: int
    state_cache_bytes: int
    state_cache_used_bytes: int
    drafted_tokens: int
    drafted_accepted: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    loaded_models: list[str]
    default_model: str | None
    gpu_offload: bool
    notices: dict[str, str] = Field(default_factory=dict)
    vision_models: list[str] = Field(default_factory=list)
    # The offline promise, now: no remote provider configured means nothing leaves the device.
    fully_local: bool = True
    remote_hosts: list[str] = Field(default_factory=list)
    # The key store: unlocked, locked, new (no passphrase chosen yet) or unavailable.
    keystore: str = "unlocked"
    # Per loaded model: its serving plan (slots, KV cache, threads, RAM cache) and live state.
    serving: dict[str, ServingState] = Field(default_factory=dict)
