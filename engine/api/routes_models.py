"""GET /health, /v1/models and /v1/models/{id}."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter

import engine
from engine.api.state import EngineState, State, blocking
from engine.errors import HearthError
from engine.registry.model_registry import ModelEntry
from engine.registry.speech_models import OPENAI_DEFAULT_NAME, SpeechModelEntry
from engine.schemas import Health, ModelCard, ModelDetail, ModelList, ServingState
from engine.serving.model_pool import LoadedModel

router = APIRouter()


def _card(state: EngineState, entry: ModelEntry) -> ModelCard:
    card = entry.catalog
    return ModelCard(
        id=entry.id,
        created=entry.created,
        kind=entry.kind,
        loaded=entry.id in state.pool.loaded(),
        embedded=entry.embedded,
        size_bytes=entry.size_bytes,
        context_length=card.context_length if card else None,
        capabilities=(["chat", "completion"] if entry.kind == "chat" else [entry.kind])
        + (["vision"] if entry.projector else [])
        + (["custom"] if entry.custom else []),
        aliases=state.registry.aliases_of(entry.id),
    )


def _speech_card(state: EngineState, entry: SpeechModelEntry) -> ModelCard:
    aliases = state.registry.aliases_of(entry.id)
    if entry.id == state.settings.default_transcription_model:
        aliases = sorted([*aliases, OPENAI_DEFAULT_NAME])
    return ModelCard(
        id=entry.id,
        created=entry.created,
        kind="transcription",
        loaded=entry.id in state.speech_models.loaded_ids(),
        embedded=entry.embedded,
        size_bytes=entry.size_bytes,
        capabilities=["transcription", "translation"],
        languages=entry.catalog.languages if entry.catalog else [],
        aliases=aliases,
    )


@router.get("/health")
async def health(state: State) -> Health:
    registry = state.registry
    providers = await blocking(state.providers.all)
    hosts = sorted({urlparse(p.base_url).hostname or "" for p in providers} - {""})
    entries = await blocking(registry.entries)  # one scan of the models folders, off the loop
    default = entries.get(state.settings.default_model)
    return Health(
        version=engine.__version__,
        loaded_models=sorted([*state.pool.loaded(), *state.speech_models.loaded_ids()]),
        default_model=default.id if default else None,
        gpu_offload=state.gpu_offload,
        notices=dict(state.pool.notices),
        vision_models=sorted(e.id for e in entries.values() if e.projector),
        fully_local=not providers,
        remote_hosts=hosts,
        keystore=await blocking(lambda: state.keystore.state),
        serving={model_id: _serving(m) for model_id, m in state.pool.loaded().items()},
    )


def _serving(loaded: LoadedModel) -> ServingState:
    stats, plan = loaded.scheduler.stats(), loaded.plan
    return ServingState(
        slots=stats.slots,
        slots_busy=stats.slots_busy,
        waiting=stats.waiting,
        last_batch=stats.last_batch,
        tokens_per_second=stats.tokens_per_second,
        kv_tokens=plan.kv_tokens,
        n_ctx=plan.n_ctx,
        threads=plan.threads,
        state_cache_bytes=plan.state_cache_bytes,
        state_cache_used_bytes=stats.state_cache_bytes,
        drafted_tokens=stats.drafted,
        drafted_accepted=stats.drafts_accepted,
    )


@router.get("/v1/models")
async def list_models(state: State) -> ModelList:
    # Folder scans and header reads run off the event loop, as all file work does.
    chat = [_card(state, e) for e in (await blocking(state.registry.entries)).values()]
    speech_entries = await blocking(state.speech_models.entries)
    speech = [_speech_card(state, e) for e in speech_entries.values()]
    providers = await blocking(state.providers.all)
    remote = [
        ModelCard(id=f"{p.name}/{m}", created=0, owned_by=p.name, capabilities=["chat", "remote"])
        for p in providers
        for m in p.models
    ]
    return ModelList(data=chat + speech + remote)


@router.get("/v1/catalog")
async def catalog(state: State) -> dict[str, Any]:
    return {"object": "list", "data": await blocking(state.models.catalog_entries)}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, state: State) -> ModelDetail:
    speech = (await blocking(state.speech_models.entries)).get(model_id)
    if speech is not None:
        return ModelDetail(**_speech_card(state, speech).model_dump())
    entry = await blocking(state.registry.resolve, model_id)
    detail = ModelDetail(**_card(state, entry).model_dump())
    try:
        info = await blocking(state.pool.inspect, entry)
    except HearthError as exc:
        detail.problem = exc.message
        return detail
    detail.architecture = info.architecture
    detail.parameter_count = info.parameter_count
    detail.quantization = info.quantization
    detail.context_length = info.context_length
    detail.layer_count = info.layer_count
    detail.has_chat_template = info.chat_template is not None
    return detail
