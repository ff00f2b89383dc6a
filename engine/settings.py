"""The engine's settings: one pydantic-settings model, environment prefix `HEARTH_`.

Every path comes from platformdirs, or from under `HEARTH_HOME` when that is set (tests and
portable installs use it). Settings may also be kept in `<config>/engine.toml`.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "hearth"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ModelOptions(BaseModel):
    """Per-model load options; any field left unset takes the engine-wide default."""

    n_ctx: int | None = Field(default=None, ge=64)
    n_threads: int | None = Field(default=None, ge=1)
    n_gpu_layers: int | Literal["auto", "all"] | None = None
    chat_template: str | None = None
    draft_model: str | None = None  # a small model of the same family that drafts for this one


class Dirs(BaseModel):
    """Where the engine keeps its files."""

    data: Path
    config: Path
    cache: Path
    runtime: Path
    models_override: Path | None = None  # the `models_dir` setting

    @property
    def models(self) -> Path:
        return self.models_override or self.data / "models"

    @property
    def keystore_file(self) -> Path:
        return self.config / "secrets.enc"

    @property
    def token_file(self) -> Path:
        return self.config / "api-token"

    @property
    def database(self) -> Path:
        return self.data / "hearth.sqlite3"

    @property
    def jobs(self) -> Path:
        return self.data / "jobs"

    @property
    def custom_models(self) -> Path:
        return self.data / "custom-models"

    @property
    def files(self) -> Path:
        return self.data / "files"

    @property
    def uploads(self) -> Path:
        return self.cache / "uploads"

    @property
    def connection_file(self) -> Path:
        return self.runtime / "engine.json"


def resolve_dirs(home: Path | None) -> Dirs:
    """Folders under `home` when given, else the platform's usual places."""
    if home is not None:
        return Dirs(
            data=home / "data",
            config=home / "config",
            cache=home / "cache",
            runtime=home / "run",
        )
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs falls back to a private /tmp folder and warns.
        warnings.simplefilter("ignore")
        runtime = Path(platformdirs.user_runtime_dir(APP_NAME))
    return Dirs(
        data=Path(platformdirs.user_data_dir(APP_NAME)),
        config=Path(platformdirs.user_config_dir(APP_NAME)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME)),
        runtime=runtime,
    )


def default_embedded_dir() -> Path:
    """Models installed with Hearth itself (the set-up puts them under the environment)."""
    return Path(sys.prefix) / "share" / APP_NAME / "models"


def default_catalog_path() -> Path:
    return Path(__file__).resolve().parent.parent / "models" / "catalog.toml"


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")

    home: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8931, ge=0, le=65535)
    allow_remote_bind: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)

    catalog_path: Path = Field(default_factory=default_catalog_path)
    embedded_models_dir: Path = Field(default_factory=default_embedded_dir)
    models_dir: Path | None = None  # where downloaded and imported models go (default: data)
    default_model: str = "smollm2-135m-instruct"
    default_embedding_model: str = "multilingual-e5-small"
    # Threads for embedding work, which runs beside chat (None: half the physical cores).
    embedding_threads: int | None = Field(default=None, ge=1)
    model_aliases: dict[str, str] = Field(default_factory=dict)
    model_options: dict[str, ModelOptions] = Field(default_factory=dict)
    n_ctx: int = Field(default=4096, ge=64)
    n_threads: int | None = Field(default=None, ge=1)  # None: the physical cores
    n_gpu_layers: int | Literal["auto", "all"] = "auto"
    idle_unload_seconds: float = Field(default=600.0, ge=0)
    # Serving: requests decoded together per model (slots), the shared KV cache, how many
    # tokens one decode step takes, and how long a step that reads a prompt may take while
    # other replies stream (their longest pause). None: sized from the machine's free memory
    # (GET /health shows it).
    parallel: int | None = Field(default=None, ge=1, le=64)
    # One KV pool shared by the slots (a request may then use what the others leave free), or
    # a stream per slot, a full context each (the default: a reply then never depends on what
    # else is running; measured, with a shared pool greedy replies decoded beside others
    # differed from the same prompt alone, as llama.cpp's arithmetic sees the others' cells).
    kv_unified: bool = False
    kv_tokens: int | None = Field(default=None, ge=256)  # the shared pool's size
    batch_tokens: int = Field(default=512, ge=32, le=8192)
    flash_attn: Literal["auto", "on", "off"] = "auto"
    # A step reading a prompt while replies stream aims at this; steps vary, and 170 kept
    # their longest gap under 250 ms on a 2-core CPU (200 gave 255 ms, 160 gave 202 ms).
    step_ms: int = Field(default=170, ge=10, le=10_000)
    speculative: bool = True  # prompt-lookup drafts, verified in the same batched decode
    # Evicted sequences' states kept in RAM for when a conversation comes back; 0 turns it off.
    prompt_cache_bytes: int | None = Field(default=None, ge=0)
    max_queue: int = Field(default=16, ge=1)  # requests running or waiting per model
    retry_after_seconds: int = Field(default=2, ge=1)
    log_level: str = "info"
    access_log: bool = False  # one line per request (method, path, status); never headers

    # Secrets: the OS keyring when it works ("auto"), or only it, or only the encrypted file.
    keystore: Literal["auto", "keyring", "file"] = "auto"
    keystore_timeout_seconds: float = Field(default=5.0, gt=0)
    keystore_passphrase: SecretStr | None = None  # HEARTH_KEYSTORE_PASSPHRASE
    # Unlocked without "remember", the encrypted file locks itself again after this idle time.
    keystore_unlock_seconds: float = Field(default=300.0, gt=0)

    # Privacy: moderation lists, what redaction hides besides the built-in kinds, the audit log.
    moderation: bool = True  # the switch; the lists below stay loaded either way
    moderation_lists: list[Path] | None = None  # None: the samples under resources/moderation
    redact_words: list[str] = Field(default_factory=list)
    redact_patterns: list[str] = Field(default_factory=list)
    audit_retention_days: float = Field(default=30, gt=0)
    audit_content: bool = False  # keep message text in the audit log

    # Conversations and memory
    reply_tokens: int = Field(default=512, ge=16)  # room kept for a reply without max_tokens
    memory_token_budget: int = Field(default=256, ge=0)
    memories_per_reply: int = Field(default=5, ge=0)
    # Recall by meaning: a memory whose centred embedding is at least this similar (cosine) to
    # the message's counts as related (see engine/services/memory_recall.py for the scale).
    memory_min_similarity: float = Field(default=0.18, ge=-1, le=1)
    # Passages from a conversation's attached collections, searched for each turn.
    passages_per_reply: int = Field(default=4, ge=1, le=20)
    # Watched folders of collections: how often they are scanned for changes, and how many
    # files one folder may bring.
    folder_scan_seconds: float = Field(default=10.0, gt=0)
    folder_max_files: int = Field(default=20000, ge=1)
    # Vector search in memory for the stores that fit (exact, like sqlite-vec's scan, faster);
    # 0 leaves every search to sqlite-vec.
    vector_cache_bytes: int = Field(default=256 << 20, ge=0)
    # Fine-tuning: the memory a training job may use (None: what the system has free).
    fine_tuning_memory_bytes: int | None = Field(default=None, ge=0)
    memory_from_chat: bool = True  # "remember that ..." in a conversation saves a memory

    # Ollama's clients send no token: with this on, loopback clients use /api/* without one
    # (the Host and Origin checks still apply). Off by default.
    ollama_without_token: bool = False

    # Tools in stored conversations
    mcp_servers: list[dict[str, Any]] = Field(default_factory=list)  # [[mcp_servers]] tables
    tool_result_max_chars: int = Field(default=8000, ge=100)  # a result is cut to this
    tool_approval_timeout: float = Field(default=600.0, gt=0)  # an unanswered call is denied

    # Remote providers and accounting
    route_policy: Literal["local_only", "local_first", "remote_first", "remote_only"] = "local_only"
    default_remote_model: str | None = None  # "provider/model" for fallbacks
    remote_connect_timeout: float = Field(default=5.0, gt=0)
    remote_read_timeout: float = Field(default=60.0, gt=0)
    remote_attempts: int = Field(default=4, ge=1, le=10)
    remote_backoff_seconds: float = Field(default=0.5, ge=0)
    cache_entries: int = Field(default=1000, ge=0)  # 0 turns the response cache off
    cache_max_age_seconds: float = Field(default=24 * 3600, gt=0)
    cache_local: bool = False  # remote answers are cached by default; local ones on request

    # Downloads
    hf_endpoint: str | None = None  # a Hugging Face mirror, as HF_ENDPOINT does
    download_read_timeout: float = Field(default=60.0, gt=0)

    # Images
    max_image_pixels: int = Field(default=50_000_000, ge=1)  # decompression-bomb cap
    allow_remote_images: bool = False  # fetch http(s) image URLs (public addresses only)
    remote_image_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    remote_image_time_limit: float = Field(default=10.0, gt=0)

    # Speech to text
    default_transcription_model: str = "whisper-tiny.en"
    whisper_device: Literal["auto", "cpu", "cuda"] = "auto"
    whisper_compute_type: str = "default"  # int8 on CPU, float16 on CUDA
    whisper_threads: int = Field(default=0, ge=0)  # 0: CTranslate2's choice
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_audio_seconds: float = Field(default=4 * 3600, gt=0)
    decode_time_limit_seconds: float = Field(default=300, gt=0)
    vad_auto_seconds: float = Field(default=120, ge=0)  # VAD on by default above this length

    @field_validator("home", mode="before")
    @classmethod
    def _empty_home_is_none(cls, v: object) -> object:
        return None if v == "" else v

    @property
    def dirs(self) -> Dirs:
        dirs = resolve_dirs(self.home)
        dirs.models_override = self.models_dir
        return dirs

    def is_loopback_bind(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def options_for(self, model_id: str) -> ModelOptions:
        """Per-model options merged over the engine-wide defaults."""
        own = self.model_options.get(model_id, ModelOptions())
        return ModelOptions(
            n_ctx=own.n_ctx or self.n_ctx,
            n_threads=own.n_threads or self.n_threads,
            n_gpu_layers=own.n_gpu_layers if own.n_gpu_layers is not None else self.n_gpu_layers,
            chat_template=own.chat_template,
            draft_model=own.draft_model,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # engine.toml sits in the config folder, which itself depends on HEARTH_HOME.
        home = env_settings().get("home") or init_settings().get("home")
        toml_file = resolve_dirs(Path(home) if home else None).config / "engine.toml"
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )
