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
    routes_anthropic,
    routes_audio,
    routes_batches,
    routes_chat,
    routes_conversations,
    routes_embeddings,
    routes_fine_tuning,
    routes_images,
    routes_jobs,
    routes_knowledge_folders,
    routes_live_audio,
    routes_memories,
    routes_model_files,
    routes_models,
    routes_ollama,
    routes_privacy,
    routes_remote,
    routes_responses,
    routes_settings,
    routes_tools,
    routes_vector_stores,
)
from engine.api.errors import install_error_handlers
from engine.api.guards import BodyLimit, HostGuard, JsonByDefault, OriginGuard, TokenGuard
from engine.api.observe import RequestObserver
from engine.api.state import EngineState
from engine.backends.llama_backend import gpu_offload_supported
from engine.backends.ocr_backend import OcrEngine
from engine.jobs.batch_job import batch_kind
from engine.jobs.files import FileStore
from engine.jobs.image_job import image_kind
from engine.jobs.runner import JobRunner
from engine.jobs.store import JobStore
from engine.jobs.transcription_job import transcription_kind
from engine.knowledge.folders import FolderStore
from engine.knowledge.store import KnowledgeStore
from engine.memory.conversations import ConversationStore
from engine.memory.database import Database
from engine.memory.fine_tuning import FineTuningStore
from engine.memory.memories import MemoryStore
from engine.memory.responses import ResponseStore
from engine.registry.catalog import load_catalog
from engine.registry.downloads import Downloader
from engine.registry.model_registry import ModelRegistry
from engine.registry.speech_models import SpeechModels
from engine.remote.client import RemoteClient, RetryPolicy
from engine.remote.providers import ProviderStore
from engine.remote.router import ChatRouter, RoutedReply
from engine.security.api_token import ApiToken
from engine.security.audit import AuditSink, AuditStore
from engine.security.key_vault import KeyVault
from engine.security.moderation import Moderator, default_list_paths, load_lists
from engine.security.redaction import Redactor
from engine.services.conversations import ConversationService
from engine.services.embeddings import EmbeddingService
from engine.services.fine_tuning import FineTuningService
from engine.services.generation import GenerationService
from engine.services.image_parts import RemoteImages
from engine.services.images import ImageService
from engine.services.knowledge import KnowledgeService
from engine.services.memory_recall import MemoryRecall
from engine.services.model_manager import ModelManager
from engine.services.responses import ResponsesService
from engine.services.settings_service import SettingsService
from engine.services.tool_runner import ToolRunner
from engine.services.transcription import TranscriptionService
from engine.serving.model_pool import ModelLoader, ModelPool
from engine.serving.sizing import physical_cores
from engine.settings import LOOPBACK_HOSTS, EngineSettings
from engine.tools.mcp_hub import McpHub, McpServerStore, configured_servers
from engine.usage.metrics import Metrics
from engine.usage.response_cache import ResponseCache
from engine.usage.store import UsageStore

UPLOAD_PREFIXES = ("/v1/audio/", "/v1/jobs", "/v1/files", "/v1/images/")


def _observe(metrics: Metrics, routed: RoutedReply) -> None:
    usage = routed.usage()
    provider = routed.served.provider
    metrics.tokens.labels(provider, "prompt").inc(usage.prompt_tokens)
    metrics.tokens.labels(provider, "completion").inc(usage.completion_tokens)
    if routed.first_token is not None:
        metrics.first_token.labels(provider).observe(routed.first_token - routed.started)


async def _purge_audit_daily(audit: AuditStore, keep_days: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await loop.run_in_executor(None, audit.purge, keep_days)
        await asyncio.sleep(86400)


def allowed_hosts(settings: EngineSettings) -> set[str]:
    hosts = set(LOOPBACK_HOSTS) | {h.lower() for h in settings.allowed_hosts}
    if not settings.is_loopback_bind() and settings.host not in ("0.0.0.0", "::"):  # noqa: S104
        hosts.add(settings.host.lower())
    return hosts


def create_app(
    settings: EngineSettings, token: str, keystore: KeyVault, loader: ModelLoader | None = None
) -> FastAPI:
    """Build the engine's app. State is made in the lifespan, not at import."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A few workers: one per model generating, plus loads and header reads.
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hearth-work")
        catalog = load_catalog(settings.catalog_path)
        registry = ModelRegistry(settings, catalog)
        pool = ModelPool(settings, registry, loader) if loader else ModelPool(settings, registry)
        dirs = settings.dirs
        database = Database(dirs.database)
        speech_models = SpeechModels(settings, catalog)
        transcription = TranscriptionService(settings, speech_models, executor)
        kinds = {"transcription": transcription_kind(transcription)}
        jobs = JobRunner(JobStore(database), dirs.jobs, kinds)
        files = FileStore(database, dirs.files)
        lists = settings.moderation_lists
        moderator = Moderator(load_lists(default_list_paths() if lists is None else lists))
        remote_images = RemoteImages(
            settings.allow_remote_images,
            settings.remote_image_max_bytes,
            settings.remote_image_time_limit,
        )
        generation = GenerationService(
            registry, pool, moderator, settings.max_image_pixels, remote_images,
            chat_template=lambda model_id: settings.options_for(model_id).chat_template,
        )  # fmt: skip
        generation.speculative = settings.speculative
        audit = AuditStore(database)
        audit_sink.store = audit
        redactor = Redactor(settings.redact_words, settings.redact_patterns)
        providers = ProviderStore(database)
        usage = UsageStore(database)
        retry = RetryPolicy(
            attempts=settings.remote_attempts, base_delay=settings.remote_backoff_seconds
        )
        remote = RemoteClient(settings.remote_connect_timeout, settings.remote_read_timeout, retry)
        router = ChatRouter(
            settings, generation, providers, keystore, redactor, remote, usage,
            ResponseCache(settings.cache_entries, settings.cache_max_age_seconds),
        )  # fmt: skip
        router.on_recorded = lambda routed: _observe(metrics, routed)
        kinds["batch"] = batch_kind(router, files)
        images = ImageService(settings, OcrEngine(), executor, generation, registry)
        kinds["image"] = image_kind(images)
        downloader = Downloader(settings.hf_endpoint, settings.download_read_timeout)
        models = ModelManager(settings, catalog, registry, speech_models, downloader, executor)
        conversations = ConversationStore(database)
        memories = MemoryStore(database)
        hub = McpHub(
            McpServerStore(database), configured_servers(settings.mcp_servers), keystore.get,
            dirs.data / "logs",
        )  # fmt: skip
        tools = ToolRunner(
            hub, memories, database, executor, settings.tool_result_max_chars,
            settings.tool_approval_timeout,
        )  # fmt: skip
        embeddings = EmbeddingService(settings, registry, usage)
        knowledge_store = KnowledgeStore(database, settings.vector_cache_bytes)
        memory_recall = MemoryRecall(memories, embeddings, executor, settings.memory_min_similarity)
        knowledge = KnowledgeService(
            knowledge_store, files, embeddings, transcription, images, FolderStore(database),
            executor, settings.folder_scan_seconds, settings.folder_max_files,
        )  # fmt: skip
        conversation_service = ConversationService(
            settings,
            conversations,
            memories,
            generation,
            executor,
            tools,
            knowledge,
            memory_recall,
        )
        responses = ResponsesService(router, ResponseStore(database), executor, knowledge)
        fine_tuning_store = FineTuningStore(database)
        fine_tuning = FineTuningService(
            fine_tuning_store, files, conversations, generation, registry, dirs.cache / "training",
            dirs.models, executor, settings.n_threads or physical_cores(),
            settings.fine_tuning_memory_bytes,
        )  # fmt: skip
        app.state.engine = EngineState(
            settings=settings,
            registry=registry,
            pool=pool,
            generation=generation,
            conversations=conversations,
            memories=memories,
            memory_recall=memory_recall,
            conversation_service=conversation_service,
            keystore=keystore,
            redactor=redactor,
            audit=audit,
            providers=providers,
            remote=remote,
            router=router,
            usage=usage,
            metrics=metrics,
            files=files,
            models=models,
            images=images,
            speech_models=speech_models,
            transcription=transcription,
            jobs=jobs,
            gpu_offload=gpu_offload_supported(),
            api_token=api_token,
            settings_service=SettingsService(
                settings, redactor, generation, pool, gpu_offload_supported()
            ),
            tools=tools,
            responses=responses,
            embeddings=embeddings,
            knowledge=knowledge,
            knowledge_store=knowledge_store,
            fine_tuning=fine_tuning,
            fine_tuning_store=fine_tuning_store,
        )
        await jobs.start()
        await responses.open()
        await knowledge.open()
        await fine_tuning.open()
        background = [
            asyncio.create_task(pool.run_idle_unloader()),
            asyncio.create_task(_purge_audit_daily(audit, settings.audit_retention_days)),
        ]
        try:
            yield
        finally:
            audit_sink.store = None
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await responses.close()
            await knowledge.close()
            await fine_tuning.close()
            await jobs.stop()
            await conversation_service.wait_for_background()
            await hub.close()
            executor.shutdown(wait=True, cancel_futures=True)
            embeddings.close()
            pool.close()
            database.close()

    api_token = ApiToken(token, settings.dirs.token_file)
    audit_sink = AuditSink()
    metrics = Metrics()
    app = FastAPI(
        title="Hearth engine",
        version=engine.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # Model-file routes go before /v1/models/{id:path}, which would otherwise take their paths.
    routers = (
        routes_model_files.router, routes_model_files.custom_router, routes_models.router,
        routes_chat.router, routes_audio.router, routes_jobs.router, routes_conversations.router,
        routes_memories.router, routes_privacy.router, routes_remote.router,
        routes_batches.router, routes_images.router, routes_settings.router, routes_tools.router,
        routes_anthropic.router, routes_ollama.router, routes_responses.router,
        routes_embeddings.router, routes_vector_stores.router, routes_knowledge_folders.router,
        routes_fine_tuning.router, routes_live_audio.router,
    )  # fmt: skip
    for router_ in routers:
        app.include_router(router_)
    # Starlette wraps in reverse order: the Host check runs first, then CORS, the token, the cap.
    app.add_middleware(JsonByDefault)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        upload_prefixes=UPLOAD_PREFIXES,
    )
    app.add_middleware(
        TokenGuard, token=api_token, ollama_open=lambda: settings.ollama_without_token
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(OriginGuard, allowed=set(settings.cors_origins))
    app.add_middleware(HostGuard, allowed=allowed_hosts(settings))
    app.add_middleware(RequestObserver, observers=[audit_sink.observe, metrics.observe])
    return app
