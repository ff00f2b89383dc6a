"""What the routes reach through `request.app.state`: built once in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from engine.jobs.files import FileStore
from engine.jobs.runner import JobRunner
from engine.knowledge.store import KnowledgeStore
from engine.memory.conversations import ConversationStore
from engine.memory.fine_tuning import FineTuningStore
from engine.memory.memories import MemoryStore
from engine.registry.model_registry import ModelRegistry
from engine.registry.speech_models import SpeechModels
from engine.remote.client import RemoteClient
from engine.remote.providers import ProviderStore
from engine.remote.router import ChatRouter
from engine.security.api_token import ApiToken
from engine.security.audit import AuditStore
from engine.security.key_vault import KeyVault
from engine.security.redaction import Redactor
from engine.services.conversations import ConversationService
from engine.services.embeddings import EmbeddingService
from engine.services.fine_tuning import FineTuningService
from engine.services.generation import GenerationService
from engine.services.images import ImageService
from engine.services.knowledge import KnowledgeService
from engine.services.memory_recall import MemoryRecall
from engine.services.model_manager import ModelManager
from engine.services.responses import ResponsesService
from engine.services.settings_service import SettingsService
from engine.services.tool_runner import ToolRunner
from engine.services.transcription import TranscriptionService
from engine.serving.model_pool import ModelPool
from engine.settings import EngineSettings
from engine.usage.metrics import Metrics
from engine.usage.store import UsageStore

T = TypeVar("T")


@dataclass
class EngineState:
    settings: EngineSettings
    registry: ModelRegistry
    pool: ModelPool
    generation: GenerationService
    speech_models: SpeechModels
    transcription: TranscriptionService
    jobs: JobRunner
    conversations: ConversationStore
    memories: MemoryStore
    memory_recall: MemoryRecall
    conversation_service: ConversationService
    keystore: KeyVault
    redactor: Redactor
    audit: AuditStore
    providers: ProviderStore
    remote: RemoteClient
    router: ChatRouter
    usage: UsageStore
    metrics: Metrics
    files: FileStore
    models: ModelManager
    images: ImageService
    gpu_offload: bool
    api_token: ApiToken
    settings_service: SettingsService
    tools: ToolRunner
    responses: ResponsesService
    embeddings: EmbeddingService
    knowledge: KnowledgeService
    knowledge_store: KnowledgeStore
    fine_tuning: FineTuningService
    fine_tuning_store: FineTuningStore


async def engine_state(request: Request) -> EngineState:
    # async: FastAPI runs a plain function dependency on a worker thread, a hop per request
    # that cost milliseconds on a CPU the model keeps busy.
    state = request.app.state.engine
    assert isinstance(state, EngineState)
    return state


State = Annotated[EngineState, Depends(engine_state)]


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call (SQLite) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
