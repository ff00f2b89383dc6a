"""GET /health, /v1/models and /v1/models/{id}."""

from __future__ import annotations

from fastapi import APIRouter

import engine
from engine.api.state import EngineState, State
from engine.errors import HearthError
from engine.registry.model_registry import ModelEntry
from engine.schemas import Health, ModelCard, ModelDetail, ModelList

router = APIRouter()


def _card(state: EngineState, entry: ModelEntry) -> ModelCard:
    card = entry.catalog
    return ModelCard(
        id=entry.id,
        created=entry.created,
        kind=entry.kind,
        loaded=entry.id in state.registry.loaded(),
        embedded=entry.embedded,
        size_bytes=entry.size_bytes,
        context_length=card.context_length if card else None,
        capabilities=["chat", "completion"] if entry.kind == "chat" else [entry.kind],
        aliases=state.registry.aliases_of(entry.id),
    )


@router.get("/health")
async def health(state: State) -> Health:
    registry = state.registry
    default = registry.entries().get(state.settings.default_model)
    return Health(
        version=engine.__version__,
        loaded_models=sorted(registry.loaded()),
        default_model=default.id if default else None,
        gpu_offload=state.gpu_offload,
    )


@router.get("/v1/models")
async def list_models(state: State) -> ModelList:
    return ModelList(data=[_card(state, e) for e in state.registry.entries().values()])


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, state: State) -> ModelDetail:
    entry = state.registry.resolve(model_id)
    detail = ModelDetail(**_card(state, entry).model_dump())
    try:
        info = state.registry.inspect(entry)
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
