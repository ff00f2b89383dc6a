"""OpenAI-shaped request and response models: the contract between the engine and its clients.

The desktop app and the CLI import this module (and nothing else from `engine`), so it holds only
pydantic models and constants: no I/O and no heavy imports.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_PORT = 8931
TOKEN_ENV = "HEARTH_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
URL_ENV = "HEARTH_URL"

Role = Literal["system", "developer", "user", "assistant"]


class _Open(BaseModel):
    """Accepts fields it does not know, as OpenAI clients send many."""

    model_config = ConfigDict(extra="allow")


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ImagePart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatMessage(_Open):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text, with text parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def has_images(self) -> bool:
        return isinstance(self.content, list) and any(
            isinstance(p, ImagePart) for p in self.content
        )


class StreamOptions(BaseModel):
    include_usage: bool = False


class JsonSchemaFormat(BaseModel):
    name: str = "response"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaFormat | None = None


class SamplingFields(_Open):
    """Fields shared by chat and text completions."""

    model: str | None = None
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    frequency_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    presence_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    # OpenAI's: token id (as a string) -> bias from -100 (never) to 100 (always).
    logit_bias: dict[str, float] | None = None
    # llama.cpp's samplers beyond OpenAI's (the same defaults as llama.cpp's).
    top_k: int = Field(default=40, ge=0)
    min_p: float = Field(default=0.05, ge=0.0, le=1.0)
    # Hearth: prompt-lookup drafting for this request (when the engine has it on).
    speculative: bool = True
    n: int = Field(default=1, ge=1, le=1)
    stream: bool = False
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > 4:
            raise ValueError("at most 4 stop sequences are allowed")
        return v

    @field_validator("logit_bias")
    @classmethod
    def _token_biases(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        for token, bias in (v or {}).items():
            if not token.isdigit():
                raise ValueError(f"logit_bias keys are token ids; '{token}' is not one")
            if not -100 <= bias <= 100:
                raise ValueError("logit_bias values must be between -100 and 100")
        return v

    def token_biases(self) -> dict[int, float]:
        return {int(k): v for k, v in (self.logit_bias or {}).items()}

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop if s]


RoutePolicy = Literal["local_only", "local_first", "remote_first", "remote_only"]


class ChatCompletionRequest(SamplingFields):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    response_format: ResponseFormat | None = None
    route: RoutePolicy | None = None  # Hearth extension: where this request may be served

    @model_validator(mode="after")
    def _one_limit(self) -> ChatCompletionRequest:
        if self.max_completion_tokens is not None:
            self.max_tokens = self.max_completion_tokens
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs set to true")
        return self

    def logprob_alternatives(self) -> int | None:
        """None when logprobs are off, else how many alternatives each token lists."""
        return (self.top_logprobs or 0) if self.logprobs else None


class CompletionRequest(SamplingFields):
    prompt: str | list[str]
    max_tokens: int | None = Field(default=16, ge=1)
    echo: bool = False

    @field_validator("prompt")
    @classmethod
    def _single_prompt(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and len(v) != 1:
            raise ValueError("exactly one prompt is supported")
        return v

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


def _absent_if_none(value: object) -> bool:
    return value is None


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0  # read from the cache (a conversation's earlier turns), not evaluated


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = Field(
        default=None, exclude_if=_absent_if_none
    )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprobOut(TopLogprob):
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprobOut] | None = None
    refusal: list[TokenLogprobOut] | None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str | None
    logprobs: ChoiceLogprobs | None = None


class ServedBy(BaseModel):
    """Hearth's account of who served a reply, why, and what it cost."""

    provider: str  # "local", "cache" or a remote provider's name
    model: str
    fallback_reason: str | None = None
    redactions: dict[str, int] = Field(default_factory=dict)
    cached: bool = False
    cost: float | None = None
    currency: str | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None
    hearth: ServedBy | None = Field(default=None, exclude_if=_absent_if_none)


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    hearth: ServedBy | None = Field(default=None, exclude_if=_absent_if_none)


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: str | None
    logprobs: None = None


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


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


OverflowPolicy = Literal["summarize", "rolling_window", "stop"]


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
    created_at: float


class Conversation(BaseModel):
    id: str
    object: Literal["conversation"] = "conversation"
    title: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    overflow_policy: OverflowPolicy = "summarize"
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
    messages: list[NewMessage] = Field(default_factory=list, max_length=10_000)


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=500)
    model: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] | None = None
    overflow_policy: OverflowPolicy | None = None


class SendMessage(SamplingFields):
    """A user turn in a stored conversation, with optional chat parameters for this reply."""

    content: str = Field(min_length=1)
    remember: bool | None = None  # save "remember that ..." requests as memories


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


class ConversationReply(ChatCompletion):
    """A reply in a stored conversation: a chat completion plus what the context held."""

    conversation_id: str
    message_id: int | None = None
    context: ContextReport


class ConversationChunk(ChatCompletionChunk):
    """A streamed chunk of such a reply; the first and last carry the Hearth fields."""

    conversation_id: str
    message_id: int | None = None
    context: ContextReport | None = None


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


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


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
    gpu_offload: bool
    reloaded: list[str] = Field(default_factory=list)  # models unloaded to take new load options
