"""Providers, usage and metrics: /v1/providers, /v1/usage, /metrics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from engine.api.state import EngineState, State, blocking
from engine.remote.presets import PRESETS
from engine.remote.providers import from_preset
from engine.schemas import Provider, ProviderList, ProviderView
from engine.usage.metrics import Metrics

router = APIRouter()


class ProviderCreate(BaseModel):
    """Like Provider, but a preset may supply the base URL and models."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    preset: str | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    models: list[str] | None = None
    key_name: str | None = None
    price_in: float | None = Field(default=None, ge=0)
    price_out: float | None = Field(default=None, ge=0)
    currency: str | None = None
    monthly_budget: float | None = Field(default=None, ge=0)


@router.get("/v1/providers")
async def list_providers(state: State) -> ProviderList:
    providers, key_state = await blocking(lambda: (state.providers.all(), state.keystore.state))
    locked = key_state != "unlocked"
    views = [
        ProviderView(**p.model_dump(), key_locked=locked and p.key_name is not None)
        for p in providers
    ]
    return ProviderList(data=views)


@router.get("/v1/providers/presets")
async def presets() -> dict[str, Any]:
    return {"object": "list", "data": [{"name": n, **p} for n, p in sorted(PRESETS.items())]}


@router.post("/v1/providers", status_code=201)
async def add_provider(body: ProviderCreate, state: State) -> Provider:
    given = body.model_dump(exclude_none=True)
    provider = from_preset(Provider.model_construct(**given)) if body.preset else None
    merged = provider.model_dump() if provider else given
    return await blocking(state.providers.save, Provider.model_validate(merged))


@router.delete("/v1/providers/{name}")
async def remove_provider(name: str, state: State) -> dict[str, Any]:
    await blocking(state.providers.remove, name)
    return {"name": name, "object": "provider.deleted", "deleted": True}


@router.post("/v1/providers/{name}/test")
async def test_provider(name: str, state: State) -> dict[str, Any]:
    provider = await blocking(state.providers.get, name)
    key = await blocking(state.keystore.get, provider.key_name) if provider.key_name else None
    models = await state.remote.models(provider, key)
    return {"name": name, "ok": True, "models": models}


@router.get("/v1/usage")
async def usage(
    state: State,
    since: float | None = None,
    until: float | None = None,
    group_by: Literal["day", "model", "provider", "endpoint", "day,provider", "day,model"]
    | None = None,
) -> dict[str, Any]:
    rows = await blocking(state.usage.totals, since, until, group_by)
    return {"object": "list", "group_by": group_by, "data": rows}


def _refresh(state: EngineState) -> Any:
    def refresh(metrics: Metrics) -> None:
        metrics.loaded_models.set(len(state.pool.loaded()) + len(state.speech_models.loaded_ids()))
        for model_id, loaded in state.pool.loaded().items():
            stats = loaded.scheduler.stats()
            metrics.queue_depth.labels(model_id).set(stats.slots_busy + stats.waiting)
            for what in ("slots", "slots_busy", "waiting", "last_batch", "tokens_per_second"):
                metrics.serving.labels(model_id, what).set(getattr(stats, what))

    return refresh


@router.get("/metrics")
async def metrics(state: State) -> Response:
    body = state.metrics.render(_refresh(state))
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
