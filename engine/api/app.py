"""create_app(settings): the FastAPI application, its guards and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import engine
from engine.api import (
    routes_audio,
    routes_chat,
    routes_conversations,
    routes_jobs,
    routes_memories,
    routes_models,
)
from engine.api.errors import install_error_handlers
from engine.api.guards import BodyLimit, HostGuard, JsonByDefault, TokenGuard
from engine.api.state import EngineState
from engine.backends.llama_backend import gpu_offload_supported
from engine.jobs.runner import JobRunner
from engine.jobs.store import JobStore
from engine.memory.conversations import ConversationStore
from engine.memory.database import Database
from engine.memory.memories import MemoryStore
from engine.registry.catalog import load_catalog
from engine.registry.model_registry import ModelLoader, ModelRegistry
from engine.registry.speech_models import SpeechModels
from engine.services.conversations import ConversationService
from engine.services.generation import GenerationService
from engine.services.transcription import TranscriptionService
from engine.settings import LOOPBACK_HOSTS, EngineSettings

UPLOAD_PREFIXES = ("/v1/audio/", "/v1/jobs")


def allowed_hosts(settings: EngineSettings) -> set[str]:
    hosts = set(LOOPBACK_HOSTS) | {h.lower() for h in settings.allowed_hosts}
    if not settings.is_loopback_bind() and settings.host not in ("0.0.0.0", "::"):  # noqa: S104
        hosts.add(settings.host.lower())
    return hosts


def create_app(settings: EngineSettings, token: str, loader: ModelLoader | None = None) -> FastAPI:
    """Build the engine's app. State is made in the lifespan, not at import."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A few workers: one per model generating, plus loads and header reads.
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hearth-infer")
        catalog = load_catalog(settings.catalog_path)
        registry = (
            ModelRegistry(settings, catalog, executor, loader)
            if loader
            else ModelRegistry(settings, catalog, executor)
        )
        dirs = settings.dirs
        database = Database(dirs.database)
        speech_models = SpeechModels(settings, catalog)
        transcription = TranscriptionService(settings, speech_models, executor)
        jobs = JobRunner(JobStore(database), transcription, dirs.jobs)
        generation = GenerationService(registry, executor)
        conversations = ConversationStore(database)
        memories = MemoryStore(database)
        conversation_service = ConversationService(
            settings, conversations, memories, generation, executor
        )
        app.state.engine = EngineState(
            settings=settings,
            registry=registry,
            generation=generation,
            conversations=conversations,
            memories=memories,
            conversation_service=conversation_service,
            speech_models=speech_models,
            transcription=transcription,
            jobs=jobs,
            gpu_offload=gpu_offload_supported(),
        )
        await jobs.start()
        unloader = asyncio.create_task(registry.run_idle_unloader())
        try:
            yield
        finally:
            unloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await unloader
            await jobs.stop()
            await conversation_service.wait_for_background()
            executor.shutdown(wait=True, cancel_futures=True)
            registry.close()
            database.close()

    app = FastAPI(
        title="Hearth engine",
        version=engine.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(routes_models.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_audio.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_conversations.router)
    app.include_router(routes_memories.router)
    # Starlette wraps in reverse order: the Host check runs first, then CORS, the token, the cap.
    app.add_middleware(JsonByDefault)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        upload_prefixes=UPLOAD_PREFIXES,
    )
    app.add_middleware(TokenGuard, token=token)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(HostGuard, allowed=allowed_hosts(settings))
    return app
